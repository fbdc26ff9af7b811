// The decisions the shell used to take by re-reading engine state, now the engine's:
// each comes out as an effect that carries all the shell needs (src/engine/engine.ts).
import { describe, expect, test } from "bun:test";
import type { SocketSection, UnitConfig } from "../../src/config/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

function acceptUnit(name: string, over: Partial<SocketSection> = {}): UnitConfig {
  const socket: SocketSection = {
    listen_stream: `/run/${name}.sk`, accept: true, socket_mode: 0o666, fd_name: null,
    max_connections: 64, max_connections_per_source: 0, service: `${name}@`, ...over,
  } as SocketSection;
  return { ...service(name, { exec_start: { argv: ["/bin/cat"], ignoreFailure: false } }), sockets: [socket] };
}

function listening(units: UnitConfig[]): EngineSim {
  const sim = EngineSim.from(units);
  sim.send({ type: "sockets-opened", units: units.filter((u) => u.sockets.length > 0).map((u) => u.name), failed: [] });
  return sim;
}

describe("an accept = true instance that ends", () => {
  test("its leftovers are killed and its cgroup removed, by effects that name it and its process group", () => {
    const sim = listening([acceptUnit("echo")]);
    expect(sim.watching.has("echo/0")).toBe(true);
    sim.send({ type: "connection", unit: "echo", index: 0, connection: 7, source: "uid 0", ends: "1-0" });
    const pid = sim.mainPid("echo@0-1-0");
    const from = sim.effects.length;
    sim.exit("echo@0-1-0");
    expect(sim.engine.snapshot("echo@0-1-0")).toBeNull(); // removed from the table...
    // ...after the effects that clean up after it, which need nothing from the table.
    expect(sim.trace(from)).toEqual(["kill-leftovers echo@0-1-0", "release-fd-store echo@0-1-0", "remove-cgroup echo@0-1-0", "instance-removed echo@0-1-0"]);
    expect(sim.of("kill-leftovers", from)[0]!.processGroup).toBe(pid);
    expect(sim.of("manager-log", from)).toEqual([]);
  });
});

describe("restart", () => {
  test("the old run's leftovers are killed before the new main process is spawned", () => {
    const sim = EngineSim.from([service("web", {}, {})]);
    sim.request("start", "web");
    const first = sim.mainPid("web");
    const from = sim.effects.length;
    sim.request("restart", "web");
    sim.exit("web", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.active("web")).toBe("active");
    // The fd store outlives a restart: it is not released.
    expect(sim.trace(from)).toEqual(["kill-leftovers web", "remove-cgroup web", "spawn web"]);
    expect(sim.of("kill-leftovers", from)[0]!.processGroup).toBe(first);
  });

  test("restart db restarts web, which requires it (systemd's try-restart), after db", () => {
    const sim = EngineSim.from([
      service("db"),
      service("web", {}, { requires: ["db"], after: ["db"] }),
      service("idle", {}, { requires: ["db"], after: ["db"] }),
    ]);
    sim.request("start", "web");
    expect(sim.active("db")).toBe("active");
    expect(sim.active("web")).toBe("active");
    const from = sim.effects.length;
    sim.request("restart", "db", 5);
    sim.exit("web", { kind: "killed", signal: 15, coreDumped: false });
    sim.exit("db", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.active("db")).toBe("active");
    expect(sim.active("web")).toBe("active");
    expect(sim.active("idle")).toBe("inactive"); // was not running: not started
    expect(sim.of("spawn", from).map((s) => s.unit)).toEqual(["db", "web"]);
    const done = sim.of("job-finished", from).find((j) => j.requestId === 5)!;
    expect([done.unit, done.job, done.result]).toEqual(["db", "restart", "done"]);
  });
});

describe("crash-loop counters", () => {
  test("starting web by hand keeps the counters of db, which it pulls in", () => {
    const sim = EngineSim.from([
      service("db", { restart: "always", restart_sec: 1, start_limit_burst: 10, start_limit_interval_sec: 100 }),
      service("web", {}, { requires: ["db"], after: ["db"] }),
    ]);
    sim.request("start", "db");
    for (let i = 0; i < 4; i++) {
      sim.exit("db", { kind: "exited", code: 1 });
      if (i < 3) sim.advance(1000);
    }
    expect(sim.engine.snapshot("db")!.sub).toBe("auto-restart");
    expect(sim.engine.snapshot("db")!.restarts).toBe(4);
    sim.request("start", "web");
    expect(sim.engine.snapshot("db")!.restarts).toBe(4);
    // The operator's own start of db is what clears them.
    sim.exit("db", { kind: "exited", code: 1 });
    sim.request("stop", "db");
    sim.request("start", "db");
    expect(sim.engine.snapshot("db")!.restarts).toBe(0);
  });
});

describe("accept failed", () => {
  test("the socket rests, then is watched again only if the engine still wants it", () => {
    const sim = listening([acceptUnit("echo")]);
    sim.send({ type: "accept-failed", unit: "echo", index: 0, error: "accept4: Too many open files" });
    expect(sim.watching.has("echo/0")).toBe(false);
    sim.advance(100);
    expect(sim.watching.has("echo/0")).toBe(true);
    // Stopped meanwhile: the end of the rest does not bring the socket back.
    sim.send({ type: "accept-failed", unit: "echo", index: 0, error: "accept4: Too many open files" });
    sim.request("stop", "echo");
    sim.advance(100);
    expect(sim.watching.has("echo/0")).toBe(false);
  });

  test("max_connections reached during the rest: still not watched after it", () => {
    const sim = listening([acceptUnit("echo", { max_connections: 1 })]);
    sim.send({ type: "connection", unit: "echo", index: 0, connection: 1, source: "a", ends: "1-0" });
    expect(sim.watching.has("echo/0")).toBe(false);
    sim.send({ type: "accept-failed", unit: "echo", index: 0, error: "accept4: Cannot allocate memory" });
    sim.advance(100);
    expect(sim.watching.has("echo/0")).toBe(false);
    sim.exit("echo@0-1-0");
    expect(sim.watching.has("echo/0")).toBe(true);
  });
});

describe("going down", () => {
  test("no socket is watched again, a connection starts nothing, and a unit's emergency action is moot", () => {
    const sim = listening([
      acceptUnit("echo"),
      service("fragile", { restart: "always", restart_sec: 0, start_limit_burst: 1, start_limit_interval_sec: 100, start_limit_action: "reboot" }),
    ]);
    sim.request("start", "fragile");
    expect(sim.watching.has("echo/0")).toBe(true);
    const from = sim.effects.length;
    sim.send({ type: "going-down" });
    expect(sim.watching.size).toBe(0);
    sim.send({ type: "connection", unit: "echo", index: 0, connection: 9, source: "uid 0", ends: "1-0" });
    expect(sim.of("close-connection", from)).toMatchObject([{ connection: 9 }]);
    expect(sim.of("spawn", from)).toEqual([]);
    for (let i = 0; i < 3; i++) {
      sim.exit("fragile", { kind: "exited", code: 1 });
      sim.advance(1);
    }
    expect(sim.of("emergency-action", from)).toEqual([]);
  });
});

describe("handle()", () => {
  test("startup finished is reported once, with the count of active units", () => {
    const sim = EngineSim.from([target("multi-user", { wants: ["a", "b"] }), service("a"), service("b")], "multi-user");
    sim.request("start", "multi-user");
    expect(sim.of("startup-finished").map((e) => e.activeUnits)).toEqual([3]);
    sim.request("restart", "multi-user");
    sim.request("start", "multi-user");
    expect(sim.of("startup-finished").length).toBe(1);
  });

  test("what was emitted before a bug stays, with the error", () => {
    const sim = EngineSim.from([service("a")]);
    sim.engine.activation.collectInstances = () => {
      throw new Error("boom");
    };
    sim.request("start", "a");
    expect(sim.of("spawn").map((s) => s.unit)).toEqual(["a"]);
    expect(sim.of("manager-log")[0]!.text).toContain("internal error handling request event: Error: boom");
  });
});

describe("the run queue", () => {
  test("a chain of units that require the previous one starts in order and stops in reverse", () => {
    const n = 50;
    const names = Array.from({ length: n }, (_, i) => `s${i}`);
    const sim = EngineSim.from([
      target("all", { wants: names }),
      ...names.map((name, i) => service(name, { type: "notify" }, i > 0 ? { requires: [`s${i - 1}`], after: [`s${i - 1}`] } : {})),
    ]);
    sim.request("start", "all");
    for (let i = 0; i < n; i++) {
      expect(sim.of("spawn").map((s) => s.unit)).toEqual(names.slice(0, i + 1)); // one at a time
      sim.send({ type: "notify", pid: sim.mainPid(`s${i}`), uid: 0, msg: ready, fds: [], origin: { pid: sim.mainPid(`s${i}`), cgroupUnit: null, sid: null, pgid: null, alive: true }, claimed: null });
    }
    expect(sim.active("all")).toBe("active");
    const from = sim.effects.length;
    sim.request("stop", "s0"); // and every unit that requires it, in one transaction
    const stopped: string[] = [];
    for (let i = n - 1; i >= 0; i--) {
      // Only the last unit still up is being stopped: the others wait for it.
      const signalled = [...new Set(sim.of("kill", from).map((k) => k.unit))];
      expect(signalled).toEqual([...stopped, `s${i}`]);
      stopped.push(`s${i}`);
      sim.exit(`s${i}`, { kind: "killed", signal: 15, coreDumped: false });
    }
    expect(names.every((name) => sim.active(name) === "inactive")).toBe(true);
  });
});

const ready = { ready: true, reloading: false, stopping: false, fdStore: false, fdStoreRemove: false, barrier: false, unknown: [], warnings: [] };
