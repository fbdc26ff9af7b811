// Timer and path units, the engine's half (pure): systemd's timer.c and path.c state
// machines. A timer unit waits for its next elapse (src/timers/plan.ts), starts its unit,
// stays "running" while that unit is up and waits again once it is down. A path unit
// waits for the shell to report a match, starts its unit the same way, within a trigger
// limit. Both are active while they wait or run (systemd's state translation).
//
//   timer:  dead --start--> waiting --elapse--> running --unit down--> waiting ...
//                           waiting --nothing left--> elapsed (remain_after_elapse) | dead
//   path:   dead --start--> waiting --match--> running --unit down--> waiting (re-check)
//                                     --past trigger_limit_burst--> failed
import type { UnitConfig } from "../config/types.ts";
import type { TriggerEvent, TriggerSnapshot } from "../timers/events.ts";
import {
  coalesce, hash32, lastTriggerRealtime, parseCalendars, planTimer, randomDelayMs, type ClockFacts, type LastTrigger,
} from "../timers/plan.ts";
import type { CalendarSpec } from "../timers/calendar.ts";
import type { PathSection, TimerSection } from "../timers/types.ts";
import type { ActiveState, Effect } from "./types.ts";

/** What daemon-reexec carries (./serialize.ts): loaded by the first export or import of the state (require, a chunk of its own). */
const serialize = (): typeof import("./serialize.ts") => require("./serialize.ts");

export type TimerState = "dead" | "waiting" | "running" | "elapsed" | "failed";
export type PathState = "dead" | "waiting" | "running" | "failed";

interface TimerRuntime {
  kind: "timer";
  name: string;
  cfg: TimerSection;
  calendars: CalendarSpec[];
  state: TimerState;
  result: "success" | "resources";
  activatedAt: number;
  last: LastTrigger;
  disabled: Set<string>;
  next: { mono: number | null; realtime: number | null };
  armId: number;
}

interface PathRuntime {
  kind: "path";
  name: string;
  cfg: PathSection;
  state: PathState;
  result: "success" | "resources" | "trigger-limit-hit";
  watchId: number;
  recent: number[]; // trigger times inside the limit's window
  last: number | null; // engine clock
  lastReason: string | null;
}

/** The engine as this module sees it. */
export interface TriggerHost {
  now: number;
  /** The manager is going down: nothing is started any more (systemd's unit_stop_pending). */
  goingDown: boolean;
  state(unit: string): { active: ActiveState; job: boolean } | null;
  /** Queue a start that is not the operator's. */
  start(unit: string): void;
  emit(effect: Effect): void;
}

export class Triggers {
  private readonly units = new Map<string, TimerRuntime | PathRuntime>();
  private readonly byTarget = new Map<string, string[]>(); // triggered unit -> its timers and paths
  private readonly targetTimes = new Map<string, { activeAt: number | null; inactiveAt: number | null; up: boolean }>();
  private clock: ClockFacts;
  private machineId = "";
  private rng = 0x9e3779b9;
  private nextId = 1;
  private readonly sinceAt = new Map<string, number>(); // last change of active state (engine clock)

  constructor(configs: Iterable<UnitConfig>, now: number) {
    this.clock = { realtimeOffset: 0, bootAt: 0, startupAt: now };
    for (const cfg of configs) this.add(cfg);
  }

  add(cfg: UnitConfig) {
    if (cfg.timer) {
      this.units.set(cfg.name, {
        kind: "timer", name: cfg.name, cfg: cfg.timer, calendars: parseCalendars(cfg.timer), state: "dead", result: "success",
        activatedAt: 0, last: { mono: null, realtime: null }, disabled: new Set(), next: { mono: null, realtime: null }, armId: 0,
      });
    } else if (cfg.path) {
      this.units.set(cfg.name, {
        kind: "path", name: cfg.name, cfg: cfg.path, state: "dead", result: "success", watchId: 0, recent: [], last: null, lastReason: null,
      });
    } else return;
    const target = (cfg.timer ?? cfg.path)!.unit;
    this.byTarget.set(target, [...(this.byTarget.get(target) ?? []), cfg.name]);
  }

  /** Which kind of trigger unit a config is, if any. */
  static kindOf(cfg: UnitConfig): "timer" | "path" | null {
    return cfg.timer ? "timer" : cfg.path ? "path" : null;
  }

  active(name: string): ActiveState {
    const t = this.units.get(name)!;
    return t.state === "dead" ? "inactive" : t.state === "failed" ? "failed" : "active";
  }

  sub(name: string): string {
    return this.units.get(name)!.state;
  }

  /** When the unit's active state last changed (engine clock); undefined: never, or not a trigger unit. */
  since(name: string): number | undefined {
    return this.sinceAt.get(name);
  }

  // ---- jobs -------------------------------------------------------------------------

  start(name: string, host: TriggerHost) {
    const t = this.units.get(name)!;
    t.result = "success";
    if (t.kind === "path") {
      t.recent = [];
      return this.pathWait(t, host);
    }
    t.activatedAt = host.now;
    t.last = { mono: null, realtime: this.stamps.get(name) ?? null }; // only persistent timers have a stamp
    t.disabled.clear();
    const stamp = this.stamps.get(name);
    if (t.cfg.persistent && stamp !== undefined && stamp > host.now + this.clock.realtimeOffset) {
      // A board without RTC before NTP: used once the clock has passed it (src/timers/plan.ts).
      host.emit({ type: "log", unit: name, level: "notice", text: `Not using persistent file timestamp ${new Date(stamp).toISOString()} yet: it is in the future (the clock is not set?)` });
    }
    if (t.cfg.persistent && !this.stamps.has(name)) {
      // Never run before: the stamp file is made now, so a board that is off at the first
      // elapse catches up at its next start (systemd touches it too).
      const realtime = host.now + this.clock.realtimeOffset;
      this.stamps.set(name, realtime);
      host.emit({ type: "timer-stamp", unit: name, realtime });
    }
    this.timerWait(t, host, false);
    // Nothing to wait for at all (a calendar event with no future elapse, without
    // remain_after_elapse): the start is over, and the timer is inactive again.
    if (t.state === "dead") host.emit({ type: "state-changed", unit: name, active: "inactive", sub: "dead" });
  }

  stop(name: string, host: TriggerHost) {
    const t = this.units.get(name)!;
    host.emit(t.kind === "timer" ? { type: "disarm-timer", unit: name } : { type: "unwatch-paths", unit: name });
    this.setState(t, "dead", host);
  }

  /** A failed timer or path unit is inactive again, its result cleared (it is not started). */
  resetFailed(name: string, host: TriggerHost) {
    const t = this.units.get(name);
    if (!t || t.state !== "failed") return;
    t.result = "success";
    this.setState(t, "dead", host);
  }

  // ---- daemon-reexec (./serialize.ts) ------------------------------------------------

  private static readonly STATE_FIELDS = ["units", "byTarget", "targetTimes", "clock", "machineId", "rng", "nextId", "sinceAt", "stamps"];

  exportState(): Record<string, unknown> {
    return serialize().pick(this, Triggers.STATE_FIELDS);
  }

  /** The state of the process before the exec: waiting timers armed again, waiting paths watched again (the shell's are gone). */
  importState(part: Record<string, unknown>, host: TriggerHost) {
    serialize().place(this, part, Triggers.STATE_FIELDS, "triggers");
    for (const t of this.units.values()) {
      if (t.state !== "waiting") continue;
      if (t.kind === "timer") this.arm(t, host);
      else host.emit({ type: "watch-paths", unit: t.name, id: t.watchId, path: t.cfg, check: true });
    }
  }

  // ---- events -----------------------------------------------------------------------

  private readonly stamps = new Map<string, number>();

  handle(ev: TriggerEvent, host: TriggerHost) {
    switch (ev.type) {
      case "clock": return this.onClock(ev, host);
      case "timer-elapsed": {
        if (ev.realtime !== undefined) this.clock = { ...this.clock, realtimeOffset: ev.realtime - host.now };
        const t = this.units.get(ev.unit);
        if (t?.kind !== "timer" || t.state !== "waiting" || t.armId !== ev.id) return; // a stale arm
        return this.timerRun(t, host);
      }
      case "path-triggered": {
        const p = this.units.get(ev.unit);
        if (p?.kind !== "path" || p.watchId !== ev.id || (p.state !== "waiting" && p.state !== "running")) return;
        return this.pathRun(p, ev.reason, host);
      }
    }
  }

  private onClock(ev: Extract<TriggerEvent, { type: "clock" }>, host: TriggerHost) {
    this.clock = { ...this.clock, realtimeOffset: ev.realtime - host.now, bootAt: host.now - ev.sinceBootMs };
    if (ev.machineId !== undefined) this.machineId = ev.machineId;
    if (ev.seed !== undefined) this.rng = (ev.seed >>> 0) || 1;
    if (ev.stamps) for (const [unit, at] of Object.entries(ev.stamps)) this.stamps.set(unit, at);
    if (!ev.changed) return;
    // systemd's timer_time_change: every waiting timer is planned again on the new clock.
    // A trigger's wall reading is of the old clock: its engine reading, mapped anew, stands.
    for (const t of this.units.values()) if (t.kind === "timer" && t.last.mono !== null) t.last = { mono: t.last.mono, realtime: null };
    for (const t of this.units.values()) {
      if (t.kind === "timer" && t.state === "waiting") {
        host.emit({ type: "log", unit: t.name, level: "debug", text: "Time change, recalculating next elapse." });
        this.timerWait(t, host, true);
      }
    }
  }

  /** The unit a timer or path starts changed state (or its job ended): those waiting on it move on. */
  targetChanged(target: string, host: TriggerHost) {
    const names = this.byTarget.get(target);
    if (!names) return;
    const s = host.state(target);
    const down = s === null || s.active === "inactive" || s.active === "failed";
    const times = this.targetTimes.get(target) ?? { activeAt: null, inactiveAt: null, up: false };
    if (!down && !times.up) times.activeAt = host.now;
    if (down && times.up) times.inactiveAt = host.now;
    times.up = !down;
    this.targetTimes.set(target, times);
    for (const name of names) {
      const t = this.units.get(name)!;
      if (t.kind === "timer") {
        if (t.state === "waiting" || t.state === "elapsed") this.timerWait(t, host, false);
        else if (t.state === "running" && down && !s?.job) this.timerWait(t, host, false);
      } else if (t.state === "running" && down && !s?.job) {
        this.pathWait(t, host);
      }
    }
  }

  // ---- timers -------------------------------------------------------------------------

  private timerWait(t: TimerRuntime, host: TriggerHost, timeChange: boolean) {
    const times = this.targetTimes.get(t.cfg.unit);
    const plan = planTimer({
      timer: t.cfg, calendars: t.calendars, now: host.now, clock: this.clock, activatedAt: t.activatedAt, last: t.last,
      unitActiveAt: times?.activeAt ?? null, unitInactiveAt: times?.inactiveAt ?? null, disabled: t.disabled, timeChange,
    });
    for (const id of plan.disable) t.disabled.add(id);
    if (plan.mono === null && plan.realtime === null) {
      t.next = { mono: null, realtime: null };
      host.emit({ type: "disarm-timer", unit: t.name });
      if (t.cfg.remain_after_elapse || plan.leaveAround) return this.setState(t, "elapsed", host);
      return this.setState(t, "dead", host);
    }
    const delay = randomDelayMs(t.cfg, t.name, this.machineId, () => this.random());
    t.next = { mono: plan.mono === null ? null : plan.mono + delay, realtime: plan.realtime === null ? null : plan.realtime + delay };
    t.armId = this.nextId++;
    this.arm(t, host);
    this.setState(t, "waiting", host);
  }

  /** The shell's timer for t.next, under t.armId. */
  private arm(t: TimerRuntime, host: TriggerHost) {
    const accuracy = t.cfg.accuracy_sec * 1000;
    const perturb = hash32(this.machineId) % 60_000;
    host.emit({
      type: "arm-timer", unit: t.name, id: t.armId,
      mono: t.next.mono === null ? null : coalesce(t.next.mono, accuracy, perturb),
      realtime: t.next.realtime === null ? null : coalesce(t.next.realtime, accuracy, perturb),
    });
  }

  private timerRun(t: TimerRuntime, host: TriggerHost) {
    if (host.goingDown) return;
    if (host.state(t.cfg.unit) === null) {
      host.emit({ type: "log", unit: t.name, level: "err", text: `Unit to trigger vanished: ${t.cfg.unit}` });
      t.result = "resources";
      host.emit({ type: "disarm-timer", unit: t.name });
      return this.setState(t, "failed", host);
    }
    t.last = { mono: host.now, realtime: host.now + this.clock.realtimeOffset };
    t.next = { mono: null, realtime: null };
    if (t.cfg.persistent) {
      const realtime = host.now + this.clock.realtimeOffset;
      this.stamps.set(t.name, realtime);
      host.emit({ type: "timer-stamp", unit: t.name, realtime });
    }
    host.emit({ type: "log", unit: t.name, level: "info", text: `Triggering ${t.cfg.unit}.` });
    this.setState(t, "running", host);
    host.start(t.cfg.unit);
  }

  // ---- paths --------------------------------------------------------------------------

  private pathWait(p: PathRuntime, host: TriggerHost) {
    // systemd's path_enter_waiting: while the unit it starts is up, it is "running" and
    // watches nothing; it watches (and checks) again once that unit is down.
    const s = host.state(p.cfg.unit);
    if (s !== null && s.active !== "inactive" && s.active !== "failed") return this.setState(p, "running", host);
    p.watchId = this.nextId++;
    host.emit({ type: "watch-paths", unit: p.name, id: p.watchId, path: p.cfg, check: true });
    this.setState(p, "waiting", host);
  }

  private pathRun(p: PathRuntime, reason: string, host: TriggerHost) {
    if (host.goingDown) return;
    const interval = p.cfg.trigger_limit_interval_sec * 1000;
    if (interval > 0) {
      p.recent = p.recent.filter((at) => at > host.now - interval);
      if (p.recent.length >= p.cfg.trigger_limit_burst) {
        host.emit({ type: "log", unit: p.name, level: "warning", text: "Trigger limit hit, refusing further activation." });
        p.result = "trigger-limit-hit";
        host.emit({ type: "unwatch-paths", unit: p.name });
        return this.setState(p, "failed", host);
      }
      p.recent.push(host.now);
    }
    if (host.state(p.cfg.unit) === null) {
      p.result = "resources";
      host.emit({ type: "unwatch-paths", unit: p.name });
      return this.setState(p, "failed", host);
    }
    p.last = host.now;
    p.lastReason = reason;
    p.watchId = this.nextId++; // later reports of this watch are stale
    host.emit({ type: "unwatch-paths", unit: p.name });
    host.emit({ type: "log", unit: p.name, level: "info", text: `Triggering ${p.cfg.unit}: ${reason}` });
    this.setState(p, "running", host);
    host.start(p.cfg.unit);
  }

  // ---- common -------------------------------------------------------------------------

  private setState(t: TimerRuntime | PathRuntime, state: TimerState & PathState | TimerState, host: TriggerHost) {
    if (t.state === state) return;
    const before = this.active(t.name);
    t.state = state as never;
    if (this.active(t.name) !== before) this.sinceAt.set(t.name, host.now);
    host.emit({ type: "state-changed", unit: t.name, active: this.active(t.name), sub: state });
  }

  /** xorshift32: the engine stays deterministic; the shell seeds it. */
  private random(): number {
    let x = this.rng;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.rng = x || 1;
    return x / 2 ** 32;
  }

  snapshot(name: string, now: number): TriggerSnapshot | null {
    const t = this.units.get(name);
    if (!t) return null;
    const offset = this.clock.realtimeOffset;
    if (t.kind === "path") {
      return {
        kind: "path", unit: t.cfg.unit, next: null, nextMonoLeftMs: null, last: t.last === null ? null : t.last + offset,
        lastReason: t.lastReason, result: t.result,
      };
    }
    const candidates = [t.next.realtime, t.next.mono === null ? null : t.next.mono + offset].filter((x): x is number => x !== null);
    return {
      kind: "timer", unit: t.cfg.unit, next: candidates.length > 0 ? Math.min(...candidates) : null,
      nextMonoLeftMs: t.next.mono === null ? null : Math.max(0, t.next.mono - now),
      last: lastTriggerRealtime(t.last, this.clock, now), lastReason: null, result: t.result,
    };
  }
}
