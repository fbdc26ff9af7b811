// Each service type and command list with real processes: oneshot, forking with a pid
// file, exec failures, exec_reload, exec_stop, the execution context, BARRIER=1 and
// EXTEND_TIMEOUT_USEC from a real client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
const work = tempDir("work");

// A python notify client: sends the given datagrams (with a pipe's write end for BARRIER),
// then waits for the manager to close the barrier fd before going on.
const barrierClient = `
import os, socket, select, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
s.send(b"EXTEND_TIMEOUT_USEC=3000000")
r, w = os.pipe()
socket.send_fds(s, [b"BARRIER=1"], [w])
os.close(w)
p = select.poll(); p.register(r, select.POLLHUP)
t0 = time.time(); ok = p.poll(5000)
open(os.environ["OUT"], "w").write("barrier-closed %.3f" % (time.time() - t0) if ok else "barrier-timeout")
time.sleep(1.5)
s.send(b"READY=1")
time.sleep(100000)
`;

beforeAll(async () => {
  // Executable at load (so the unit loads), not any more when it is started.
  writeFileSync(join(work, "not-executable"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(work, "env"), "# comment\nFROM_FILE=yes\nexport QUOTED=\"a b\"\n");
  writeFileSync(join(work, "barrier.py"), barrierClient);
  conf = writeConf({
    once: `
[service]
type = "oneshot"
exec_start = ["sh", "-c", "echo ran >> ${work}/once.out"]
`,
    forker: `
[service]
type = "forking"
pid_file = "${work}/forker.pid"
exec_start = ["sh", "-c", "sleep 100000 & echo $! > ${work}/forker.pid"]
`,
    broken: `
[service]
type = "exec"
exec_start = ["${work}/not-executable"]
`,
    reloader: `
[service]
exec_start = "sleep 100000"
exec_reload = [["sh", "-c", "echo reloaded >> ${work}/reload.out"]]
exec_stop = [["sh", "-c", "echo stopping \${MAINPID} $MAINPID >> ${work}/stop.out"]]
`,
    context: `
[service]
type = "oneshot"
remain_after_exit = true
user = "nobody"
working_directory = "/tmp"
umask = "0027"
environment = { FROM_TOML = "1" }
environment_file = ["${work}/env", "-${work}/missing"]
exec_start = ["sh", "-c", "echo \\"$(id -u) $(pwd) $(umask) $FROM_TOML $FROM_FILE $QUOTED $HOME\\" > /tmp/hearth-context.out"]
`,
    barrier: `
[service]
type = "notify"
timeout_start_sec = 1
environment = { OUT = "${work}/barrier.out" }
exec_start = ["/usr/bin/python3", "${work}/barrier.py"]
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("service types", () => {
  test("oneshot: the start job waits for the exit, and the unit ends inactive", async () => {
    const r = await m.ctl("start", "once");
    expect(r.code).toBe(0);
    expect(readFileSync(join(work, "once.out"), "utf8")).toBe("ran\n");
    expect((await m.unit("once")).active).toBe("inactive");
  });

  test("forking: ready when the parent exits, main pid from the pid file, stop kills it", async () => {
    expect((await m.ctl("start", "forker")).code).toBe(0);
    const u = await m.unit("forker");
    const pid = Number(readFileSync(join(work, "forker.pid"), "utf8"));
    expect(u.mainPid).toBe(pid);
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect((await m.ctl("stop", "forker")).code).toBe(0);
    await poll(`the daemon ${pid} to be gone`, () => !existsSync(`/proc/${pid}`), { timeoutMs: 5000 });
  });

  test("exec: a program that cannot be executed fails the start with the reason", async () => {
    chmodSync(join(work, "not-executable"), 0o644);
    const r = await m.ctl("start", "broken");
    expect(r.code).toBe(1);
    const u = await m.unit("broken");
    expect(u.active).toBe("failed");
    expect(u.result).toBe("exec");
    expect(m.text()).toMatch(/broken.*Permission denied|broken.*EACCES/);
  });

  test("exec_reload runs on reload; exec_stop runs before the kill with $MAINPID", async () => {
    expect((await m.ctl("start", "reloader")).code).toBe(0);
    const pid = (await m.unit("reloader")).mainPid;
    expect((await m.ctl("reload", "reloader")).code).toBe(0);
    expect(readFileSync(join(work, "reload.out"), "utf8")).toBe("reloaded\n");
    expect((await m.ctl("stop", "reloader")).code).toBe(0);
    // Once expanded by hearth in the argv, once by the shell from the environment.
    expect(readFileSync(join(work, "stop.out"), "utf8")).toBe(`stopping ${pid} ${pid}\n`);
  });

  test("execution context: user, working directory, umask, environment and environment files", async () => {
    expect((await m.ctl("start", "context")).code).toBe(0);
    const out = readFileSync("/tmp/hearth-context.out", "utf8").trim();
    expect(out).toBe("65534 /tmp 0027 1 yes a b /nonexistent");
  });

  test("BARRIER=1: the fd is closed at once; EXTEND_TIMEOUT_USEC stretches the start timeout", async () => {
    const r = await m.ctl("start", "barrier");
    expect(readFileSync(join(work, "barrier.out"), "utf8")).toMatch(/^barrier-closed 0\.0/);
    // READY=1 came 1.5 s after start, past timeout_start_sec = 1, inside the 3 s extension.
    expect(r.code).toBe(0);
    expect((await m.unit("barrier")).active).toBe("active");
  });
});
