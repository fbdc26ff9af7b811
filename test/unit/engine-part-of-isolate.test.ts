// part_of (stops and restarts passed on, one way) and isolate (start a target with what it
// pulls in, stop the rest) in the engine.
import { describe, expect, test } from "bun:test";
import type { UnitConfig } from "../../src/config/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

function up(s: EngineSim, ...units: string[]) {
  for (const u of units) s.start(u);
  for (const u of units) expect(s.state(u)).toBe("active");
}

describe("part_of", () => {
  const units = () => [service("server"), service("helper", {}, { part_of: ["server"] })];

  test("stopping the named unit stops this one", () => {
    const s = EngineSim.from(units());
    up(s, "server", "helper");
    s.stop("server");
    s.exit("server", { kind: "killed", signal: 15, coreDumped: false });
    s.exit("helper", { kind: "killed", signal: 15, coreDumped: false });
    expect(s.state("server")).toBe("inactive");
    expect(s.state("helper")).toBe("inactive");
  });

  test("restarting the named unit restarts this one", () => {
    const s = EngineSim.from(units());
    up(s, "server", "helper");
    const before = s.mainPid("helper");
    s.request("restart", "server");
    s.exit("server", { kind: "killed", signal: 15, coreDumped: false });
    s.send({ type: "exited", pid: before, status: { kind: "killed", signal: 15, coreDumped: false } });
    expect(s.state("helper")).toBe("active");
    expect(s.mainPid("helper")).not.toBe(before);
  });

  test("one way: stopping this one leaves the named unit running; starting the named one starts nothing", () => {
    const s = EngineSim.from(units());
    s.start("server");
    expect(s.state("helper")).toBe("inactive");
    s.start("helper");
    s.stop("helper");
    s.exit("helper", { kind: "killed", signal: 15, coreDumped: false });
    expect(s.state("server")).toBe("active");
  });

  test("the named unit crashing is not a stop: this one stays", () => {
    const s = EngineSim.from(units());
    up(s, "server", "helper");
    s.exit("server", { kind: "exited", code: 1 });
    expect(s.state("server")).toBe("failed");
    expect(s.state("helper")).toBe("active");
  });
});

describe("isolate", () => {
  function system(): UnitConfig[] {
    return [
      target("multi-user", { wants: ["web"], allow_isolate: true }),
      target("rescue", { wants: ["shell"], allow_isolate: true }),
      target("plain", { wants: ["shell"] }),
      service("web"),
      service("shell"),
      service("logger", {}, { ignore_on_isolate: true }),
      service("stray"),
    ];
  }

  test("starts the target with what it pulls in and stops every other unit but those with ignore_on_isolate", () => {
    const s = EngineSim.from(system());
    up(s, "multi-user", "logger", "stray");
    s.request("isolate", "rescue", 9);
    for (const u of ["web", "stray"]) s.exit(u, { kind: "killed", signal: 15, coreDumped: false });
    expect(s.state("rescue")).toBe("active");
    expect(s.state("shell")).toBe("active");
    expect(s.state("logger")).toBe("active");
    for (const u of ["multi-user", "web", "stray"]) expect(s.state(u)).toBe("inactive");
    const answer = s.of("job-finished").find((e) => e.requestId === 9)!;
    expect([answer.job, answer.result]).toEqual(["isolate", "done"]);
  });

  test("a unit without allow_isolate is refused and nothing changes", () => {
    const s = EngineSim.from(system());
    up(s, "multi-user");
    s.request("isolate", "plain", 9);
    const answer = s.of("job-finished").find((e) => e.requestId === 9)!;
    expect([answer.result, answer.reason]).toEqual(["failed", "plain may not be isolated: it has no allow_isolate = true"]);
    expect(s.state("web")).toBe("active");
    expect(s.state("shell")).toBe("inactive");
  });
});
