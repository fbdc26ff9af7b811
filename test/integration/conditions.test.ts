// Conditions and asserts under `hearth run` with real files: a unit whose condition does
// not hold is skipped (inactive, its status names the entry) while the rest comes up; an
// assert that does not hold fails the start with the entry; checks happen at the start.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
let flagDir: string;

const unit = (unitLines: string[]) => [
  "[unit]", 'wanted_by = ["multi-user"]', ...unitLines, "[service]", 'exec_start = ["/bin/sh", "-c", "exec sleep 300"]',
].join("\n");

beforeAll(async () => {
  flagDir = tempDir("flags");
  writeFileSync(join(flagDir, "conf"), "x");
  symlinkSync(join(flagDir, "conf"), join(flagDir, "link"));
  mkdirSync(join(flagDir, "d"));
  writeFileSync(join(flagDir, "d", "entry"), "");
  writeFileSync(join(flagDir, "alive"), "");
  conf = writeConf({
    // Every kind of check read from this machine, each written to hold on any Linux test host.
    "every-check": unit([
      `condition_path_exists = ["${join(flagDir, "conf")}"]`,
      `condition_path_exists_glob = ["${flagDir}/c*f"]`,
      `condition_path_is_directory = ["${flagDir}"]`,
      `condition_path_is_symbolic_link = ["${join(flagDir, "link")}", "!${join(flagDir, "conf")}"]`,
      'condition_path_is_mount_point = ["/"]',
      `condition_path_is_read_write = ["${flagDir}"]`,
      `condition_directory_not_empty = ["${join(flagDir, "d")}"]`,
      `condition_file_not_empty = ["${join(flagDir, "conf")}"]`,
      'condition_file_is_executable = ["/bin/sh"]',
      'condition_kernel_command_line = ["!hearth.no-such-word"]',
      'condition_kernel_version = [">= 3.0"]',
      'condition_architecture = ["native"]',
      'condition_host = ["*"]',
      'condition_environment = ["PATH"]',
      'condition_capability = ["CAP_CHOWN"]',
      'condition_memory = [">= 1M"]',
      'condition_cpus = [">= 1"]',
    ]),
    "wrong-arch": unit(['condition_architecture = ["!native"]']),
    plain: unit([]),
    skipped: unit(['condition_path_exists = ["/nonexistent"]']),
    asserted: unit(['assert_path_exists = ["/nonexistent"]']),
    triggered: unit(['condition_path_exists = ["|/a", "|/tmp"]']),
    later: unit([`condition_path_exists = ["${join(flagDir, "ready")}"]`]),
    // Runs while its flag is there, then fails: restart = always meets a condition that no longer holds.
    "while-flag": [
      "[unit]", 'wanted_by = ["multi-user"]', `condition_path_exists = ["${join(flagDir, "alive")}"]`, "[service]",
      `exec_start = ["/bin/sh", "-c", "while [ -e ${join(flagDir, "alive")} ]; do sleep 0.1; done; exit 3"]`,
      'restart = "always"', "restart_sec = 0.2",
    ].join("\n"),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/, 15_000);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, flagDir);
});

describe("conditions and asserts under hearth run", () => {
  test("a unit whose condition does not hold is skipped: inactive, not failed, and status says which condition", async () => {
    const u = await m.unit("skipped");
    expect([u.active, u.result, u.mainPid]).toEqual(["inactive", "success", null]);
    expect(u.unmet).toMatchObject({ assert: false, text: "condition_path_exists=/nonexistent" });
    const status = await m.ctl("status", "skipped");
    expect(status.stdout).toMatch(/Condition: start condition unmet at .*\n\s+condition_path_exists=\/nonexistent/);
    expect(m.text()).not.toMatch(/Failed to start skipped/);
  });

  test("checks read from the running system: a unit whose every kind of check holds runs, one on the wrong architecture is skipped", async () => {
    const u = await m.unit("every-check");
    expect([u.active, u.unmet ?? null]).toEqual(["active", null]);
    expect((await m.unit("wrong-arch")).unmet).toMatchObject({ assert: false, text: "condition_architecture=!native" });
  });

  test("the rest comes up: a plain unit and one whose triggering condition holds", async () => {
    expect((await m.unit("plain")).active).toBe("active");
    expect((await m.unit("triggered")).active).toBe("active");
  });

  test("a unit whose assert does not hold fails its start with the reason", async () => {
    expect(m.text()).toMatch(/Failed to start asserted: assertion failed: assert_path_exists=\/nonexistent/);
    const u = await m.unit("asserted");
    expect(u.active).toBe("inactive");
    expect(u.unmet).toMatchObject({ assert: true, text: "assert_path_exists=/nonexistent" });
    const start = await m.ctl("start", "asserted");
    expect(start.code).not.toBe(0);
    expect(`${start.stdout}${start.stderr}`).toContain("assert_path_exists=/nonexistent");
  });

  test("conditions are checked at each start, not at load: the file made later lets a start by hand run", async () => {
    expect((await m.unit("later")).active).toBe("inactive");
    expect((await m.ctl("start", "later")).code).toBe(0); // skipped again: the job still succeeds
    expect((await m.unit("later")).active).toBe("inactive");
    writeFileSync(join(flagDir, "ready"), "");
    expect((await m.ctl("start", "later")).code).toBe(0);
    const u = await m.waitForState("later", "active");
    expect(u.unmet ?? null).toBeNull();
  });

  test("an automatic restart checks the conditions again: once they no longer hold the unit stays down, inactive, and status says why", async () => {
    expect((await m.unit("while-flag")).active).toBe("active");
    rmSync(join(flagDir, "alive"));
    await m.waitForOutput(/while-flag.*no automatic restart|no automatic restart.*while-flag/);
    const u = await m.waitForState("while-flag", "inactive");
    expect([u.result, u.mainPid, u.nRestarts]).toEqual(["exit-code", null, 0]);
    expect(u.unmet).toMatchObject({ assert: false, text: `condition_path_exists=${join(flagDir, "alive")}` });
    expect((await m.ctl("status", "while-flag")).stdout).toMatch(/Condition: start condition unmet at /);
    expect(m.text()).not.toMatch(/Failed to start while-flag/);
  });
});
