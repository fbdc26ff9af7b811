// Timer and path units in the engine, on a virtual clock: the engine's clock and the wall
// clock are both injected (the wall clock through clock events, as the shell reports it),
// so a board that boots in 1970 and is set by NTP is a test of a few lines.
import { describe, expect, test } from "bun:test";
import type { UnitConfig } from "../../src/config/types.ts";
import type { PathSection, TimerSection } from "../../src/timers/types.ts";
import { coalesce, planTimer } from "../../src/timers/plan.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

const DAY = 86_400_000;
const JAN_2025 = Date.UTC(2025, 0, 1, 12, 0, 0); // a Wednesday, noon UTC

function timerSection(over: Partial<TimerSection>): TimerSection {
  return {
    on_calendar: [], on_active_sec: [], on_boot_sec: [], on_startup_sec: [], on_unit_active_sec: [], on_unit_inactive_sec: [],
    accuracy_sec: 0.001, randomized_delay_sec: 0, fixed_random_delay: false, persistent: false, remain_after_elapse: true,
    wake_system: false, unit: "job", ...over,
  };
}

function timer(name: string, over: Partial<TimerSection>): UnitConfig {
  return { ...target(name), file: `${name}.toml`, timer: timerSection(over) };
}

function pathUnit(name: string, over: Partial<PathSection>): UnitConfig {
  const path: PathSection = {
    path_exists: [], path_exists_glob: [], path_changed: [], path_modified: [], directory_not_empty: [], make_directory: false,
    directory_mode: 0o755, trigger_limit_interval_sec: 2, trigger_limit_burst: 3, unit: "job", ...over,
  };
  return { ...target(name), file: `${name}.toml`, path };
}

/** EngineSim plus the timer shell's part: arms kept, fired in time order on both clocks. */
class TimerSim extends EngineSim {
  wall = JAN_2025; // the wall clock at engine time 0
  arms = new Map<string, { id: number; mono: number | null; realtime: number | null }>();
  stamps = new Map<string, number>();
  watches = new Map<string, number>(); // path unit -> watch id

  static with(units: UnitConfig[]): TimerSim {
    const sim = new TimerSim();
    const base = EngineSim.from(units);
    sim.engine = base.engine;
    return sim;
  }

  wallNow() { return this.wall + this.now; }

  override send(ev: Parameters<EngineSim["send"]>[0]) {
    const from = this.effects.length;
    super.send(ev);
    for (const e of this.effects.slice(from)) {
      if (e.type === "arm-timer") this.arms.set(e.unit, { id: e.id, mono: e.mono, realtime: e.realtime });
      else if (e.type === "disarm-timer") this.arms.delete(e.unit);
      else if (e.type === "timer-stamp") this.stamps.set(e.unit, e.realtime);
      else if (e.type === "watch-paths") this.watches.set(e.unit, e.id);
      else if (e.type === "unwatch-paths") this.watches.delete(e.unit);
    }
  }

  clock(extra: { stamps?: Record<string, number>; changed?: boolean; machineId?: string } = {}) {
    this.send({ type: "clock", realtime: this.wallNow(), sinceBootMs: this.now + 5000, changed: extra.changed ?? false, seed: 42, ...extra });
  }

  /** Move both clocks on by ms, firing the arms (and the engine's own timers) as they come due. */
  run(ms: number) {
    const end = this.now + ms;
    for (;;) {
      let soonest: { at: number; unit: string; id: number } | null = null;
      for (const [unit, a] of this.arms) {
        for (const at of [a.mono, a.realtime === null ? null : a.realtime - this.wall]) {
          if (at !== null && (soonest === null || at < soonest.at)) soonest = { at, unit, id: a.id };
        }
      }
      const engineTimer = [...this.timers.values()].sort((a, b) => a.at - b.at)[0];
      if (engineTimer && engineTimer.at <= end && (soonest === null || engineTimer.at <= soonest.at)) {
        this.advance(engineTimer.at - this.now);
        continue;
      }
      if (soonest === null || soonest.at > end) break;
      this.now = Math.max(this.now, soonest.at);
      this.arms.delete(soonest.unit);
      this.send({ type: "timer-elapsed", unit: soonest.unit, id: soonest.id, realtime: this.wallNow() });
    }
    this.now = end;
  }

  /** The wall clock is set (NTP): by `jump` ms; the shell reports it. */
  setClock(jump: number) {
    this.wall += jump;
    this.clock({ changed: true });
  }

  starts(unit = "job"): number {
    return this.spawned.filter((s) => s.unit === unit && s.role === "main").length;
  }

  /** The oneshot job ran and exited. */
  finishJob() {
    const svc = this.engine.units.get("job")!.service!;
    if (svc.mainPid !== null) this.exit("job");
  }
}

const job = () => service("job", { type: "oneshot", exec_start: { argv: ["/bin/true"], ignoreFailure: false } as never });

describe("monotonic timers", () => {
  test("on_active_sec starts its unit once, that long after the timer started", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [30] })]);
    sim.clock();
    sim.start("job.timer");
    expect(sim.engine.activeState("job.timer")).toBe("active");
    sim.run(29_000);
    expect(sim.starts()).toBe(0);
    sim.run(2000);
    expect(sim.starts()).toBe(1);
    sim.finishJob();
    sim.run(10 * 60_000);
    expect(sim.starts()).toBe(1); // one-shot: used up
    expect(sim.engine.subState("job.timer")).toBe("elapsed"); // remain_after_elapse
  });

  test("on_unit_active_sec repeats after each start of the unit", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [1], on_unit_active_sec: [60] })]);
    sim.clock();
    sim.start("job.timer");
    for (let i = 0; i < 5; i++) {
      sim.run(60_000);
      sim.finishJob();
    }
    expect(sim.starts()).toBe(5);
  });

  test("on_boot_sec counts from boot, not from the manager's start; past already: due at once", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_boot_sec: [2] })]);
    sim.clock(); // the shell says the board has been up 5 s
    sim.start("job.timer");
    sim.run(1);
    expect(sim.starts()).toBe(1);
  });

  test("without remain_after_elapse a used-up timer goes inactive", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [1], remain_after_elapse: false })]);
    sim.clock();
    sim.start("job.timer");
    sim.run(1500);
    sim.finishJob();
    expect(sim.engine.activeState("job.timer")).toBe("inactive");
  });

  test("starting an active timer changes nothing; one with nothing to wait for ends its start inactive", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [30] }), timer("never.timer", { on_calendar: ["2003-03-05"], remain_after_elapse: false })]);
    sim.clock();
    sim.start("job.timer");
    sim.run(20_000);
    sim.request("start", "job.timer", 7);
    expect(sim.jobResults("job.timer").at(-1)).toBe("done");
    sim.run(10_001);
    expect(sim.starts()).toBe(1); // still 30 s after the first start, not re-planned by the second
    sim.request("start", "never.timer", 8);
    expect(sim.jobResults("never.timer").at(-1)).toBe("done");
    expect(sim.engine.activeState("never.timer")).toBe("inactive");
    expect(sim.engine.units.get("never.timer")!.job).toBeNull();
  });

  test("an elapse while the manager goes down starts nothing", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [10] })]);
    sim.clock();
    sim.start("job.timer");
    sim.send({ type: "going-down" });
    sim.run(20_000);
    expect(sim.starts()).toBe(0);
  });

  test("stopping the timer disarms it", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_active_sec: [10] })]);
    sim.clock();
    sim.start("job.timer");
    sim.stop("job.timer");
    sim.run(60_000);
    expect(sim.starts()).toBe(0);
    expect(sim.arms.size).toBe(0);
  });
});

describe("calendar timers", () => {
  test("daily fires at the next midnight of the wall clock", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["daily"] })]);
    sim.clock();
    sim.start("job.timer");
    const arm = sim.arms.get("job.timer")!;
    expect(new Date(arm.realtime!).toISOString()).toBe("2025-01-02T00:00:00.000Z");
    sim.run(12 * 3600_000 + 1000);
    expect(sim.starts()).toBe(1);
    sim.finishJob();
    expect(new Date(sim.arms.get("job.timer")!.realtime!).toISOString()).toBe("2025-01-03T00:00:00.000Z");
  });

  test("a clock set forward re-plans the calendar timers on the new date, without firing the ones not missed", () => {
    // A board without RTC: it starts in 1970, then NTP sets the clock to 2025.
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["daily"] })]);
    sim.wall = 0;
    sim.clock();
    sim.start("job.timer");
    expect(sim.arms.get("job.timer")!.realtime).toBe(DAY);
    sim.run(20_000);
    sim.setClock(JAN_2025 - sim.wallNow());
    expect(new Date(sim.arms.get("job.timer")!.realtime!).toISOString()).toBe("2025-01-02T00:00:00.000Z");
    sim.run(60_000);
    expect(sim.starts()).toBe(0);
  });

  test("a clock set backwards re-plans too: the last trigger is not taken to be in the future", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["hourly"] })]);
    sim.clock();
    sim.start("job.timer");
    sim.run(3600_000 + 1000);
    sim.finishJob();
    expect(sim.starts()).toBe(1);
    sim.setClock(-10 * DAY);
    const next = sim.arms.get("job.timer")!.realtime!;
    expect(next).toBeGreaterThan(sim.wallNow());
    expect(next - sim.wallNow()).toBeLessThanOrEqual(3600_000);
  });

  test("a wall clock slewed ahead of the engine's last reading (NTP, no jump) does not fire a daily timer twice", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["daily"] })]);
    sim.clock();
    sim.start("job.timer");
    sim.run(11 * 3600_000);
    sim.wall += 2000; // adjtime: the wall clock gained 2 s on the monotonic one, no clock event
    sim.run(3600_000);
    expect(sim.starts()).toBe(1);
    sim.finishJob();
    sim.run(60_000);
    expect(sim.starts()).toBe(1);
    expect(new Date(sim.arms.get("job.timer")!.realtime!).toISOString()).toBe("2025-01-03T00:00:00.000Z");
  });

  test("persistent: an elapse missed while the board was off fires once at start", () => {
    const last = JAN_2025 - 3 * DAY; // three daily elapses missed
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["daily"], persistent: true })]);
    sim.clock({ stamps: { "job.timer": last } });
    sim.start("job.timer");
    sim.run(1000);
    expect(sim.starts()).toBe(1);
    sim.finishJob();
    expect(sim.stamps.get("job.timer")).toBeGreaterThan(last); // the stamp is written again
    sim.run(3600_000);
    expect(sim.starts()).toBe(1); // once, not three times
    expect(new Date(sim.arms.get("job.timer")!.realtime!).toISOString()).toBe("2025-01-02T00:00:00.000Z");
  });

  test("persistent, without a stamp: none is missed, and the stamp is made", () => {
    const sim = TimerSim.with([job(), timer("job.timer", { on_calendar: ["daily"], persistent: true })]);
    sim.clock();
    sim.start("job.timer");
    sim.run(1000);
    expect(sim.starts()).toBe(0);
    expect(sim.stamps.get("job.timer")).toBe(JAN_2025);
  });

  test("persistent timers after a jump from 1970 each fire once, spread by randomized_delay_sec", () => {
    const units = [job()];
    for (let i = 0; i < 10; i++) {
      units.push(service(`job${i}`, { type: "oneshot", exec_start: { argv: ["/bin/true"], ignoreFailure: false } as never }));
      units.push(timer(`t${i}`, { on_calendar: ["daily"], persistent: true, randomized_delay_sec: 600, unit: `job${i}` }));
    }
    const sim = TimerSim.with(units);
    sim.wall = 0;
    // Their stamps are from yesterday, 2025; at boot (1970) they are in the future, so unused.
    const stamps: Record<string, number> = {};
    for (let i = 0; i < 10; i++) stamps[`t${i}`] = JAN_2025 - DAY;
    sim.clock({ stamps });
    for (let i = 0; i < 10; i++) sim.start(`t${i}`);
    sim.run(30_000);
    expect(sim.spawned.length).toBe(0);
    expect(sim.logs("t0").some((l) => l.includes("Not using persistent file timestamp"))).toBe(true);
    sim.setClock(JAN_2025 - sim.wallNow()); // NTP
    const due = [...sim.arms.values()].map((a) => a.realtime! - sim.wallNow());
    // Due now (missed yesterday's midnight), each within its random delay, not all at one instant.
    for (const left of due) expect(left).toBeLessThan(600_000);
    expect(new Set(due.map((d) => Math.round(d / 1000))).size).toBeGreaterThan(5);
    sim.run(600_000);
    for (let i = 0; i < 10; i++) expect(sim.starts(`job${i}`)).toBe(1);
  });

  test("fixed_random_delay gives the same delay for the same machine and unit, another for another unit", () => {
    const delay = (unit: string, machineId: string) => {
      const sim = TimerSim.with([job(), timer(unit, { on_calendar: ["daily"], randomized_delay_sec: 3600, fixed_random_delay: true })]);
      sim.clock({ machineId });
      sim.start(unit);
      return sim.arms.get(unit)!.realtime! - Date.UTC(2025, 0, 2);
    };
    expect(delay("a.timer", "m1")).toBe(delay("a.timer", "m1"));
    expect(new Set([delay("a.timer", "m1"), delay("b.timer", "m1"), delay("a.timer", "m2")]).size).toBe(3);
  });
});

describe("timer planning", () => {
  test("accuracy_sec moves a wake-up to a shared minute boundary inside the window", () => {
    const at = Date.UTC(2025, 0, 1, 0, 0, 10);
    const woke = coalesce(at, 60_000, 7_000);
    expect(woke).toBeGreaterThanOrEqual(at);
    expect(woke).toBeLessThanOrEqual(at + 60_000);
    expect(woke % 60_000).toBe(7_000);
    expect(coalesce(at, 1, 7_000)).toBe(at);
  });

  test("on_unit_inactive_sec counts from the unit's last stop", () => {
    const plan = planTimer({
      timer: timerSection({ on_unit_inactive_sec: [10] }), calendars: [], now: 50_000,
      clock: { realtimeOffset: JAN_2025, bootAt: 0, startupAt: 0 }, activatedAt: 0, last: { mono: null, realtime: null },
      unitActiveAt: 1000, unitInactiveAt: 45_000, disabled: new Set(), timeChange: false,
    });
    expect(plan.mono).toBe(55_000);
    expect(plan.leaveAround).toBe(true);
  });
});

describe("path units", () => {
  test("a match starts the unit; the path unit runs while it does, then watches again", () => {
    const sim = TimerSim.with([job(), pathUnit("job.path", { path_exists: ["/run/flag"] })]);
    sim.start("job.path");
    const first = sim.watches.get("job.path")!;
    expect(first).toBeDefined();
    sim.send({ type: "path-triggered", unit: "job.path", id: first, reason: "path_exists /run/flag" });
    expect(sim.starts()).toBe(1);
    expect(sim.engine.subState("job.path")).toBe("running");
    expect(sim.watches.has("job.path")).toBe(false); // nothing is watched while the unit runs
    sim.finishJob();
    expect(sim.engine.subState("job.path")).toBe("waiting");
    expect(sim.watches.get("job.path")).not.toBe(first); // watched and checked again
  });

  test("a report from an earlier watch is ignored", () => {
    const sim = TimerSim.with([job(), pathUnit("job.path", { path_changed: ["/run/x"] })]);
    sim.start("job.path");
    const first = sim.watches.get("job.path")!;
    sim.send({ type: "path-triggered", unit: "job.path", id: first, reason: "r" });
    sim.send({ type: "path-triggered", unit: "job.path", id: first, reason: "r" });
    expect(sim.starts()).toBe(1);
  });

  test("past trigger_limit_burst the path unit fails and stops watching", () => {
    const sim = TimerSim.with([job(), pathUnit("job.path", { path_exists: ["/run/flag"], trigger_limit_burst: 3 })]);
    sim.start("job.path");
    for (let i = 0; i < 4; i++) {
      sim.send({ type: "path-triggered", unit: "job.path", id: sim.watches.get("job.path")!, reason: "path_exists /run/flag" });
      sim.finishJob();
    }
    expect(sim.engine.activeState("job.path")).toBe("failed");
    expect(sim.engine.snapshot("job.path")!.result).toBe("trigger-limit-hit");
    expect(sim.watches.has("job.path")).toBe(false);
    expect(sim.starts()).toBe(3);
    sim.send({ type: "reset-failed", unit: "job.path" });
    expect(sim.engine.activeState("job.path")).toBe("inactive");
    expect(sim.engine.snapshot("job.path")!.result).toBe("success");
  });
});
