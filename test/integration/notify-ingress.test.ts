// The notify socket as a daemon and an attacker see it: libsystemd's sd_notify reaches
// it from a service running as another user and through a relative -r, and a flood of
// malformed datagrams leaves the manager's log, memory and fds bounded while a real
// notify service beside it starts and stops.
// Needs root (CI runs as root) for user = "nobody".

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  PEERS, RunningManager, cleanup, openFds, poll, startManager, writeConf,
} from "../support/harness.ts";

const NOTIFY_PEER = join(PEERS, "notify-libsystemd");

function notifyUnit(...lines: string[]): string {
  return `
[service]
type = "notify"
exec_start = ["${NOTIFY_PEER}"]
timeout_start_sec = 10
${lines.join("\n")}
`;
}

/** VmRSS of a process in KiB, from /proc/PID/status. */
function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]);
}

/**
 * Sends `count` datagrams to the socket at `path` from one python3 process, a pid of no
 * unit: mostly malformed (a NUL byte); every tenth carries an fd (a pipe end) the
 * manager must close; every tenth is a well-formed READY=1; one in a hundred is longer
 * than the 4096 bytes the manager reads (truncated). Returns the sender's pid.
 */
async function flood(path: string, count: number): Promise<number> {
  const script = `
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r, w = os.pipe()
for i in range(${count}):
    if i % 100 == 99:
        s.sendto(b"X" * 5000, sys.argv[1])
    elif i % 10 == 5:
        s.sendto(b"READY=1", sys.argv[1])
    elif i % 10 == 9:
        s.sendmsg([b"no equals sign %d" % i], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))], 0, sys.argv[1])
    else:
        s.sendto(b"READY\\x00%d" % i, sys.argv[1])
`;
  const p = Bun.spawn(["/usr/bin/python3", "-c", script, path], { stdout: "inherit", stderr: "inherit" });
  expect(await p.exited).toBe(0);
  return p.pid;
}

let m: RunningManager;
let conf: string;
beforeAll(async () => {
  conf = writeConf({
    // working_directory: nobody's home (/nonexistent) is not what this test is about.
    "as-nobody": notifyUnit('user = "nobody"', 'working_directory = "/"'),
    "c-notify": notifyUnit(),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});
afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("a notify service running as another user", () => {
  test("reaches active through libsystemd's sd_notify (the notify socket is writable by every user)", async () => {
    const started = await m.ctl("start", "as-nobody");
    const { logs } = await m.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "50", "as-nobody");
    const said = logs.map((l) => l.text).filter((t) => /sent/.test(t)); // the peer's "sent: ..." or "not sent (why): ..."
    expect({ code: started.code, said }).toMatchObject({ code: 0 });
    const u = await m.unit("as-nobody");
    expect(u.active).toBe("active");
    expect(said).toContain(`sent: READY=1|STATUS=serving|MAINPID=${u.mainPid}`);
  });
});

describe("a datagram longer than the manager reads", () => {
  test("is refused with a line saying it was truncated, naming the sender", async () => {
    const p = Bun.spawn(["/usr/bin/python3", "-c", `
import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1\\n" + b"X" * 5000, sys.argv[1])
`, join(m.runDir, "notify.sock")]);
    expect(await p.exited).toBe(0);
    await m.waitForOutput(new RegExp(`truncated datagram from PID ${p.pid}\\b.*longer than 4096 bytes.*dropped`));
  });
});

describe("a flood of malformed notify datagrams", () => {
  test("leaves the log, memory and fds of the manager bounded; a notify service beside it starts and stops", async () => {
    const pid = m.proc.pid;
    // A first round warms up what the manager allocates once (JIT, buffers).
    const first = await flood(join(m.runDir, "notify.sock"), 5_000);
    await m.waitForOutput(new RegExp(`PID ${first}\\b`));
    await m.unit("c-notify"); // the manager answers
    const linesBefore = m.output.length;
    const fdsBefore = openFds(pid).length;
    const rssBefore = rssKiB(pid);

    const sender = await flood(join(m.runDir, "notify.sock"), 50_000);
    expect((await m.ctl("start", "c-notify")).code).toBe(0);
    expect((await m.unit("c-notify")).active).toBe("active");
    expect((await m.ctl("stop", "c-notify")).code).toBe(0);
    expect((await m.unit("c-notify")).active).toBe("inactive");

    const about = m.output.slice(linesBefore).filter((l) => l.includes(`PID ${sender}`));
    const rssAfter = rssKiB(pid);
    console.log(`flood of 50000: ${about.length} log lines about the sender; VmRSS ${rssBefore} -> ${rssAfter} KiB; fds ${fdsBefore} -> ${openFds(pid).length}`);
    expect(about.length).toBeGreaterThan(0); // the first ones are still told
    expect(about.length).toBeLessThan(100);
    expect(rssAfter - rssBefore).toBeLessThan(10 * 1024);
    // Back to what it held before (an fd of the stop just done may close a moment later, under load).
    await poll(`the manager's fds back to ${fdsBefore}`, () => openFds(pid).length === fdsBefore, { timeoutMs: 5_000 });
  });
});

describe("hearth run with a relative -r", () => {
  let own: RunningManager | null = null; // a manager of its own, started from another cwd
  const ownConf = writeConf({ "c-notify": notifyUnit() });
  afterAll(async () => {
    await own?.stop();
    cleanup(own, ownConf);
  });

  test("a libsystemd notify service reaches active (NOTIFY_SOCKET is absolute)", async () => {
    own = await startManager(ownConf, [], { relativeRunDir: true });
    const started = await own.ctl("start", "c-notify");
    expect(started.code).toBe(0);
    expect((await own.unit("c-notify")).active).toBe("active");
  });
});

