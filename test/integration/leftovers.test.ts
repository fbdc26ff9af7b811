// What a unit leaves behind goes with it: an accept = true instance that forked, the old
// run of a restarted service, and — without cgroups — a stop that cannot reach processes
// that left the unit's process group says so instead of claiming a clean stop.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { exchange } from "../support/clients.ts";
import { cleanup, RunningManager, startManager, tempDir, writeConf } from "../support/harness.ts";
import { Session } from "../support/session.ts";

const session = new Session();
afterEach(() => session.end());

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "latin1").includes(") Z ");
  } catch {
    return false;
  }
}

function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
}

/** The run's cgroup subtree, from the manager's own line (null without cgroups). */
function cgroupDir(m: RunningManager): string | null {
  const line = m.output.find((l) => l.includes("Tracking services in cgroups under "));
  return line ? line.slice(line.indexOf(" under ") + 7).trim() : null;
}

function internalErrors(m: RunningManager): string[] {
  return m.output.filter((l) => l.includes("internal error"));
}

describe("an accept = true instance that forked and ended", () => {
  test("its leftover is killed and its cgroup removed; no internal error; nothing left after the manager", async () => {
    const work = session.scratch("inst");
    const sock = join(work, "echo.sk");
    const m = await session.start({
      "echo@": `
[service]
standard_input = "socket"
exec_start = ["sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> ${work}/left.pid; echo hello"]

[[socket]]
listen_stream = "${sock}"
accept = true
`,
    });
    await m.waitForOutput(/Startup finished/);
    const reply = await exchange({ path: sock }, "", { expected: 6 });
    expect(reply.answer).toBe("hello\n");
    const left = await session.until("the leftover's pid", async () => pidsIn(join(work, "left.pid"))[0]);
    await session.until("the instance gone", async () => (await m.unit("echo")).connected === 0);
    await session.until("the leftover killed", async () => !alive(left));
    const dir = cgroupDir(m);
    // The instance is echo@0-PID-UID (systemd's name for a unix socket's connection).
    if (dir) await session.until("the instance's cgroup removed", async () => !readdirSync(dir).some((d) => d.startsWith("echo@")));
    expect(internalErrors(m)).toEqual([]);
    await m.stop();
    expect(alive(left)).toBe(false);
    if (dir) expect(existsSync(dir)).toBe(false);
  });
});

describe("restart", () => {
  test("the old run's leftover that ignores SIGTERM is gone before the new run", async () => {
    const work = session.scratch("restart");
    const m = await session.start({
      web: `
[service]
# A child in the unit's process group that ignores SIGTERM (ignored signals survive exec).
exec_start = ["sh", "-c", "sh -c 'trap \\"\\" TERM; echo $$$$ >> ${work}/child.pid; exec sleep 1000' & exec sleep 1000"]
timeout_stop_sec = 30
`,
    });
    await m.waitForOutput(/Startup finished/);
    expect((await m.ctl("start", "web")).code).toBe(0);
    const [old] = await session.until("the first child", async () => pidsIn(join(work, "child.pid")).length === 1 && pidsIn(join(work, "child.pid")));
    expect((await m.ctl("restart", "web")).code).toBe(0);
    const pids = await session.until("the second child", async () => pidsIn(join(work, "child.pid")).length === 2 && pidsIn(join(work, "child.pid")));
    await session.until("the old child killed", async () => !alive(old!));
    expect(alive(pids[1]!)).toBe(true);
    expect(internalErrors(m)).toEqual([]);
  });
});

describe("without cgroups", () => {
  test("a stop that processes in sessions of their own survive says so, naming them", async () => {
    const work = tempDir("nocg");
    const conf = writeConf({
      escaper: `
[service]
exec_start = ["sh", "-c", "setsid sleep 1001 & echo $! >> ${work}/escaped.pid; setsid sleep 1002 & echo $! >> ${work}/escaped.pid; exec sleep 1000"]
`,
    });
    // A mount namespace without the cgroup2 hierarchy: the manager falls back to process groups.
    const script = "umount -l /sys/fs/cgroup/unified 2>/dev/null; umount -l /sys/fs/cgroup 2>/dev/null; exec \"$@\"";
    const m = await startManager(conf, [], { wrapper: ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] });
    let escaped: number[] = [];
    try {
      await m.waitForOutput(/Startup finished/);
      expect(m.output.some((l) => l.includes("tracking services by process group"))).toBe(true);
      expect((await m.ctl("start", "escaper")).code).toBe(0);
      const end = Date.now() + 10_000;
      while (pidsIn(join(work, "escaped.pid")).length < 2 && Date.now() < end) await Bun.sleep(20);
      escaped = pidsIn(join(work, "escaped.pid"));
      expect(escaped.length).toBe(2);
      await m.ctl("stop", "escaper");
      const warning = await m.waitForOutput(/survived its stop/);
      for (const pid of escaped) expect(warning).toContain(`${pid} (sleep)`);
      expect(internalErrors(m)).toEqual([]);
    } finally {
      for (const pid of escaped) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
      await m.stop();
      cleanup(m, conf, work);
    }
  });
});

