// A file named like a built-in target extends it: the unit keys added for imported units
// (on_failure, success_action …) are kept, not lost in the merge.
import { expect, test } from "bun:test";
import { buildConfig } from "../../src/config/load.ts";

test("a multi-user.toml with on_failure, requisite, success_action and refuse_manual_start keeps them", () => {
  const text = '[unit]\non_failure = ["rescue"]\nrequisite = ["basic"]\nsuccess_action = "reboot"\nfailure_action = "poweroff"\nrefuse_manual_start = true\n';
  const config = buildConfig({ system: null, diagnostics: [], units: [{ name: "multi-user", file: "units/multi-user.toml", text }] },
    { isExecutable: () => true, exists: () => true });
  expect(config.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(config.units.get("multi-user")!.unit).toMatchObject({
    on_failure: ["rescue"], requisite: ["basic"], success_action: "reboot", failure_action: "poweroff", refuse_manual_start: true,
  });
});
