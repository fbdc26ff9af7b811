// The pure decisions behind babysitting: exit causes, the Restart= table's overrides,
// back-off, start limits, and how a stop signals (kill_mode, send_sighup, abort timeout).
import { describe, expect, test } from "bun:test";
import { exitCause, restartDelaySec, shallRestart, startLimitCheck } from "../../src/engine/restart.ts";
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent } from "../../src/engine/types.ts";
import { configs, service, serviceSection } from "../support/units.ts";

describe("exit causes", () => {
  test("clean: code 0, SIGHUP/SIGINT/SIGTERM/SIGPIPE, success_exit_status", () => {
    expect(exitCause({ kind: "exited", code: 0 }, [])).toBe("clean");
    for (const signal of [1, 2, 13, 15]) expect(exitCause({ kind: "killed", signal, coreDumped: false }, [])).toBe("clean");
    expect(exitCause({ kind: "exited", code: 75 }, [75])).toBe("clean");
    expect(exitCause({ kind: "exited", code: 1 }, [])).toBe("unclean-code");
    expect(exitCause({ kind: "killed", signal: 11, coreDumped: true }, [])).toBe("unclean-signal");
  });

  test("restart_prevent_exit_status wins over the table, restart_force_exit_status over both", () => {
    const base = serviceSection({ restart: "always", restart_prevent_exit_status: [3], restart_force_exit_status: [] });
    expect(shallRestart(base, "unclean-code", { kind: "exited", code: 3 })).toBe(false);
    const forced = serviceSection({ restart: "no", restart_force_exit_status: [4] });
    expect(shallRestart(forced, "unclean-code", { kind: "exited", code: 4 })).toBe(true);
    expect(shallRestart(forced, "unclean-code", { kind: "exited", code: 5 })).toBe(false);
  });
});

describe("back-off and start limit", () => {
  test("restart_steps grow the delay geometrically up to restart_max_delay_sec", () => {
    const svc = { restart_sec: 0.1, restart_steps: 4, restart_max_delay_sec: 1.6 };
    const delays = [0, 1, 2, 3, 4, 5].map((n) => Math.round(restartDelaySec(svc, n) * 1000));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 1600]);
    expect(restartDelaySec({ restart_sec: 0.5, restart_steps: 0, restart_max_delay_sec: 0 }, 9)).toBe(0.5);
  });

  test("burst restarts inside the interval are allowed, one more is a hit; old ones age out", () => {
    let times: number[] = [];
    for (const t of [0, 100, 200]) {
      const r = startLimitCheck(times, t, 1, 3);
      expect(r.hit).toBe(false);
      times = r.times;
    }
    expect(startLimitCheck(times, 300, 1, 3).hit).toBe(true);
    expect(startLimitCheck(times, 1150, 1, 3).hit).toBe(false);
  });
});

/** Run an engine until it settles; return the kill effects. */
function killsOf(unit: Parameters<typeof service>[1], steps: (send: (e: EngineEvent) => Effect[]) => void) {
  const engine = new Engine(configs(service("s", unit)), 0);
  let pid = 100;
  const all: Effect[] = [];
  const send = (e: EngineEvent): Effect[] => {
    const out = engine.handle(e, 0);
    all.push(...out);
    for (const x of out) if (x.type === "spawn") all.push(...send({ type: "spawned", unit: "s", role: x.role, pid: pid++ }));
    return out;
  };
  send({ type: "request", job: "start", unit: "s" });
  steps(send);
  return all.filter((e): e is Extract<Effect, { type: "kill" }> => e.type === "kill").map((k) => `${k.signal}/${k.scope}`);
}

describe("stopping", () => {
  test("kill_mode: control-group signals the whole unit, mixed only the main process first, process only it", () => {
    const stop = (send: (e: EngineEvent) => Effect[]) => send({ type: "request", job: "stop", unit: "s" });
    expect(killsOf({ kill_mode: "control-group" }, stop)).toEqual(["15/unit", "18/unit"]);
    expect(killsOf({ kill_mode: "mixed" }, stop)).toEqual(["15/process", "18/process"]);
    expect(killsOf({ kill_mode: "process" }, stop)).toEqual(["15/process", "18/process"]);
  });

  test("send_sighup follows the kill signal; kill_signal is configurable", () => {
    const stop = (send: (e: EngineEvent) => Effect[]) => send({ type: "request", job: "stop", unit: "s" });
    expect(killsOf({ send_sighup: true, kill_signal: 2 }, stop)).toEqual(["2/unit", "18/unit", "1/unit"]);
  });
});
