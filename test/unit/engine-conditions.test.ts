// Conditions and asserts in the engine: checked when the start reaches the unit (after
// what it is ordered after), a condition that does not hold skips the start, an assert
// fails it; on a virtual clock, the shell's answers played by EngineSim.
import { describe, expect, test } from "bun:test";
import { parseCondition } from "../../src/config/conditions.ts";
import type { Condition, ConditionCheck, UnitConfig } from "../../src/config/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

function withConditions(unit: UnitConfig, ...entries: [ConditionCheck, string, boolean?][]): UnitConfig {
  const conditions = entries.map(([check, text, assert]) => parseCondition(check, assert ?? false, text) as Condition);
  return { ...unit, conditions };
}

const oneshot = { type: "oneshot" as const, remain_after_exit: true };

describe("conditions and asserts in the engine", () => {
  test("a condition that does not hold skips the start: job done, unit inactive, nothing spawned, status says which", () => {
    const sim = new EngineSim(withConditions(service("web"), ["path_exists", "/nonexistent"]));
    sim.now = 5;
    sim.start("web");
    expect(sim.spawned).toEqual([]);
    expect(sim.jobResults("web")).toEqual(["done"]);
    expect(sim.of("job-finished")[0]!.reason).toBe("skipped: start condition unmet: condition_path_exists=/nonexistent");
    expect(sim.state("web")).toBe("inactive");
    expect(sim.engine.snapshot("web")!.unmet).toEqual({ assert: false, text: "condition_path_exists=/nonexistent", at: 5 });
    expect(sim.logs("web", "info")).toEqual(["Condition check resulted in web being skipped: condition_path_exists=/nonexistent"]);
    expect(sim.of("console")).toEqual([]); // no "Started", no failure
  });

  test("an assert that does not hold fails the start with result assert, naming the entry", () => {
    const sim = new EngineSim(withConditions(service("web"), ["path_exists", "/nonexistent", true]));
    sim.start("web");
    expect(sim.spawned).toEqual([]);
    expect(sim.jobResults("web")).toEqual(["assert"]);
    expect(sim.of("job-finished")[0]!.reason).toBe("assertion failed: assert_path_exists=/nonexistent");
    expect(sim.of("console").map((c) => c.text)).toEqual(["Failed to start web: assertion failed: assert_path_exists=/nonexistent"]);
    expect(sim.state("web")).toBe("inactive");
    expect(sim.engine.snapshot("web")!.unmet?.assert).toBe(true);
  });

  test("entries that hold let the start go on; a later start that passes clears the unmet record", () => {
    const sim = new EngineSim(withConditions(service("web"), ["path_exists", "|/a"], ["path_exists", "|/tmp"]));
    sim.start("web");
    expect(sim.spawned).toEqual([]);
    sim.paths.add("/tmp");
    sim.start("web");
    expect(sim.spawnOrder()).toEqual(["web"]);
    expect(sim.state("web")).toBe("active");
    expect(sim.engine.snapshot("web")!.unmet).toBeNull();
  });

  test("the check comes after the units the unit is ordered after, not at the request", () => {
    const sim = new EngineSim(
      service("db", oneshot),
      withConditions(service("web", {}, { after: ["db"] }), ["path_exists", "/run/db.ready"]),
      target("multi-user", { wants: ["db", "web"] }),
    );
    sim.holdConditionChecks = true;
    sim.start("multi-user");
    expect(sim.of("check-conditions")).toEqual([]); // web waits for db's job
    sim.exit("db");
    expect(sim.of("check-conditions").map((e) => e.unit)).toEqual(["web"]);
  });

  test("a unit that requires a skipped one starts all the same; one bound to it, or requiring a failed assert, does not", () => {
    const sim = new EngineSim(
      withConditions(service("opt", oneshot), ["path_exists", "/nonexistent"]),
      withConditions(service("must", oneshot), ["path_exists", "/nonexistent", true]),
      service("a", {}, { requires: ["opt"], after: ["opt"] }),
      service("b", {}, { requires: ["must"], after: ["must"] }),
      service("c", {}, { binds_to: ["opt"], after: ["opt"] }),
    );
    sim.start("a", 1);
    sim.start("b", 2);
    sim.start("c", 3);
    expect(sim.spawnOrder()).toEqual(["a"]);
    expect(sim.state("a")).toBe("active");
    expect(sim.jobResults("b")).toEqual(["dependency"]);
    expect(sim.jobResults("c")).toEqual(["dependency"]); // bound to a unit that is not up
  });

  test("a stop while the check is under way: the late answer starts nothing", () => {
    const sim = new EngineSim(withConditions(service("web"), ["path_exists", "/tmp"]));
    sim.paths.add("/tmp");
    sim.holdConditionChecks = true;
    sim.start("web");
    sim.stop("web");
    expect(sim.jobResults("web")).toEqual(["canceled", "done"]);
    sim.send(sim.heldChecks[0]!);
    expect(sim.spawned).toEqual([]);
    expect(sim.state("web")).toBe("inactive");
  });

  test("an active unit is not checked again by a start", () => {
    const sim = new EngineSim(withConditions(service("web"), ["path_exists", "/tmp"]));
    sim.paths.add("/tmp");
    sim.start("web");
    sim.paths.delete("/tmp");
    sim.start("web", 5);
    expect(sim.of("check-conditions").length).toBe(1);
    expect(sim.state("web")).toBe("active");
  });

  test("a target with a condition that does not hold stays inactive; what it wants still starts", () => {
    const sim = new EngineSim(
      withConditions(target("extra", { wants: ["web"] }), ["virtualization", "container"]),
      service("web"),
    );
    sim.start("extra");
    expect(sim.state("extra")).toBe("inactive");
    expect(sim.spawnOrder()).toEqual(["web"]);
  });

  test("an automatic restart checks the conditions again: one that no longer holds leaves the unit inactive, not restarted", () => {
    const sim = new EngineSim(withConditions(service("web", { restart: "always", restart_sec: 1 }), ["path_exists", "/run/web.ok"]));
    sim.paths.add("/run/web.ok");
    sim.start("web");
    expect(sim.state("web")).toBe("active");
    sim.paths.delete("/run/web.ok");
    sim.exit("web", { kind: "exited", code: 1 });
    expect(sim.sub("web")).toBe("auto-restart");
    sim.advance(1000);
    expect(sim.spawned.length).toBe(1); // not started again
    expect([sim.state("web"), sim.sub("web")]).toEqual(["inactive", "dead"]);
    expect(sim.engine.snapshot("web")!.unmet).toMatchObject({ assert: false, text: "condition_path_exists=/run/web.ok" });
    expect(sim.logs("web", "info")).toContain("Condition check resulted in web being skipped: condition_path_exists=/run/web.ok; no automatic restart");
    expect(sim.rt("web").restartsTotal).toBe(0);
  });

  test("an automatic restart whose conditions hold restarts, counted; a stop during the check wins over its answer", () => {
    const sim = new EngineSim(withConditions(service("web", { restart: "always", restart_sec: 1 }), ["path_exists", "/run/web.ok"]));
    sim.paths.add("/run/web.ok");
    sim.start("web");
    sim.exit("web", { kind: "exited", code: 1 });
    sim.advance(1000);
    expect(sim.spawned.length).toBe(2);
    expect([sim.state("web"), sim.rt("web").restartsTotal]).toEqual(["active", 1]);
    sim.holdConditionChecks = true;
    sim.exit("web", { kind: "exited", code: 1 });
    sim.advance(1000);
    expect(sim.heldChecks.length).toBe(1); // waiting in auto-restart for the answer
    expect(sim.sub("web")).toBe("auto-restart");
    sim.stop("web");
    expect(sim.state("web")).toBe("failed");
    sim.send(sim.heldChecks.shift()!);
    expect(sim.spawned.length).toBe(2);
    expect(sim.state("web")).toBe("failed");
  });

  test("an assert that no longer holds at an automatic restart: not restarted, the reason logged as an error", () => {
    const sim = new EngineSim(withConditions(service("web", { restart: "always", restart_sec: 1 }), ["path_exists", "/run/web.ok", true]));
    sim.paths.add("/run/web.ok");
    sim.start("web");
    sim.paths.delete("/run/web.ok");
    sim.exit("web", { kind: "exited", code: 1 });
    sim.advance(1000);
    expect(sim.spawned.length).toBe(1);
    expect(sim.state("web")).toBe("inactive");
    expect(sim.logs("web", "err")).toContain("Assertion failed: assert_path_exists=/run/web.ok; no automatic restart");
  });

  test("a restart check under way at a re-exec is asked again by the new engine", () => {
    const sim = new EngineSim(withConditions(service("web", { restart: "always", restart_sec: 1 }), ["path_exists", "/run/web.ok"]));
    sim.paths.add("/run/web.ok");
    sim.start("web");
    sim.holdConditionChecks = true;
    sim.exit("web", { kind: "exited", code: 1 });
    sim.advance(1000);
    const state = sim.engine.exportState();
    const again = new EngineSim(withConditions(service("web", { restart: "always", restart_sec: 1 }), ["path_exists", "/run/web.ok"]));
    const effects = again.engine.importState(state, sim.now);
    expect(effects.filter((e) => e.type === "check-conditions").map((e) => e.unit)).toEqual(["web"]);
  });
});
