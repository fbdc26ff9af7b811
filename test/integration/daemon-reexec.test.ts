// hearth ctl daemon-reexec under `hearth run`, with real processes: the manager execs its
// binary again and takes over its own state (src/engine/serialize.ts, src/manager/reexec.ts):
// the same manager pid, the same service pids, a notify service's watchdog and fd store still kept, an
// accept = true socket still accepting and its live connection still answered, the logs
// from before still there; a state it cannot read is a fresh start, never a crash.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { freePort } from "../support/clients.ts";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

const PYTHON = "/usr/bin/python3";

let m: RunningManager | null = null;
let conf = "";
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  if (m?.running) await m.stop();
  cleanup(m, conf);
  m = null;
});

// READY=1, a pipe kept in the fd store as "memo", then a watchdog ping every 300 ms while the file "ping" is there, each counted
// in "pings": a 2 s watchdog is kept as long as they reach the manager.
const NOTIFY_PY = `import os, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
path = os.environ["NOTIFY_SOCKET"]
here = sys.argv[1]
def send(m):
    try: s.sendto(m, path)
    except OSError: pass
send(b"READY=1")
r, w = os.pipe()
s.sendmsg([b"FDSTORE=1\\nFDNAME=memo"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))], 0, path)
n = 0
while True:
    time.sleep(0.3)
    if not os.path.exists(os.path.join(here, "ping")): continue
    send(b"WATCHDOG=1")
    n += 1
    with open(os.path.join(here, "pings.tmp"), "w") as f: f.write(str(n))
    os.rename(os.path.join(here, "pings.tmp"), os.path.join(here, "pings"))
`;
// One connection on fd 3: every line is answered.
const ECHO_PY = `import socket
c = socket.socket(fileno=3)
while True:
    d = c.recv(4096)
    if not d: break
    c.sendall(b"echo " + d)
`;

function units(port: number, scripts: string): Record<string, string> {
  return {
    plain: `[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["/bin/sh", "-c", "echo plain before the re-exec; exec sleep 1000"]
`,
    pinger: `[unit]
wanted_by = ["multi-user"]
[service]
type = "notify"
watchdog_sec = "2s"
fd_store_max = 4
exec_start = ["${PYTHON}", "${join(scripts, "notify.py")}", "${scripts}"]
`,
    "echo@": `[service]
exec_start = ["${PYTHON}", "${join(scripts, "echo.py")}"]
[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
[unit]
wanted_by = ["multi-user"]
`,
    "hourly.timer": ['[unit]', 'wanted_by = ["multi-user"]', "[timer]", 'on_active_sec = "1h"', 'unit = "plain"'].join("\n"),
  };
}

async function ask(socket: Socket, line: string): Promise<string> {
  const got = new Promise<string>((resolve) => socket.once("data", (d) => resolve(d.toString())));
  socket.write(line);
  return got;
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  clients.push(socket);
  await new Promise((resolve) => socket.on("connect", resolve));
  return socket;
}

describe("hearth ctl daemon-reexec", () => {
  test("the manager execs itself again and keeps every service, pid, socket, connection and log line", async () => {
    const port = await freePort();
    const scripts = tempDir("reexec-scripts");
    writeFileSync(join(scripts, "notify.py"), NOTIFY_PY);
    writeFileSync(join(scripts, "echo.py"), ECHO_PY);
    writeFileSync(join(scripts, "ping"), "");
    conf = writeConf(units(port, scripts));
    m = await startManager(conf);
    const running = m;
    const plain = await m.waitForState("plain", "active");
    const pinger = await m.waitForState("pinger", "active");
    await m.waitForState("echo", "active");
    const timerBefore = await m.unit("hourly.timer");
    const live = await client(port);
    expect(await ask(live, "one\n")).toBe("echo one\n");
    const instances = async () => (await running.ctlJson<{ units: { name: string; active: string; mainPid: number | null; instanceOf?: string }[] }>("list")).units.filter((u) => u.instanceOf === "echo");
    const [instance] = await instances();
    expect(instance).toMatchObject({ active: "active" });
    await poll("the pinger's fd in the store", async () => (await running.unit("pinger")).storedFds?.includes("memo"));
    await poll("the plain service's line in its log", async () => (await running.ctl("logs", "plain")).stdout.includes("plain before the re-exec"));

    const reply = await m.ctl("daemon-reexec");
    expect(reply.code).toBe(0);
    await m.waitForOutput(/Re-executed: \d+ units taken over/);

    expect(m.running).toBe(true); // the same process: the harness still holds its pid
    expect((await m.unit("plain")).mainPid).toBe(plain.mainPid);
    expect(await m.unit("pinger")).toMatchObject({ active: "active", mainPid: pinger.mainPid, storedFds: ["memo"] });
    expect(await instances()).toMatchObject([{ name: instance!.name, active: "active", mainPid: instance!.mainPid }]);
    expect(await m.unit("hourly.timer")).toMatchObject({ active: timerBefore.active, sub: timerBefore.sub });
    expect((await m.ctl("logs", "plain")).stdout).toContain("plain before the re-exec");

    expect(await ask(live, "two\n")).toBe("echo two\n"); // the connection accepted before, answered after
    const fresh = await client(port);
    expect(await ask(fresh, "three\n")).toBe("echo three\n"); // the listening socket kept accepting
    // The watchdog is still kept: pings for longer than its timeout reach the new manager, and the service runs on…
    const pings = () => {
      try {
        return Number(readFileSync(join(scripts, "pings"), "utf8"));
      } catch {
        return 0; // none yet
      }
    };
    const after = pings();
    await poll("pings for longer than the watchdog's 2 s", () => pings() >= after + 10, { timeoutMs: 20_000 });
    expect(await m.unit("pinger")).toMatchObject({ active: "active", mainPid: pinger.mainPid });
    // Again, from the re-executed process: the same once more.
    expect((await m.ctl("daemon-reexec")).code).toBe(0);
    await poll("the second re-exec", () => running.output.filter((l) => /Re-executed: \d+ units taken over/.test(l)).length === 2);
    expect(await m.unit("pinger")).toMatchObject({ mainPid: pinger.mainPid, storedFds: ["memo"] });
    expect(await ask(live, "four\n")).toBe("echo four\n");

    // …and honoured: once the pings stop, the new manager ends it for the watchdog.
    rmSync(join(scripts, "ping"));
    await poll("the watchdog to end the silent service", async () => (await running.unit("pinger")).result === "watchdog", { timeoutMs: 20_000 });

    expect((await m.ctl("stop", "plain")).code).toBe(0); // stopped by the manager that did not start it
    expect(await m.unit("plain")).toMatchObject({ active: "inactive" });
    await poll("its process to be gone", () => !m!.children().some((c) => c.pid === plain.mainPid));
  }, 60_000);

  test("a sandboxed unit keeps its namespaces and private /tmp: a later process joins them, and the stop removes the /tmp", async () => {
    const scripts = mkdtempSync("/run/hearth-reexec-sandbox-"); // not below /tmp, which private_tmp replaces
    conf = writeConf({
      "sandboxed-reexec": `[unit]
wanted_by = ["multi-user"]
[service]
private_tmp = true
private_network = true
exec_start = ["/bin/sh", "-c", "echo made before > /tmp/marker; exec sleep 1000"]
exec_reload = [["/bin/sh", "-c", "cat /tmp/marker > ${scripts}/reload; readlink /proc/self/ns/net /proc/self/ns/mnt >> ${scripts}/reload"]]
`,
    });
    const privateTmps = () => readdirSync("/tmp").filter((f) => f.startsWith("hearth-private-sandboxed-reexec-"));
    const leftOver = new Set(privateTmps()); // by an earlier run that was killed
    const ours = () => privateTmps().filter((f) => !leftOver.has(f));
    m = await startManager(conf);
    const before = await m.waitForState("sandboxed-reexec", "active");
    const ns = (type: string) => readlinkSync(`/proc/${before.mainPid}/ns/${type}`);
    expect(ours().length).toBe(1);
    expect((await m.ctl("daemon-reexec")).code).toBe(0);
    await m.waitForOutput(/Re-executed: \d+ units taken over/);
    expect((await m.ctl("reload", "sandboxed-reexec")).code).toBe(0);
    await poll("the reload's report", () => existsSync(join(scripts, "reload")) && readFileSync(join(scripts, "reload"), "utf8").split("\n").length >= 3);
    expect(readFileSync(join(scripts, "reload"), "utf8").trim().split("\n")).toEqual(["made before", ns("net"), ns("mnt")]);
    expect((await m.ctl("stop", "sandboxed-reexec")).code).toBe(0);
    expect(ours()).toEqual([]); // removed by the manager that did not make it
    rmSync(scripts, { recursive: true, force: true });
  });

  test("a state the manager cannot read: it starts afresh and says why", async () => {
    conf = writeConf({ plain: units(1, "/nonexistent").plain! });
    const bad = join(tempDir("reexec-state"), "reexec.state");
    writeFileSync(bad, '{"format":"hearth-reexec","version":1,"engine":"{not json');
    m = await startManager(conf, ["--deserialize", bad]);
    await m.waitForOutput(/Re-exec: .*starting afresh, adopting nothing/);
    expect((await m.waitForState("plain", "active")).mainPid).toBeGreaterThan(0);
  });

  test("an engine state of another version: it starts afresh and says why", async () => {
    conf = writeConf({ plain: units(1, "/nonexistent").plain! });
    const other = join(tempDir("reexec-state"), "reexec.state");
    const engine = JSON.stringify({ format: "hearth-engine-state", version: 99, now: 0, engine: {}, activation: {}, triggers: {} });
    writeFileSync(other, JSON.stringify({
      format: "hearth-reexec", version: 1, engine, engineNow: 0, monoMs: 0,
      outputs: { outputs: [], manager: [], sources: [] }, sockets: { listening: [], connections: [], nextConnection: 1 }, fdStore: [],
    }));
    m = await startManager(conf, ["--deserialize", other]);
    await m.waitForOutput(/cannot be read \(the state is of version 99, this hearth reads version \d+\): starting afresh, adopting nothing/);
    expect((await m.waitForState("plain", "active")).mainPid).toBeGreaterThan(0);
  });
});
