// Many services notifying at once, while an unrelated process sends a forged READY=1
// among them: the manager takes these datagrams many per system call, and each service
// must still get all of its own, in the order it sent them — its last STATUS=, its
// READY=1, the fd it stored under its own name, the MAINPID= it gave before READY=1 —
// while the forger is refused and logged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

const SERVICES = 8;
const work = tempDir("hearth-notify-batch-");
const go = join(work, "go");

// Waits for the go file, then sends 20 STATUS= updates, an fd with FDSTORE=1 under its
// own name, a last STATUS=, READY=1 (with "fork": MAINPID= of a child first).
const daemon = join(work, "daemon.py");
writeFileSync(daemon, `
import os, socket, struct, sys, time
name, mode = sys.argv[1], sys.argv[2]
while not os.path.exists(${JSON.stringify(go)}):
    time.sleep(0.005)
path = os.environ["NOTIFY_SOCKET"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("\\0" + path[1:] if path.startswith("@") else path)
for i in range(1, 21):
    s.send(b"STATUS=%d" % i)
r, w = os.pipe()
s.sendmsg([b"FDSTORE=1\\nFDNAME=" + name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))])
s.send(b"STATUS=last of " + name.encode())
if mode == "fork":
    child = os.fork()
    if child == 0:
        time.sleep(100000)
        os._exit(0)
    s.send(b"MAINPID=%d" % child)
s.send(b"READY=1")
time.sleep(100000)
`);

function service(name: string, mode: "plain" | "fork"): string {
  return `
[service]
type = "notify"
notify_access = "all"
fd_store_max = 4
exec_start = ["/usr/bin/python3", "${daemon}", "${name}", "${mode}"]
timeout_start_sec = 30
`;
}

const names = Array.from({ length: SERVICES }, (_, i) => `n${i + 1}`);
let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf(Object.fromEntries(names.map((n, i) => [n, service(n, i === 0 ? "fork" : "plain")])));
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/, 15_000);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("many services notifying at once", () => {
  test("each gets its own READY=1, last STATUS=, stored fd and MAINPID=; a forger among them is refused", async () => {
    for (const n of names) void m.ctl("start", n);
    await poll("every service waiting for its go", async () => {
      for (const n of names) if ((await m.unit(n)).active !== "activating") return false;
      return true;
    }, { timeoutMs: 20_000 });
    // The forger: not a process of any unit, sending among the services' datagrams.
    const forger = Bun.spawn(["/usr/bin/python3", "-c", `
import os, socket, sys, time
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"READY=1\\nSTATUS=forged", sys.argv[1])
`, join(m.runDir, "notify.sock"), go]);
    writeFileSync(go, "");
    for (const n of names) await m.waitForState(n, "active", 20_000);
    expect(await forger.exited).toBe(0);
    for (const n of names) {
      const u = await m.unit(n);
      expect({ name: n, status: u.statusText, fds: u.storedFds }).toEqual({ name: n, status: `last of ${n}`, fds: [n] });
    }
    // n1 forked before READY=1 and named the child its main process: the child's parent is n1's daemon.
    const mainPid: number = (await m.unit(names[0]!)).mainPid;
    const parent = Number(readFileSync(`/proc/${mainPid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(readFileSync(`/proc/${parent}/cmdline`, "utf8").split("\0")).toContain(daemon);
    await m.waitForOutput(new RegExp(`notification from PID ${forger.pid}\\b.*dropped`));
  });
});
