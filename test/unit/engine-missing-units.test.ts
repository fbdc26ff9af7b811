// Units that name units that are not there (issue 12, item 5), as systemd: ordering against
// them waits for nothing, a want of them is skipped, a conflict with them is nothing; a
// requirement on them fails the start of the requiring unit, with the reason, and nothing else.
import { describe, expect, test } from "bun:test";
import type { Effect } from "../../src/engine/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

type JobFinished = Extract<Effect, { type: "job-finished" }>;

function finished(sim: EngineSim, unit: string): JobFinished[] {
  return sim.of("job-finished").filter((e) => e.unit === unit);
}

describe("a unit naming units that are not there", () => {
  test("after, before, wants, conflicts and wanted_by of missing units: it starts with its target", () => {
    const sim = EngineSim.from([
      target("multi-user"),
      service("chrony", {}, {
        after: ["ghost"], before: ["nowhere"], wants: ["ghost"], conflicts: ["openntpd"],
        wanted_by: ["multi-user", "no-such-target"], required_by: ["absent"],
      }),
    ], null, ["ghost", "nowhere", "openntpd", "no-such-target", "absent"]);
    sim.start("multi-user");
    expect(sim.spawnOrder()).toEqual(["chrony"]);
    expect(sim.state("chrony")).toBe("active");
    expect(sim.state("multi-user")).toBe("active");
    expect(finished(sim, "chrony").map((e) => e.result)).toEqual(["done"]);
    expect(sim.state("ghost")).toBeNull(); // nothing was made up for the missing names
  });

  test("requires a missing unit: its start fails with 'unit X not found', the rest of the target comes up", () => {
    const sim = EngineSim.from([
      target("multi-user"),
      service("web", {}, { wanted_by: ["multi-user"], requires: ["ghost"], after: ["ghost"] }),
      service("cron", {}, { wanted_by: ["multi-user"] }),
    ], null, ["ghost"]);
    sim.start("multi-user");
    expect(sim.spawnOrder()).toEqual(["cron"]);
    expect(finished(sim, "web")).toMatchObject([{ job: "start", result: "dependency", reason: "unit ghost not found" }]);
    expect(sim.state("web")).toBe("inactive"); // as systemd: the unit never ran, so it did not fail
    expect(sim.logs("web", "warning")).toEqual(["Dependency failed: unit ghost not found"]);
    expect(sim.of("console").map((e) => e.text)).toContain("Dependency failed for web: unit ghost not found");
    expect(sim.state("cron")).toBe("active");
    expect(sim.state("multi-user")).toBe("active");
  });

  test("binds_to a missing unit fails the start the same way", () => {
    const sim = EngineSim.from([service("modem", {}, { binds_to: ["dev-ttyUSB0"] })], null, ["dev-ttyUSB0"]);
    sim.start("modem", 7);
    expect(finished(sim, "modem")).toMatchObject([{ result: "dependency", reason: "unit dev-ttyUSB0 not found", requestId: 7 }]);
    expect(sim.spawned).toEqual([]);
  });

  test("the operator's start fails at once, without waiting for what the unit is ordered after", () => {
    const sim = EngineSim.from([
      service("db", { type: "notify" }),
      service("web", {}, { requires: ["db", "ghost"], after: ["db"] }),
    ], null, ["ghost"]);
    sim.start("web", 9);
    expect(sim.state("db")).toBe("activating"); // pulled in by requires, still starting
    expect(finished(sim, "web")).toMatchObject([{ result: "dependency", reason: "unit ghost not found", requestId: 9 }]);
  });

  test("a requirement on a unit whose file has errors says so, not 'not found'", () => {
    const sim = EngineSim.from([service("needs-typo", {}, { requires: ["typo"] })], null, []);
    sim.start("needs-typo");
    expect(finished(sim, "needs-typo")).toMatchObject([{ result: "dependency", reason: "unit typo has errors and is not loaded" }]);
  });

  test("a unit that only wants the failing one still starts", () => {
    const sim = EngineSim.from([
      service("web", {}, { requires: ["ghost"] }),
      service("front", {}, { wants: ["web"], after: ["web"] }),
    ], null, ["ghost"]);
    sim.start("front");
    expect(sim.state("front")).toBe("active");
    expect(sim.state("web")).toBe("inactive");
    expect(sim.spawnOrder()).toEqual(["front"]);
  });
});
