// success_action / failure_action with real processes under `hearth run`: in run mode the
// action ends the manager with its status instead of touching the host.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cleanup, poll, startManager, writeConf } from "../support/harness.ts";

async function endsWith(units: Record<string, string>, start: string) {
  const conf = writeConf(units);
  const m = await startManager(conf);
  try {
    await m.ctl("start", start);
    const code = await Promise.race([m.proc.exited, Bun.sleep(15_000).then(() => -1)]);
    return { code, text: m.text() };
  } finally {
    await m.stop();
    cleanup(m, conf);
  }
}

describe("success_action and failure_action", () => {
  test("a oneshot with success_action = \"exit\" ends hearth run with status 0 once it is done", async () => {
    const { code, text } = await endsWith({
      done: `[unit]\nsuccess_action = "exit"\nfailure_action = "reboot"\n[service]\ntype = "oneshot"\nexec_start = ["sh", "-c", "echo job done"]\n`,
    }, "done");
    expect(code).toBe(0);
    expect(text).toMatch(/done: success: success_action=exit; in run mode this ends the manager with status 0/);
    expect(text).not.toMatch(/internal error/i);
  });

  test("a service that fails with failure_action = \"reboot\" ends hearth run with reboot's status 80", async () => {
    const { code, text } = await endsWith({
      broken: `[unit]\nfailure_action = "reboot"\nsuccess_action = "poweroff"\n[service]\nexec_start = ["sh", "-c", "sleep 0.2; exit 4"]\n`,
    }, "broken");
    expect(code).toBe(80);
    expect(text).toMatch(/broken: failure: failure_action=reboot/);
    expect(text).not.toMatch(/success_action/);
  });
});

describe("requisite", () => {
  test("a unit whose requisite is not running fails to start and starts nothing; once it runs, the unit starts", async () => {
    const conf = writeConf({
      server: `[service]\nexec_start = ["sleep", "60"]\n`,
      rotate: `[unit]\nrequisite = ["server"]\nafter = ["server"]\n[service]\ntype = "oneshot"\nremain_after_exit = true\nexec_start = ["sh", "-c", "echo rotated"]\n`,
    });
    const m = await startManager(conf);
    try {
      const refused = await m.ctl("start", "rotate");
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toContain("requisite server is not active");
      expect((await m.unit("server")).active).toBe("inactive");
      expect((await m.unit("rotate")).active).toBe("inactive");
      expect((await m.ctl("start", "server")).code).toBe(0);
      expect((await m.ctl("start", "rotate")).code).toBe(0);
      await m.waitForState("rotate", "active");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});

describe("on_failure", () => {
  test("a service that fails starts its on_failure unit, which runs; a clean exit starts nothing", async () => {
    const flags = mkdtempSync(join(tmpdir(), "hearth-on-failure-"));
    const conf = writeConf({
      scrub: `[unit]\non_failure = ["report"]\n[service]\ntype = "oneshot"\nexec_start = ["sh", "-c", "test -e ${flags}/fail && exit 3; exit 0"]\n`,
      report: `[service]\ntype = "oneshot"\nremain_after_exit = true\nexec_start = ["sh", "-c", "echo reporting the failure"]\n`,
    });
    const m = await startManager(conf);
    try {
      expect((await m.ctl("start", "scrub")).code).toBe(0);
      expect((await m.unit("report")).active).toBe("inactive");
      writeFileSync(join(flags, "fail"), "");
      expect((await m.ctl("start", "scrub")).code).not.toBe(0);
      await m.waitForState("report", "active");
      expect(m.text()).toContain("Triggering on_failure unit report");
      expect((await m.ctl("logs", "report")).stdout).toContain("reporting the failure");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, flags);
    }
  });
});

describe("send_sigkill", () => {
  test("send_sigkill = false: a daemon that ignores SIGTERM is left running when its stop times out; the unit is down", async () => {
    const conf = writeConf({
      db: `[service]\nexec_start = ["sh", "-c", "trap '' TERM; echo $$$$ > \\"$HEARTH_TEST_PIDFILE\\"; while :; do sleep 0.1; done"]\ntimeout_stop_sec = 0.5\nsend_sigkill = false\n`,
    });
    const pidFile = join(mkdtempSync(join(tmpdir(), "hearth-sigkill-")), "pid");
    const m = await startManager(conf, [], { env: { HEARTH_TEST_PIDFILE: pidFile } });
    let pid = 0;
    try {
      expect((await m.ctl("start", "db")).code).toBe(0);
      await poll("the daemon to write its pid", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "");
      pid = Number(readFileSync(pidFile, "utf8").trim());
      await m.ctl("stop", "db");
      await m.waitForState("db", "inactive");
      expect(m.text()).toContain("Skipping SIGKILL");
      expect(() => process.kill(pid, 0)).not.toThrow(); // still there
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      if (pid > 0) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      await m.stop();
      cleanup(m, conf, dirname(pidFile));
    }
  });
});

describe("kill_mode = none", () => {
  test("stopping runs exec_stop only: the daemon is not signalled and keeps running; the unit is down", async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), "hearth-killnone-")), "pid");
    const conf = writeConf({
      mdmon: `[service]\nexec_start = ["sh", "-c", "echo $$$$ > ${pidFile}; exec sleep 60"]\nexec_stop = [["sh", "-c", "echo asked to stop"]]\nkill_mode = "none"\n`,
    });
    const m = await startManager(conf);
    let pid = 0;
    try {
      expect((await m.ctl("start", "mdmon")).code).toBe(0);
      await poll("the daemon to write its pid", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "");
      pid = Number(readFileSync(pidFile, "utf8").trim());
      expect((await m.ctl("stop", "mdmon")).code).toBe(0);
      await m.waitForState("mdmon", "inactive");
      expect(() => process.kill(pid, 0)).not.toThrow();
      expect(m.text()).toContain("kill_mode = none: the processes are left running.");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      if (pid > 0) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      await m.stop();
      cleanup(m, conf, dirname(pidFile));
    }
  });
});

describe("reload_propagated_from", () => {
  test("`hearth ctl reload` of the named unit runs this unit's exec_reload too", async () => {
    const conf = writeConf({
      postgresql: `[service]\ntype = "oneshot"\nremain_after_exit = true\nexec_start = ["true"]\nexec_reload = [["sh", "-c", "echo umbrella reloaded"]]\n`,
      "postgresql@": `[unit]\nreload_propagated_from = ["postgresql"]\n[service]\nexec_start = ["sleep", "60"]\nexec_reload = [["sh", "-c", "echo cluster %i reloaded"]]\n`,
    });
    const m = await startManager(conf);
    try {
      expect((await m.ctl("start", "postgresql")).code).toBe(0);
      expect((await m.ctl("start", "postgresql@15-main")).code).toBe(0);
      expect((await m.ctl("reload", "postgresql")).code).toBe(0);
      await poll("the instance's exec_reload", async () => (await m.ctl("logs", "postgresql@15-main")).stdout.includes("cluster 15-main reloaded"));
      expect((await m.unit("postgresql@15-main")).active).toBe("active");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});

describe("refuse_manual_start", () => {
  test("`hearth ctl start` of it fails with the reason; a unit that requires it starts it", async () => {
    const conf = writeConf({
      "systemd-update-utmp-runlevel": `[unit]\nrefuse_manual_start = true\n[service]\nexec_start = ["sleep", "60"]\n`,
      app: `[unit]\nrequires = ["systemd-update-utmp-runlevel"]\n[service]\nexec_start = ["sleep", "60"]\n`,
    });
    const m = await startManager(conf);
    try {
      const refused = await m.ctl("start", "systemd-update-utmp-runlevel");
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toContain("refuse_manual_start");
      expect((await m.unit("systemd-update-utmp-runlevel")).active).toBe("inactive");
      expect((await m.ctl("start", "app")).code).toBe(0);
      await m.waitForState("systemd-update-utmp-runlevel", "active");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});
