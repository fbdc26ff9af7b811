// The hardware watchdog, owned by the manager (systemd's RuntimeWatchdogSec /
// RebootWatchdogSec semantics). It is pinged from the manager's own event loop, so a
// stuck manager — and only a stuck manager, or a critical unit failed for good — gets
// the board reset.
import { WDIOF } from "../../ffi/constants.ts";
import { WatchdogFd, type WatchdogInfo } from "../../ffi/watchdog.ts";
import type { Logger } from "../log/manager-log.ts";
import { PingStats, pingIntervalMs, requestedTimeoutSec } from "./policy.ts";

export interface WatchdogState {
  device: string;
  armed: boolean;
  identity: string | null;
  timeoutSec: number | null;
  timeLeftSec: number | null;
  pingIntervalMs: number | null;
  pings: number;
  lastPing: number | null; // ms since the epoch
  jitterMs: { p50: number; p99: number; max: number; samples: number } | null;
  lastResetByWatchdog: boolean | null; // null: the driver does not report it
  pinging: boolean; // false once health gating stopped the pings
  stoppedBecause: string | null;
}

export class HardwareWatchdog {
  private fd: WatchdogFd | null = null;
  private info: WatchdogInfo | null = null;
  private bootStatus: number | null = null;
  private timeoutSec: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly stats = new PingStats();
  private stoppedBecause: string | null = null;
  private devicePath: string;

  constructor(device: string, private readonly log: Logger) {
    this.devicePath = device;
  }

  /** Open the device (falling back from /dev/watchdog0 to /dev/watchdog), set the timeout, enable, ping. */
  arm(sec: number): boolean {
    try {
      this.open();
      this.setTimeout(sec);
      this.fd!.enable();
      this.ping();
      this.startPinging();
      const interval = pingIntervalMs(this.timeoutSec!);
      this.log.notice(`Hardware watchdog '${this.info?.identity ?? "unknown"}' armed on ${this.devicePath}: timeout ${this.timeoutSec}s, ping every ${interval / 1000}s`);
      if (this.lastResetByWatchdog()) this.log.warning("The last reset was caused by the hardware watchdog (WDIOF_CARDRESET)");
      return true;
    } catch (e) {
      this.log.err(`Hardware watchdog on ${this.devicePath} not armed: ${(e as Error).message}`);
      this.disarm();
      return false;
    }
  }

  private open() {
    if (this.fd) return;
    try {
      this.fd = WatchdogFd.open(this.devicePath);
    } catch (e) {
      if (this.devicePath !== "/dev/watchdog0") throw e;
      this.devicePath = "/dev/watchdog";
      this.fd = WatchdogFd.open(this.devicePath);
    }
    this.info = this.fd.info();
    this.bootStatus = this.fd.bootStatus();
  }

  /** WDIOC_SETTIMEOUT in whole seconds; adopt what the driver accepted, or what it has. */
  setTimeout(sec: number) {
    const fd = this.fd!;
    const want = requestedTimeoutSec(sec);
    const got = fd.setTimeout(want);
    if (got === "unsupported") {
      const has = fd.timeout();
      if (has === null) throw new Error("the driver can neither set nor report its timeout");
      this.log.warning(`Hardware watchdog: the driver cannot change its timeout; using its ${has}s`);
      this.timeoutSec = has;
    } else {
      if (got !== want) this.log.warning(`Hardware watchdog: asked for ${want}s, the driver set ${got}s`);
      this.timeoutSec = got;
    }
    if (this.timer) this.startPinging(); // a new cadence for a new timeout
  }

  private startPinging() {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.ping(), pingIntervalMs(this.timeoutSec!));
  }

  private ping() {
    if (!this.fd || this.stoppedBecause !== null) return;
    if (this.fd.keepalive()) this.stats.record(Date.now());
  }

  /** Health gating: stop pinging so the hardware resets the board. */
  stopPinging(reason: string) {
    if (this.stoppedBecause !== null || !this.fd) return;
    this.stoppedBecause = reason;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.log.err(`${reason}: hardware watchdog pings stopped, the board resets within ${this.timeoutSec}s`);
  }

  /** poweroff/halt, or 0/off: WDIOS_DISABLECARD and the magic close. */
  disarm() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd) {
      this.fd.disarmAndClose();
      this.log.info(`Hardware watchdog on ${this.devicePath} disarmed`);
    }
    this.fd = null;
  }

  /** The reboot path: arm with shutdown_sec and keep pinging while units stop. */
  armForShutdown(shutdownSec: number) {
    if (shutdownSec <= 0) return this.disarm();
    try {
      this.open();
      this.setTimeout(shutdownSec);
      this.fd!.enable();
      this.stoppedBecause = null;
      this.ping();
      this.startPinging();
      this.log.notice(`Hardware watchdog armed for the way down: ${this.timeoutSec}s`);
    } catch (e) {
      this.log.err(`Hardware watchdog for shutdown not armed: ${(e as Error).message}`);
    }
  }

  /** Just before reboot(2): close WITHOUT disarming, so a hang after this is rescued. */
  handOverToHardware() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.fd?.closeArmed();
    this.fd = null;
  }

  lastResetByWatchdog(): boolean | null {
    if (this.bootStatus === null) return null;
    return (this.bootStatus & WDIOF.CARDRESET) !== 0;
  }

  state(): WatchdogState {
    const interval = this.timeoutSec === null ? null : pingIntervalMs(this.timeoutSec);
    return {
      device: this.devicePath, armed: this.fd !== null, identity: this.info?.identity ?? null,
      timeoutSec: this.timeoutSec, timeLeftSec: this.fd?.timeLeft() ?? null, pingIntervalMs: interval,
      pings: this.stats.count, lastPing: this.stats.lastPing,
      jitterMs: interval === null ? null : this.stats.jitter(interval),
      lastResetByWatchdog: this.lastResetByWatchdog(),
      pinging: this.fd !== null && this.stoppedBecause === null, stoppedBecause: this.stoppedBecause,
    };
  }
}
