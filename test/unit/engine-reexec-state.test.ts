// daemon-reexec, the engine's half (src/engine/serialize.ts): the state written before the
// exec and read by the next binary gives back the same units, pids, jobs, counters and
// deadlines, spawns nothing, and a state the binary cannot read is refused with a reason.
import { describe, expect, test } from "bun:test";
import { Engine } from "../../src/engine/engine.ts";
import { configsOf, decodeState, encodeState, ENGINE_STATE_VERSION } from "../../src/engine/serialize.ts";
import type { Effect } from "../../src/engine/types.ts";
import { EngineSim, MANAGER_PID } from "../support/engine-sim.ts";
import { acceptTemplates, service, target } from "../support/units.ts";

const UNITS = [
  target("multi-user", { wants: ["web", "sensor", "flaky", "tick.timer"] }),
  service("web", { type: "simple" }),
  service("sensor", { type: "notify", watchdog_sec: 2 }),
  service("flaky", { restart: "always", restart_sec: 1 }),
  service("job", { type: "oneshot" }),
  { ...target("tick.timer"), file: "tick.timer.toml", timer: {
    on_calendar: [], on_active_sec: [30], on_boot_sec: [], on_startup_sec: [], on_unit_active_sec: [], on_unit_inactive_sec: [],
    accuracy_sec: 0.001, randomized_delay_sec: 0, fixed_random_delay: false, persistent: false, remain_after_elapse: true,
    wake_system: false, unit: "job",
  } },
];

/** A manager that ran a while: a notify service with a watchdog, a service that crashed once and was restarted. */
function running(): EngineSim {
  const sim = EngineSim.from(UNITS, "multi-user");
  sim.start("multi-user");
  sim.notify("sensor", { ready: true });
  sim.advance(500);
  sim.notify("sensor", { watchdog: "ping" });
  sim.exit("flaky", { kind: "killed", signal: 11, coreDumped: false });
  sim.advance(1500); // restarted
  return sim;
}

/** The next binary: an engine built from the text, at `now`; what it asked of the shell. */
function reexec(sim: EngineSim, laterMs: number): { next: EngineSim; effects: Effect[] } {
  sim.send({ type: "bus-name-owner", name: "org.example.None", owner: null }); // the old engine's clock at sim.now: an event nobody waits for
  const decoded = decodeState(encodeState(sim.engine.exportState()));
  if ("error" in decoded) throw new Error(decoded.error);
  const next = new EngineSim();
  next.now = sim.now + laterMs;
  next.nextPid = sim.nextPid;
  next.engine = new Engine(configsOf(decoded.state), next.now, String, "multi-user", MANAGER_PID, new Set(), acceptTemplates(UNITS));
  const effects = next.engine.importState(decoded.state, next.now);
  for (const e of effects) {
    if (e.type === "set-timer") next.timers.set(`${e.unit}/${e.kind}`, { at: next.now + e.ms, id: e.id, unit: e.unit, kind: e.kind });
    if (e.type === "watch-cgroup") next.watched.add(e.unit);
  }
  return { next, effects };
}

describe("daemon-reexec: the engine's state across the exec", () => {
  test("every unit comes back as it was: states, main pids, restart counters, crash records, jobs", () => {
    const sim = running();
    expect(sim.rt("flaky").restartsTotal).toBe(1);
    const { next, effects } = reexec(sim, 0);
    expect(next.engine.snapshots()).toEqual(sim.engine.snapshots());
    expect(effects.filter((e) => e.type === "spawn" || e.type === "kill" || e.type === "state-changed")).toEqual([]);
    // Written again at once, it is the same text: nothing was lost or made up on the way.
    expect(encodeState(next.engine.exportState())).toBe(encodeState(sim.engine.exportState()));
  });

  test("the watchdog's deadline is armed again for the time that was left, and honoured", () => {
    const sim = running();
    sim.notify("sensor", { watchdog: "ping" }); // due 2000 ms from now
    const { next, effects } = reexec(sim, 500);
    const armed = effects.find((e) => e.type === "set-timer" && e.unit === "sensor" && e.kind === "watchdog");
    expect(armed).toMatchObject({ ms: 1500 });
    next.advance(1400);
    expect(next.state("sensor")).toBe("active");
    next.notify("sensor", { watchdog: "ping" }); // a ping to the new process resets it
    next.advance(1900);
    expect(next.state("sensor")).toBe("active");
    next.advance(200);
    expect(next.engine.snapshot("sensor")!.result).toBe("watchdog");
  });

  test("a process that exits after the exec is the new engine's: the service restarts as before", () => {
    const sim = running();
    const { next } = reexec(sim, 100);
    const oldPid = next.mainPid("flaky");
    next.exit("flaky", { kind: "exited", code: 1 });
    next.advance(1000);
    expect(next.state("flaky")).toBe("active");
    expect(next.mainPid("flaky")).not.toBe(oldPid);
    expect(next.rt("flaky").restartsTotal).toBe(2);
    next.stop("web"); // its process, started by the old binary, is stopped by the new one
    expect(next.of("kill").some((k) => k.unit === "web" && k.pid === sim.mainPid("web"))).toBe(true);
    next.exit("web", { kind: "killed", signal: 15, coreDumped: false });
    expect(next.state("web")).toBe("inactive");
  });

  test("a timer waiting before the exec fires on time after it", () => {
    const sim = running();
    const { next, effects } = reexec(sim, 1000);
    expect(effects.some((e) => e.type === "arm-timer" && e.unit === "tick.timer")).toBe(true);
    expect(next.engine.activeState("tick.timer")).toBe("active");
  });

  test("a state this binary cannot read is refused with the reason", () => {
    const text = encodeState(running().engine.exportState());
    expect(decodeState(text.slice(0, text.length / 2))).toMatchObject({ error: expect.stringContaining("not readable") });
    expect(decodeState(text.replace(`"version":${ENGINE_STATE_VERSION}`, '"version":99'))).toMatchObject({ error: expect.stringContaining("version 99") });
    expect(decodeState("{}")).toMatchObject({ error: expect.stringContaining("not a hearth engine state") });
    expect(decodeState("null")).toMatchObject({ error: expect.any(String) });
    const noUnits = JSON.parse(text);
    noUnits.engine.units = 3;
    expect(decodeState(JSON.stringify(noUnits))).toMatchObject({ error: expect.stringContaining("malformed") });
  });

  test("a state missing a part of the engine is an error, before anything is placed", () => {
    const state = running().engine.exportState();
    delete state.engine.made;
    const fresh = new Engine(configsOf(state), 0, String, "multi-user", MANAGER_PID);
    expect(() => fresh.importState(state, 0)).toThrow(/has no made/);
  });
});
