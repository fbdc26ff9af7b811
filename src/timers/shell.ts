// Timer and path units, the shell's half: it arms what the engine planned and reports
// what happened (src/timers/events.ts). Monotonic deadlines are plain timers; wall-clock
// ones share one CLOCK_REALTIME timerfd armed with TFD_TIMER_CANCEL_ON_SET, whose read
// fails with ECANCELED when the clock is set (NTP on a board that started in 1970): that
// is reported as a clock event and the engine plans its calendar timers again. Paths are
// watched with one inotify fd per path unit (src/timers/path-watch.ts).
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { UnitConfig } from "../config/types.ts";
import type { EngineEvent } from "../engine/types.ts";
import type { Logger } from "../log/manager-log.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import type { ConditionFacts } from "../engine/conditions.ts";
import type { TriggerEffect } from "./events.ts";
import type { PathWatch } from "./path-watch.ts";

/** Loaded by the first path unit (a chunk of its own in the executable, read synchronously by require). */
const pathWatch = (): typeof import("./path-watch.ts") => require("./path-watch.ts");

/** setTimeout's longest delay: longer ones are chained. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Armed when no wall-clock deadline is due, so a clock change is still heard: 2100-01-01. */
const FAR_FUTURE_MS = 4_102_444_800_000;

/** The kernel's timerfd (ffi/timerfd.ts); absent on a fake host, where wall-clock deadlines use plain timers. */
export interface RealtimeTimerPort {
  create(): number;
  arm(fd: number, epochMs: number): void;
  read(fd: number): "expired" | "clock-set" | "again";
  close(fd: number): void;
}

export interface TriggerShellDeps {
  now(): number; // the engine's clock
  wallNow(): number;
  sinceBootMs(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
  reactor: Reactor;
  realtime: RealtimeTimerPort | null;
  conditionFacts: ConditionFacts;
  dispatch(event: EngineEvent): void;
  log: Logger;
  stampDir: string; // persistent timers' stamp files
}

interface Arm { id: number; mono: number | null; realtime: number | null; handle: unknown; wallHandle: unknown }

export class TriggerShell {
  private readonly arms = new Map<string, Arm>();
  private fd = -1;
  private timerFdFailed = false;
  private readonly paths = new Map<string, PathWatch>();

  constructor(private readonly deps: TriggerShellDeps, private readonly units: Iterable<UnitConfig>) {}

  /** The first clock event: the clocks, the machine id, a seed, and the persistent timers' stamps. */
  clockEvent(): EngineEvent {
    const stamps: Record<string, number> = {};
    for (const cfg of this.units) {
      if (!cfg.timer?.persistent) continue;
      try {
        stamps[cfg.name] = statSync(join(this.deps.stampDir, cfg.name)).mtimeMs;
      } catch { /* never triggered */ }
    }
    return {
      type: "clock", realtime: this.deps.wallNow(), sinceBootMs: this.deps.sinceBootMs(), changed: false,
      machineId: machineId(), seed: (Math.random() * 2 ** 32) >>> 0, stamps,
    };
  }

  perform(e: TriggerEffect) {
    switch (e.type) {
      case "arm-timer": return this.arm(e.unit, e.id, e.mono, e.realtime);
      case "disarm-timer": return this.disarm(e.unit);
      case "timer-stamp": return this.writeStamp(e.unit, e.realtime);
      case "watch-paths": {
        this.paths.get(e.unit)?.close();
        const watch = new (pathWatch().PathWatch)(e.unit, e.id, e.path, {
          reactor: this.deps.reactor, facts: this.deps.conditionFacts, log: this.deps.log,
          report: (reason) => this.deps.dispatch({ type: "path-triggered", unit: e.unit, id: e.id, reason }),
        });
        this.paths.set(e.unit, watch);
        return watch.start(e.check);
      }
      case "unwatch-paths":
        this.paths.get(e.unit)?.close();
        this.paths.delete(e.unit);
        return;
    }
  }

  close() {
    for (const unit of [...this.arms.keys()]) this.disarm(unit);
    for (const watch of this.paths.values()) watch.close();
    this.paths.clear();
    if (this.fd >= 0) {
      this.deps.reactor.unwatch(this.fd);
      this.deps.realtime!.close(this.fd);
      this.fd = -1;
    }
  }

  // ---- timers -------------------------------------------------------------------------

  private arm(unit: string, id: number, mono: number | null, realtime: number | null) {
    this.disarm(unit);
    const arm: Arm = { id, mono, realtime, handle: null, wallHandle: null };
    this.arms.set(unit, arm);
    if (mono !== null) this.armMono(unit, arm);
    if (realtime !== null && !this.armRealtimeFd()) this.armWallFallback(unit, arm);
  }

  private disarm(unit: string) {
    const arm = this.arms.get(unit);
    if (!arm) return;
    if (arm.handle !== null) this.deps.clearTimer(arm.handle);
    if (arm.wallHandle !== null) this.deps.clearTimer(arm.wallHandle);
    this.arms.delete(unit);
  }

  private armMono(unit: string, arm: Arm) {
    const left = arm.mono! - this.deps.now();
    arm.handle = this.deps.setTimer(Math.min(Math.max(0, left), MAX_DELAY_MS), () => {
      arm.handle = null;
      if (this.arms.get(unit) !== arm) return;
      if (arm.mono! - this.deps.now() > 1) return this.armMono(unit, arm); // a chained long delay
      this.fire(unit, arm);
    });
  }

  /** Without a timerfd (a fake host): the wall-clock deadline as a plain timer, on the wall clock now. */
  private armWallFallback(unit: string, arm: Arm) {
    const left = arm.realtime! - this.deps.wallNow();
    arm.wallHandle = this.deps.setTimer(Math.min(Math.max(0, left), MAX_DELAY_MS), () => {
      arm.wallHandle = null;
      if (this.arms.get(unit) !== arm) return;
      if (arm.realtime! - this.deps.wallNow() > 1) return this.armWallFallback(unit, arm);
      this.fire(unit, arm);
    });
  }

  private fire(unit: string, arm: Arm) {
    this.disarm(unit);
    this.deps.dispatch({ type: "timer-elapsed", unit, id: arm.id, realtime: this.deps.wallNow() });
  }

  /**
   * The timerfd at the soonest wall-clock deadline (or far away: it still hears a clock
   * change). False when there is none (a fake host, or out of fds: said once): the
   * deadlines then wait on plain timers, and a clock change goes unheard.
   */
  private armRealtimeFd(): boolean {
    const port = this.deps.realtime;
    if (port === null || this.timerFdFailed) return false;
    try {
      if (this.fd < 0) {
        this.fd = port.create();
        this.deps.reactor.watch(this.fd, { read: true }, () => this.onRealtimeFd());
      }
      let soonest = FAR_FUTURE_MS;
      for (const arm of this.arms.values()) if (arm.realtime !== null && arm.realtime < soonest) soonest = arm.realtime;
      port.arm(this.fd, soonest);
      return true;
    } catch (e) {
      this.timerFdFailed = true;
      this.deps.log.warning(`calendar timers wait on plain timers, deaf to clock changes: ${(e as Error).message}`);
      for (const [unit, arm] of this.arms) if (arm.realtime !== null && arm.wallHandle === null) this.armWallFallback(unit, arm);
      return false;
    }
  }

  private onRealtimeFd() {
    const port = this.deps.realtime!;
    if (this.fd < 0) return;
    this.deps.reactor.watch(this.fd, { read: true }, () => this.onRealtimeFd()); // EPOLLONESHOT: re-armed
    let what: "expired" | "clock-set" | "again";
    try {
      what = port.read(this.fd);
    } catch (e) {
      this.deps.log.warning(`reading the calendar timerfd: ${(e as Error).message}`);
      what = "expired"; // look at the deadlines all the same
    }
    if (what === "clock-set") {
      this.deps.log.info("The system clock was set: planning calendar timers again");
      this.armRealtimeFd(); // a cancelled timerfd stays disarmed until set again
      this.deps.dispatch({ type: "clock", realtime: this.deps.wallNow(), sinceBootMs: this.deps.sinceBootMs(), changed: true });
      return;
    }
    const wall = this.deps.wallNow();
    for (const [unit, arm] of [...this.arms]) if (arm.realtime !== null && arm.realtime <= wall) this.fire(unit, arm);
    this.armRealtimeFd();
  }

  private writeStamp(unit: string, realtime: number) {
    const file = join(this.deps.stampDir, unit);
    try {
      if (!existsSync(this.deps.stampDir)) mkdirSync(this.deps.stampDir, { recursive: true, mode: 0o755 });
      writeFileSync(file, "");
      utimesSync(file, realtime / 1000, realtime / 1000);
    } catch (e) {
      this.deps.log.warning(`${unit}: cannot write the timer's stamp ${file}: ${(e as Error).message}`);
    }
  }
}

/** /etc/machine-id, for fixed_random_delay; empty when there is none. */
function machineId(): string {
  try {
    return readFileSync("/etc/machine-id", "latin1").trim().slice(0, 64);
  } catch {
    return "";
  }
}
