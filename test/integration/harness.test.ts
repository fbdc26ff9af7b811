// The harness's own invariants (test/support/harness.ts) can fail: each is shown
// catching what it is for. Every other integration test relies on them.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, cleanup, hearthCommand, poll, startManager, tempDir, writeConf } from "../support/harness.ts";
import { describeProc } from "../support/procs.ts";

const FAKE = join(ROOT, "test/fixtures/harness/fake-manager.py");

describe("the harness's invariants", () => {
  test("an internal error, a process that left the session, one that cleared its environment, and an fd leak are all reported, then cleared", async () => {
    const conf = writeConf({});
    const m = await startManager(conf, [], { command: ["/usr/bin/python3", FAKE] });
    const baseline = m.baseline!.fds;
    m.proc.kill("SIGUSR1");
    await poll("the fake to open 100 fds", () => (require("node:fs").readdirSync(`/proc/${m.proc.pid}/fd`) as string[]).length >= baseline + 100);
    const problems = await m.stopCollecting();
    const text = problems.join("\n");
    expect(text).toContain("the manager logged: hearth[");
    expect(text).toContain("internal error performing state-changed for fake@1");
    expect(text).toMatch(/left a process behind: \d+ \(sleep 300\), which carries the manager's HEARTH_TEST_ID/);
    expect(text).toMatch(/left a process behind: \d+ \(sleep 301\), which was the manager's descendant when it was stopped/);
    expect(text).toMatch(/holds \d+ fds at stop, \d+ after start-up \(limit \d+ with 1 processes of its units running\): 10\d × file/);
    // Reported once, and gone: the next test starts clean.
    const pids = [...text.matchAll(/left a process behind: (\d+)/g)].map((hit) => Number(hit[1]));
    expect(pids.length).toBe(2);
    for (const pid of pids) expect(describeProc(pid)).toBe(`${pid} (gone)`);
    expect(m.takeProblems()).toEqual([]);
    cleanup(m, conf);
  });

  // kill_mode = "process" stops only the main process, by design (systemd too leaves the
  // rest in the cgroup): so when the manager exits, the rest is left, and a test that
  // lets this happen must be told, even though the unit did what it says.
  test("a unit with kill_mode = process leaves its child behind: reported, with the cgroup, then killed", async () => {
    const scratch = tempDir("marker");
    const marker = join(scratch, "forked");
    const conf = writeConf({
      leaves: `
[unit]
wanted_by = ["multi-user"]
[service]
kill_mode = "process"
exec_start = ["sh", "-c", "sleep 303 & echo $! > ${marker}; exec sleep 1000"]
`,
    });
    const m = await startManager(conf);
    // The unit is active once spawned; the child it forks is there once the marker is.
    await poll("the unit's child to be forked", () => existsSync(marker));
    const cgroup = m.cgroupDir;
    const problems = (await m.stopCollecting()).join("\n");
    expect(problems).toMatch(/left a process behind: \d+ \(sleep 303\)/);
    // Found three ways: ancestry, the marker every service inherits in run mode, the cgroup.
    expect(problems).toMatch(/sleep 303\), which was the manager's descendant when it was stopped, carries the manager's HEARTH_TEST_ID/);
    if (cgroup !== null) {
      expect(problems).toMatch(/sleep 303\), which .*, is in \/sys\/fs\/cgroup\/\S*hearth-run-\d+/);
      expect(problems).toContain(`left its cgroup behind: ${join(cgroup, "leaves.service")}, ${cgroup}`);
      expect(existsSync(cgroup)).toBe(false);
    }
    cleanup(m, conf, scratch);
  });

  test("a test that starts a manager and never stops it still fails, through the preloaded hooks", async () => {
    const p = Bun.spawn([process.execPath, "test", "--timeout", "30000", "./test/fixtures/harness/forgets-to-stop.ts"], {
      cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, HEARTH_FROM_SOURCE: hearthCommand().length > 1 ? "1" : "" },
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const text = out + err;
    expect(code).toBe(1);
    expect(text).toContain("harness invariants broken");
    expect(text).toMatch(/forgets-to-stop\.ts:\d+: manager \d+: left a process behind: \d+ \(sleep 302\)/);
    expect(text).toContain("(fail) a test that forgets its manager");
  }, 30_000);
});
