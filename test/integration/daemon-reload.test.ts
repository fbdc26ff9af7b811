// hearth ctl daemon-reload and SIGHUP under `hearth run`, with real processes: units
// added, removed and changed on disk; the others' pids left alone; a broken file keeps
// the configuration running; a changed socket is made again.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, openFds, poll, ROOT, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { busUnit } from "../support/dbus-bus.ts";

let m: RunningManager | null = null;
let conf = "";
afterEach(async () => {
  if (m?.running) await m.stop();
  cleanup(m, conf);
  m = null;
});

const says = (word: string, wanted = true) => `[unit]
${wanted ? 'wanted_by = ["multi-user"]' : ""}

[service]
exec_start = ["/bin/sh", "-c", "echo says ${word}; exec sleep 1000"]
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const unitFile = (name: string) => join(conf, "units", `${name}.toml`);

describe("hearth ctl daemon-reload", () => {
  test("adds, removes and changes units as the files say, and leaves the others' pids alone", async () => {
    conf = writeConf({ keep: says("keep"), gone: says("gone"), change: says("v1") });
    m = await startManager(conf);
    const running = m;
    const pid = async (name: string) => (await running.waitForState(name, "active")).mainPid as number;
    const [keepPid, gonePid, changePid] = [await pid("keep"), await pid("gone"), await pid("change")];

    writeFileSync(unitFile("fresh"), says("fresh"));
    writeFileSync(unitFile("idle"), says("idle", false));
    writeFileSync(unitFile("change"), says("v2"));
    rmSync(unitFile("gone"));
    const reply = await m.ctl("daemon-reload");
    expect(reply.code).toBe(0);

    expect(await pid("fresh")).toBeGreaterThan(0); // wanted by the active target: started
    expect((await m.unit("idle")).active).toBe("inactive"); // wanted by nothing: only loaded
    await poll("the removed unit's process to end", () => !alive(gonePid), { timeoutMs: 10_000 });
    expect((await m.ctl("status", "gone")).code).toBe(4);
    expect(await pid("keep")).toBe(keepPid);
    const changed = await m.ctl("status", "change");
    expect((await m.unit("change")).mainPid).toBe(changePid);
    expect(changed.stdout).toContain("changed on disk");

    expect((await m.ctl("restart", "change")).code).toBe(0);
    const after = await m.unit("change");
    expect(after.mainPid).not.toBe(changePid);
    expect(after.changedOnDisk).toBeUndefined();
    await poll("the new configuration's output", async () => (await running.ctl("logs", "change")).stdout.includes("says v2"));
    expect(await pid("keep")).toBe(keepPid);
  });

  test("a unit removed by a reload lets go of its log_file (the manager holds it open no longer)", async () => {
    conf = writeConf({ keep: says("keep") });
    const logFile = join(conf, "gone.log");
    writeFileSync(unitFile("gone"), `${says("gone")}log_file = "${logFile}"\n`);
    m = await startManager(conf);
    const running = m;
    const holdsLog = () => openFds(running.proc.pid).some((fd) => fd.endsWith(` -> ${logFile}`));
    await poll("the log file written", () => existsSync(logFile) && readFileSync(logFile, "utf8").includes("says gone"));
    expect(holdsLog()).toBe(true);
    rmSync(unitFile("gone"));
    expect((await m.ctl("daemon-reload")).code).toBe(0);
    expect((await m.ctl("status", "gone")).code).toBe(4);
    await poll("the manager to close the removed unit's log file", () => !holdsLog(), { timeoutMs: 10_000 });
  });

  test("a broken file keeps the configuration running; the reply and the log name FILE:LINE:COL", async () => {
    conf = writeConf({ keep: says("keep") });
    m = await startManager(conf);
    const keepPid = (await m.waitForState("keep", "active")).mainPid;
    writeFileSync(unitFile("fresh"), says("fresh"));
    writeFileSync(unitFile("keep"), `[unit]\nwanted_by = ["multi-user"]\n[service]\nrestart = "sometimes"\nexec_start = "/bin/true"\n`);
    const reply = await m.ctl("daemon-reload");
    expect(reply.code).toBe(1);
    expect(reply.stderr).toContain(`${unitFile("keep")}:4:11: error: restart:`);
    await m.waitForOutput(/Reload refused/);
    expect(m.output.some((l) => l.includes(`${unitFile("keep")}:4:11`))).toBe(true);
    expect((await m.ctl("status", "fresh")).code).toBe(4); // nothing of the new configuration
    expect((await m.unit("keep")).mainPid).toBe(keepPid);
    expect((await m.unit("keep")).changedOnDisk).toBeUndefined();
  });

  test("SIGHUP to the manager reloads", async () => {
    conf = writeConf({ keep: says("keep") });
    m = await startManager(conf);
    const keepPid = (await m.waitForState("keep", "active")).mainPid;
    writeFileSync(unitFile("fresh"), says("fresh"));
    process.kill(m.proc.pid, "SIGHUP");
    await m.waitForState("fresh", "active");
    expect(m.running).toBe(true);
    expect((await m.unit("keep")).mainPid).toBe(keepPid);
  });

  test("a socket whose listen setting changed is made again at the new address", async () => {
    conf = writeConf({});
    const [a, b] = [join(conf, "a.sock"), join(conf, "b.sock")];
    const web = (path: string) => `[service]\nexec_start = ["/bin/sh", "-c", "exec sleep 1000"]\n\n[[socket]]\nlisten_stream = "${path}"\n`;
    writeFileSync(unitFile("web"), web(a));
    m = await startManager(conf);
    await poll("the first socket", () => existsSync(a));
    writeFileSync(unitFile("web"), web(b));
    expect((await m.ctl("daemon-reload")).code).toBe(0);
    await poll("the socket at its new path", () => existsSync(b));
    expect(existsSync(a)).toBe(false);
    const status = await m.ctl("status", "web");
    expect(status.stdout).toContain(b);
    expect(status.stdout).not.toContain(a);
    // The new socket activates the service.
    const client = await Bun.connect({ unix: b, socket: { data() {} } });
    await m.waitForState("web", "active");
    client.end();
  });

  test('a type = "dbus" service added by a reload is ready once its bus name is owned (the name is followed from then on)', async () => {
    conf = writeConf({});
    const { socket, unit } = busUnit(conf);
    writeFileSync(unitFile("bus"), unit);
    m = await startManager(conf, [], { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` } });
    const claim = join(conf, "claim");
    const owner = [process.execPath, join(ROOT, "test/peers/dbus-name-owner.ts"), socket, "org.hearth.Reloaded", claim, join(conf, "release")];
    writeFileSync(unitFile("named"), `[unit]\nwanted_by = ["multi-user"]\n[service]\ntype = "dbus"\nbus_name = "org.hearth.Reloaded"\nexec_start = ${JSON.stringify(owner)}\n`);
    expect((await m.ctl("daemon-reload")).code).toBe(0);
    const running = m;
    await poll("the service on the bus", async () => (await running.ctl("logs", "named")).stdout.includes("connected"));
    writeFileSync(claim, "");
    await m.waitForState("named", "active");
  });
});

describe("timers across a reload", () => {
  test("an unchanged timer keeps its schedule: it fires once, counted from its own start, not from the reload", async () => {
    const out = join(ROOT, "build", `reload-timer-${process.pid}`);
    rmSync(out, { force: true });
    conf = writeConf({
      tick: `[service]\ntype = "oneshot"\nexec_start = ["/bin/sh", "-c", "echo ran >> ${out}"]\n`,
      "tick.timer": `[unit]\nwanted_by = ["multi-user"]\n[timer]\non_active_sec = "4s"\naccuracy_sec = "1ms"\n`,
    });
    m = await startManager(conf);
    const running = m;
    type TimerStatus = { units: { activeAt: number; trigger: { last: number | null } }[] };
    const before = (await running.ctlJson<TimerStatus>("status", "tick.timer")).units[0]!;
    writeFileSync(unitFile("other"), says("other")); // the reload has something to do
    expect((await running.ctl("daemon-reload")).code).toBe(0);
    await poll("the timer to fire", () => existsSync(out), { timeoutMs: 20_000 });
    const after = (await running.ctlJson<TimerStatus>("status", "tick.timer")).units[0]!;
    expect(after.activeAt).toBe(before.activeAt); // the timer was not restarted by the reload
    const elapsedAt = after.trigger.last! - before.activeAt;
    expect(elapsedAt).toBeGreaterThanOrEqual(3990);
    await Bun.sleep(1000);
    expect(readFileSync(out, "utf8")).toBe("ran\n"); // once
    rmSync(out, { force: true });
  });
});
