// success_action / failure_action (systemd's SuccessAction= / FailureAction=), on_failure and
// requisite in the engine: what a unit's end asks for, and what a start needs running.
import { describe, expect, test } from "bun:test";
import { EngineSim } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const actions = (s: EngineSim) => s.of("emergency-action").map((e) => `${e.unit} ${e.reason} ${e.action}`);

describe("success_action and failure_action", () => {
  test("a oneshot that finishes asks for its success_action (systemd-poweroff.service)", () => {
    const s = EngineSim.from([service("poweroff", { type: "oneshot" }, { success_action: "poweroff-force", failure_action: "reboot" })]);
    s.start("poweroff");
    expect(actions(s)).toEqual([]);
    s.exit("poweroff", { kind: "exited", code: 0 });
    expect(s.state("poweroff")).toBe("inactive");
    expect(actions(s)).toEqual(["poweroff success poweroff-force"]);
  });

  test("a service that fails asks for its failure_action, not its success_action; reset-failed asks for nothing", () => {
    const s = EngineSim.from([service("d", {}, { success_action: "exit", failure_action: "reboot" })]);
    s.start("d");
    expect(s.state("d")).toBe("active");
    s.exit("d", { kind: "exited", code: 3 });
    expect(s.state("d")).toBe("failed");
    s.send({ type: "reset-failed", unit: "d" });
    expect(s.state("d")).toBe("inactive");
    expect(actions(s)).toEqual(["d failure reboot"]);
  });

  test("a service stopped by hand went inactive: its success_action applies, as in systemd", () => {
    const s = EngineSim.from([service("d", {}, { success_action: "reboot" })]);
    s.start("d");
    s.stop("d");
    s.exit("d", { kind: "killed", signal: 15, coreDumped: false });
    expect(actions(s)).toEqual(["d success reboot"]);
  });

  test("without the keys nothing is asked for", () => {
    const s = EngineSim.from([service("d", { type: "oneshot" })]);
    s.start("d");
    s.exit("d", { kind: "exited", code: 1 });
    expect(s.state("d")).toBe("failed");
    expect(actions(s)).toEqual([]);
  });
});
