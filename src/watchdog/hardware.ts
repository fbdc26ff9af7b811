// The hardware watchdog, owned by PID 1 (systemd's RuntimeWatchdogSec, RebootWatchdogSec
// and WatchdogDevice semantics; the decisions are in policy.ts).
//
// While running, it is pinged from the manager's own event loop, on a timer at half the
// timeout: a stuck manager — and only a stuck manager, or a critical unit failed for
// good — gets the board reset. On the way down it is armed with the shutdown timeout and
// pinged only between the steps of the way down, so a step that hangs resets the board.
// Just before reboot(2) it is left armed for a reboot and disarmed for poweroff or halt.

import { E, WDIOF } from "../../ffi/constants.ts";
import type { WatchdogInfo } from "../../ffi/watchdog.ts";
import type { PowerAction } from "../engine/power.ts";
import type { Logger } from "../log/manager-log.ts";
import {
  armForTarget, closeBeforeReboot, devicesToTry, fitTimeout, nextBridgePing, nextPingAt, PingStats, pingIntervalMs,
  requestedTimeoutSec, resetByWatchdog, type HealthVerdict, type PingFigures,
} from "./policy.ts";

/** An open watchdog device (ffi/watchdog.ts's WatchdogFd; a fake in the unit tests). */
export interface WatchdogDevice {
  readonly path: string;
  info(): WatchdogInfo | null;
  bootStatus(): number | null;
  /** The timeout the driver accepted, or "unsupported" (ENOTTY/EOPNOTSUPP); throws on other errors. */
  setTimeout(seconds: number): number | "unsupported";
  timeout(): number | null;
  timeLeft(): number | null;
  enable(): void;
  keepalive(): boolean;
  readonly fd?: number; // the real device's (kept open across daemon-reexec)
  disarmAndClose(): void;
  closeArmed(): void;
}

export interface WatchdogDeps {
  /** Opens a device; throws an error with `errno` (ENOENT when there is none). */
  open(path: string): WatchdogDevice;
  log: Logger;
  /** A plain line on the console (what was armed, and why pings stop). */
  console(line: string): void;
  /** Monotonic milliseconds. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** The timeouts the driver takes (sysfs min_timeout, max_timeout), when a timeout is refused. */
  timeoutRange?(device: string): { min: number; max: number } | null;
}

/** Where the owner is in its life: not open, pinging from the loop, or armed for the way down. */
export type WatchdogPhase = "off" | "runtime" | "shutdown" | "closed";

export interface WatchdogState {
  device: string;
  phase: WatchdogPhase;
  armed: boolean;
  /** Why the runtime watchdog is not armed although asked for (rescue target, no device). */
  notArmedBecause: string | null;
  identity: string | null;
  firmwareVersion: number | null;
  /** The runtime timeout asked for (runtime_sec, the command line, or set-timeout), seconds; 0 = off. */
  requestedSec: number;
  /** The timeout the driver took (what WDIOC_SETTIMEOUT wrote back, or WDIOC_GETTIMEOUT), seconds. */
  timeoutSec: number | null;
  /** WDIOC_GETTIMEOUT asked now. */
  readBackSec: number | null;
  /** Seconds to the reset: the driver's WDIOC_GETTIMELEFT, or estimated from the last ping. */
  timeLeftSec: number | null;
  timeLeftFrom: "driver" | "last ping" | null;
  pingIntervalMs: number | null;
  pings: number;
  lastPingAt: number | null; // ms since the epoch
  lastPingAgoMs: number | null;
  figures: PingFigures | null;
  recentIntervalsMs: number[];
  /** false once health gating stopped the pings. */
  pinging: boolean;
  stoppedBecause: string | null;
  lastResetByWatchdog: boolean | null; // null: the boot status could not be read
  bootStatus: number | null;
  /** Whether the driver advertises WDIOF_CARDRESET (some report it without advertising it). */
  advertisesCardReset: boolean | null;
  shutdownSec: number;
  criticalUnits: string[];
}

const RECENT_INTERVALS = 64;

export class HardwareWatchdog {
  private fd: WatchdogDevice | null = null;
  private devicePath: string;
  private info: WatchdogInfo | null = null;
  private bootStatus: number | null = null;
  private phase: WatchdogPhase = "off";
  private requestedSec = 0;
  private timeoutSec: number | null = null;
  private timer: unknown = null;
  private plannedAt = 0;
  private readonly stats = new PingStats();
  private stoppedBecause: string | null = null;
  private notArmedBecause: string | null = null;
  private missingReported = false;
  private pingFailureReported = false;
  private health: () => HealthVerdict = () => ({ healthy: true });
  private criticalUnits: string[] = [];
  private shutdownSec = 0;
  /** The way down: how long a step may take (shutdown_sec), and when the current one must be done. */
  private stepBudgetMs = 0;
  private stepDeadline = 0;

  constructor(device: string, private readonly deps: WatchdogDeps) {
    this.devicePath = device;
  }

  /** Health gating: asked before every ping; an unhealthy verdict holds the pings back. */
  gateOn(criticalUnits: string[], health: () => HealthVerdict) {
    this.criticalUnits = criticalUnits;
    this.health = criticalUnits.length > 0 ? health : () => ({ healthy: true });
  }

  // ---- the runtime watchdog ------------------------------------------------------------

  /**
   * Boot: arm with the runtime timeout (0: leave the hardware alone), unless the target
   * is rescue. Never throws: a board without a watchdog boots all the same.
   */
  startRuntime(sec: number, target: string, shutdownSec: number) {
    this.shutdownSec = shutdownSec;
    if (sec <= 0) return void this.deps.log.info("Hardware watchdog off (runtime_sec = 0)");
    this.requestedSec = sec;
    if (!armForTarget(target, sec)) {
      this.notArmedBecause = "the rescue target: an operator at the console is not reset away";
      this.deps.console(`Hardware watchdog not armed in the rescue target (runtime_sec = ${sec}s): an operator at the console is not reset away.`);
      return;
    }
    this.armRuntime();
  }

  /** `hearth ctl watchdog set-timeout`: a new runtime timeout now; 0 disarms. Returns an error text or null. */
  setRuntimeTimeout(sec: number): string | null {
    if (this.phase === "shutdown" || this.phase === "closed") return "the way down has begun";
    this.requestedSec = sec;
    this.notArmedBecause = null;
    if (sec <= 0) {
      this.disarm("runtime timeout set to 0");
      return null;
    }
    if (this.fd === null) return this.armRuntime() ? null : this.notArmedBecause;
    try {
      this.adoptTimeout(sec);
    } catch (e) {
      this.fail(e);
      return (e as Error).message;
    }
    this.say(`Hardware watchdog timeout on ${this.devicePath} now ${this.timeoutSec}s, ping every ${pingIntervalMs(this.timeoutSec!) / 1000}s`);
    this.stats.restart();
    this.schedule(this.deps.now());
    return null;
  }

  /** Open, set the timeout, enable, ping, and ping on from the loop; false when it could not. */
  private armRuntime(): boolean {
    try {
      if (!this.openDevice()) {
        this.notArmedBecause = `no watchdog device at ${devicesToTry(this.devicePath).join(" or ")}`;
        if (!this.missingReported) this.deps.log.warning(`Hardware watchdog: ${this.notArmedBecause}; trying again at every ping`);
        this.missingReported = true;
        this.phase = "runtime";
        this.retryLater();
        return false;
      }
      this.adoptTimeout(this.requestedSec);
      this.fd!.enable();
    } catch (e) {
      this.fail(e);
      return false;
    }
    this.phase = "runtime";
    this.notArmedBecause = null;
    this.stats.restart();
    const now = this.deps.now();
    this.ping(now, now);
    this.schedule(now);
    this.say(`Hardware watchdog '${this.info?.identity || "unknown"}' armed on ${this.devicePath}: ` +
      `timeout ${this.timeoutSec}s, ping every ${pingIntervalMs(this.timeoutSec!) / 1000}s`);
    if (this.lastResetByWatchdog()) {
      this.deps.log.warning(`The last reset was caused by the hardware watchdog (WDIOF_CARDRESET in the boot status of ${this.devicePath})`);
    }
    return true;
  }

  /** The device was missing: try to open it again at the next ping time (systemd does too). */
  private retryLater() {
    this.clearTimer();
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      if (this.phase === "runtime" && this.fd === null) this.armRuntime();
    }, pingIntervalMs(requestedTimeoutSec(this.requestedSec)));
  }

  /** The cadence starts again from a ping just made at `from`. */
  private schedule(from: number) {
    this.clearTimer();
    this.plannedAt = from + pingIntervalMs(this.timeoutSec!);
    this.armTimer();
  }

  private armTimer() {
    this.timer = this.deps.setTimer(() => this.tick(), Math.max(0, this.plannedAt - this.deps.now()));
  }

  /** One beat of the runtime cadence: ping unless health gating says no, then plan the next. */
  private tick() {
    this.timer = null;
    if (this.phase !== "runtime" || this.fd === null) return;
    const now = this.deps.now();
    const verdict = this.askHealth();
    if (verdict.healthy) {
      if (this.stoppedBecause !== null) this.say(`Hardware watchdog pings resumed: ${this.stoppedBecause} no longer holds`);
      this.stoppedBecause = null;
      this.ping(now, this.plannedAt);
    } else if (this.stoppedBecause === null) {
      this.stoppedBecause = verdict.reason;
      const left = Math.max(0, this.timeoutSec! - (now - (this.stats.lastPing ?? now)) / 1000);
      this.deps.log.err(`${verdict.reason}: hardware watchdog pings stopped, the board resets in ${left.toFixed(1)}s`);
    }
    this.plannedAt = nextPingAt(this.plannedAt, now, pingIntervalMs(this.timeoutSec!));
    this.armTimer();
  }

  /** A bug in judging health must not reset the board: only a stuck manager, or a verdict, may. */
  private askHealth(): HealthVerdict {
    try {
      return this.health();
    } catch (e) {
      this.deps.log.err(`Hardware watchdog: judging the critical units' health failed: ${(e as Error).stack ?? e}`);
      return { healthy: true };
    }
  }

  /** daemon-reexec: the open device, pinged now (right before the exec; the next binary pings it right after). */
  handOver(): { fd: number; path: string } | null {
    if (this.fd === null || this.fd.fd === undefined) return null;
    this.fd.keepalive();
    return { fd: this.fd.fd, path: this.devicePath };
  }

  private ping(now: number, plannedAt: number) {
    if (this.fd === null) return;
    if (this.fd.keepalive()) {
      this.stats.record(now, plannedAt);
      this.pingFailureReported = false;
    } else if (!this.pingFailureReported) {
      this.pingFailureReported = true;
      this.deps.log.warning(`Hardware watchdog: WDIOC_KEEPALIVE on ${this.devicePath} failed`);
    }
  }

  // ---- the way down ----------------------------------------------------------------------

  /**
   * The way down begins: no more pings from the loop's cadence; armed with the
   * shutdown timeout (opened now if the runtime watchdog was off), so that each step of
   * the way down must be done within it. 0 disarms.
   */
  armForShutdown(sec: number = this.shutdownSec) {
    this.clearTimer();
    this.phase = "shutdown";
    this.stoppedBecause = null;
    if (sec <= 0) return this.disarm("shutdown_sec = 0");
    try {
      if (!this.openDevice()) return void this.deps.log.info(`Hardware watchdog: no device for the way down`);
      this.adoptTimeout(sec);
      this.fd!.enable();
    } catch (e) {
      return this.fail(e);
    }
    this.stepBudgetMs = requestedTimeoutSec(sec) * 1000;
    this.stats.restart();
    const bridged = this.timeoutSec! * 1000 < this.stepBudgetMs ? ` (the device takes ${this.timeoutSec}s at most: hearth pings it until then)` : "";
    this.say(`Hardware watchdog armed for the way down: the board resets if a step hangs for ${this.stepBudgetMs / 1000}s${bridged}.`);
    this.shutdownStep();
  }

  /** A step of the way down is about to run: a fresh shutdown timeout for it. */
  shutdownStep() {
    if (this.phase !== "shutdown" || this.fd === null) return;
    const now = this.deps.now();
    this.ping(now, now);
    this.stepDeadline = now + this.stepBudgetMs;
    this.bridge();
  }

  /**
   * When the device takes less than shutdown_sec, the loop pings it on until the last
   * ping that still puts the reset at the step's deadline. (A stuck loop then gets the
   * board reset sooner, after the device's own timeout.)
   */
  private bridge() {
    this.clearTimer();
    const at = nextBridgePing(this.deps.now(), this.stepDeadline, this.timeoutSec! * 1000);
    if (at === null) return;
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      if (this.phase !== "shutdown") return;
      const now = this.deps.now();
      this.ping(now, at);
      this.bridge();
    }, Math.max(0, at - this.deps.now()));
  }

  /** Right before reboot(2): left armed for a reboot, disarmed for poweroff and halt. */
  finish(action: PowerAction) {
    this.clearTimer();
    if (this.fd === null) return void (this.phase = "closed");
    if (closeBeforeReboot(action) === "disarm") return this.disarm(action);
    this.fd.closeArmed();
    this.fd = null;
    this.phase = "closed";
    this.deps.log.info(`Hardware watchdog on ${this.devicePath} left armed across reboot(2)`);
  }

  // ---- the device ------------------------------------------------------------------------

  /** Opens the device if it is not open; false when there is none (ENOENT). */
  private openDevice(): boolean {
    if (this.fd !== null) return true;
    let lastMissing: unknown = null;
    for (const path of devicesToTry(this.devicePath)) {
      try {
        this.fd = this.deps.open(path);
        this.devicePath = path;
        break;
      } catch (e) {
        if ((e as { errno?: number }).errno !== E.ENOENT) throw e;
        lastMissing = e;
      }
    }
    if (this.fd === null) {
      this.deps.log.debug(`Hardware watchdog: ${(lastMissing as Error).message}`);
      return false;
    }
    this.info = this.fd.info();
    this.bootStatus = this.fd.bootStatus();
    this.deps.log.info(`Using hardware watchdog '${this.info?.identity ?? "unknown"}', version ${this.info?.firmwareVersion.toString(16) ?? "?"}, device ${this.devicePath}`);
    return true;
  }

  /**
   * WDIOC_SETTIMEOUT in whole seconds, then WDIOC_GETTIMEOUT: the timeout the device
   * really runs with is adopted, with a warning when it is not the one asked for (the
   * driver rounded it, refused it, or cannot change it).
   */
  private adoptTimeout(sec: number) {
    const want = requestedTimeoutSec(sec);
    const set = this.setTimeout(want);
    const actual = this.fd!.timeout() ?? (typeof set === "number" ? set : null);
    if (actual === null || actual <= 0) throw new Error(`${this.devicePath}: the driver can neither set nor report its timeout`);
    if (actual !== want) {
      const why = set === "unsupported" ? "the driver cannot change its timeout" : set === "refused" ? "the driver refused it" : `the driver set ${set}s`;
      this.deps.log.warning(`Hardware watchdog: asked for ${want}s, ${why}; using the ${actual}s the device runs with`);
    }
    this.timeoutSec = actual;
  }

  /**
   * One WDIOC_SETTIMEOUT. EINVAL is a timeout out of the driver's range (systemd gives up
   * there): asked again within the range sysfs gives, else "refused". Other errors throw.
   */
  private setTimeout(want: number): number | "unsupported" | "refused" {
    try {
      return this.fd!.setTimeout(want);
    } catch (e) {
      if ((e as { errno?: number }).errno !== E.EINVAL) throw e;
      const range = this.deps.timeoutRange?.(this.devicePath) ?? null;
      const fitted = range === null ? null : fitTimeout(want, range);
      if (fitted === null || fitted === want) return "refused";
      this.deps.log.info(`Hardware watchdog: ${this.devicePath} takes ${range!.min}s to ${range!.max}s, not ${want}s; asking for ${fitted}s`);
      return this.fd!.setTimeout(fitted);
    }
  }

  /** A failure other than a missing device: disarm, close, say so (systemd gives up too). */
  private fail(e: unknown) {
    this.notArmedBecause = (e as Error).message;
    this.deps.log.err(`Hardware watchdog on ${this.devicePath} not armed: ${(e as Error).message}`);
    this.disarm(null);
  }

  /** WDIOS_DISABLECARD and the magic close; the timer stops. */
  private disarm(why: string | null) {
    this.clearTimer();
    if (this.fd !== null) {
      try {
        this.fd.disarmAndClose();
      } catch (e) {
        this.deps.log.warning(`Hardware watchdog: disarming ${this.devicePath}: ${(e as Error).message}`);
      }
      if (why !== null) this.say(`Hardware watchdog on ${this.devicePath} disarmed (${why}).`);
    }
    this.fd = null;
    this.timeoutSec = null;
    if (this.phase === "runtime") this.phase = "off";
    if (this.phase === "shutdown") this.phase = "closed";
  }

  private clearTimer() {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
  }

  private say(line: string) {
    this.deps.console(line);
    this.deps.log.info(line);
  }

  lastResetByWatchdog(): boolean | null {
    return resetByWatchdog(this.bootStatus, WDIOF.CARDRESET);
  }

  /** What sysfs tells of the device while it is not open (identity, boot status). */
  learn(facts: { info: WatchdogInfo | null; bootStatus: number | null }) {
    if (this.fd !== null) return;
    this.info ??= facts.info;
    this.bootStatus ??= facts.bootStatus;
  }

  state(): WatchdogState {
    const now = this.deps.now();
    const interval = this.timeoutSec === null ? null : pingIntervalMs(this.timeoutSec);
    const last = this.stats.lastPing;
    const driverLeft = this.fd?.timeLeft() ?? null;
    const estimated = this.fd !== null && last !== null && this.timeoutSec !== null
      ? Math.max(0, Math.round((this.timeoutSec - (now - last) / 1000) * 10) / 10) : null;
    return {
      device: this.devicePath,
      phase: this.phase,
      armed: this.fd !== null,
      notArmedBecause: this.fd === null ? this.notArmedBecause : null,
      identity: this.info?.identity ?? null,
      firmwareVersion: this.info?.firmwareVersion ?? null,
      requestedSec: this.requestedSec,
      timeoutSec: this.timeoutSec,
      readBackSec: this.fd?.timeout() ?? null,
      timeLeftSec: driverLeft ?? estimated,
      timeLeftFrom: driverLeft !== null ? "driver" : estimated !== null ? "last ping" : null,
      pingIntervalMs: this.phase === "runtime" ? interval : null,
      pings: this.stats.count,
      lastPingAt: last === null ? null : Math.round(Date.now() - (now - last)),
      lastPingAgoMs: last === null ? null : Math.round(now - last),
      figures: interval === null || this.phase !== "runtime" ? null : this.stats.figures(interval),
      recentIntervalsMs: this.stats.recentIntervals(RECENT_INTERVALS),
      pinging: this.phase === "runtime" && this.fd !== null && this.stoppedBecause === null,
      stoppedBecause: this.stoppedBecause,
      lastResetByWatchdog: this.lastResetByWatchdog(),
      bootStatus: this.bootStatus,
      advertisesCardReset: this.info === null ? null : (this.info.options & WDIOF.CARDRESET) !== 0,
      shutdownSec: this.shutdownSec,
      criticalUnits: this.criticalUnits,
    };
  }
}
