// daemon-reload's decisions in the engine (src/engine/reload.ts), on EngineSim: what a
// replaced configuration starts, stops, marks, and leaves alone.
import { describe, expect, test } from "bun:test";
import type { UnitConfig } from "../../src/config/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { configs, service, target } from "../support/units.ts";

function reload(sim: EngineSim, ...units: UnitConfig[]) {
  sim.send({ type: "configuration-replaced", units: configs(...units), notFound: new Set(), catalog: null });
}

const TARGET = target("multi-user");
const A = service("a", { exec_start: { argv: ["/bin/a"], ignoreFailure: false } }, { wanted_by: ["multi-user"] });
const B = service("b", { exec_start: { argv: ["/bin/b"], ignoreFailure: false } }, { wanted_by: ["multi-user"] });

function running(...units: UnitConfig[]): EngineSim {
  const sim = EngineSim.from([TARGET, ...units], "multi-user");
  sim.start("multi-user");
  return sim;
}

describe("daemon-reload in the engine", () => {
  test("a new unit wanted by an active target is started; one wanted by nothing is only loaded", () => {
    const sim = running(A);
    const before = sim.spawned.length;
    const lonely = service("lonely", { exec_start: { argv: ["/bin/lonely"], ignoreFailure: false } });
    reload(sim, TARGET, A, B, lonely);
    expect(sim.spawned.slice(before).map((s) => s.unit)).toEqual(["b"]);
    expect(sim.engine.activeState("b")).toBe("active");
    expect(sim.engine.activeState("lonely")).toBe("inactive");
    expect(sim.engine.activeState("a")).toBe("active");
  });

  test("a removed unit is stopped, then forgotten with what the shell holds for it", () => {
    const sim = running(A, B);
    const pidB = sim.mainPid("b");
    reload(sim, TARGET, A);
    expect(sim.effects.some((e) => e.type === "kill" && e.unit === "b" && e.pid === pidB)).toBe(true);
    sim.send({ type: "exited", pid: pidB, status: { kind: "killed", signal: 15, coreDumped: false } });
    expect(sim.engine.units.has("b")).toBe(false);
    expect(sim.effects.some((e) => e.type === "unit-removed" && e.unit === "b")).toBe(true);
    expect(sim.engine.activeState("a")).toBe("active");
  });

  test("a changed running unit keeps its process, is marked changed on disk, and takes the new configuration at its restart", () => {
    const sim = running(A, B);
    const pidA = sim.mainPid("a");
    const before = sim.effects.length;
    const newA = service("a", { exec_start: { argv: ["/bin/a", "--new"], ignoreFailure: false } }, { wanted_by: ["multi-user"] });
    reload(sim, TARGET, newA, B);
    expect(sim.effects.slice(before).filter((e) => e.type === "kill" || e.type === "spawn")).toEqual([]);
    expect(sim.mainPid("a")).toBe(pidA);
    expect(sim.engine.snapshot("a")!.changedOnDisk).toBe(true);
    expect(sim.engine.snapshot("b")!.changedOnDisk).toBeUndefined();

    sim.request("restart", "a");
    sim.send({ type: "exited", pid: pidA, status: { kind: "killed", signal: 15, coreDumped: false } });
    expect(sim.spawned.at(-1)).toMatchObject({ unit: "a", argv: ["/bin/a", "--new"] });
    expect(sim.engine.snapshot("a")!.changedOnDisk).toBeUndefined();
  });

  test("a changed unit that crashes takes the new configuration at its automatic restart", () => {
    const v = (arg: string) => service("a", { restart: "always", exec_start: { argv: ["/bin/a", arg], ignoreFailure: false } }, { wanted_by: ["multi-user"] });
    const sim = running(v("--old"));
    reload(sim, TARGET, v("--new"));
    expect(sim.engine.snapshot("a")!.changedOnDisk).toBe(true);
    sim.exit("a", { kind: "exited", code: 1 });
    sim.advance(1000);
    expect(sim.spawned.at(-1)).toMatchObject({ unit: "a", argv: ["/bin/a", "--new"] });
    expect(sim.engine.snapshot("a")!.changedOnDisk).toBeUndefined();
  });

  test("a changed unit that is down takes its new configuration at once; its changed sockets are re-made", () => {
    const sock = (path: string): UnitConfig => ({ ...service("web"), sockets: [{ listen_stream: path, accept: false, service: "web", fd_name: "web" } as UnitConfig["sockets"][0]] });
    const sim = running(sock("/run/old.sock"));
    sim.send({ type: "sockets-opened", units: ["web"], failed: [] });
    const before = sim.effects.length;
    reload(sim, TARGET, sock("/run/new.sock"));
    expect(sim.effects.slice(before).filter((e) => e.type === "remake-sockets").map((e) => e.type === "remake-sockets" && e.config?.sockets[0]!.listen_stream)).toEqual(["/run/new.sock"]);
    expect(sim.engine.snapshot("web")!.config.sockets[0]!.listen_stream).toBe("/run/new.sock");
    expect(sim.engine.snapshot("web")!.changedOnDisk).toBeUndefined();
  });

  test("an active target that changed takes its new configuration at once (nothing of it runs); a new want of it is started", () => {
    const sim = running(A);
    const lonely = service("lonely", { exec_start: { argv: ["/bin/lonely"], ignoreFailure: false } });
    reload(sim, target("multi-user", { wants: ["lonely"] }), A, lonely);
    expect(sim.engine.snapshot("multi-user")!.changedOnDisk).toBeUndefined();
    expect(sim.engine.snapshot("multi-user")!.config.unit.wants).toEqual(["lonely"]);
    expect(sim.engine.activeState("lonely")).toBe("active"); // new, and the active target wants it
  });

  test("an unchanged configuration touches nothing", () => {
    const sim = running(A, B);
    const before = sim.effects.length;
    reload(sim, TARGET, A, B);
    expect(sim.effects.slice(before).filter((e) => e.type !== "manager-log")).toEqual([]);
  });
});
