// Real daemons as units under `hearth run`, checked for what their user sees (an SSH
// login, a bus that answers, a service that is ready) and, through the harness, for the
// manager staying sound: no internal error, nothing of theirs left once it exits.
// The daemons and why each is here: test/peers/README.md.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PEERS } from "../support/harness.ts";
import { describeProc, pidsRunning as pidsOf } from "../support/procs.ts";
import { Session } from "../support/session.ts";
import { exchange, freePort, runClient } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());
const NOTIFY = join(PEERS, "notify-libsystemd");
const SSHD = "/usr/sbin/sshd";

/** The instances of an accept = true unit that `hearth ctl list` shows. */
async function instances(template: string): Promise<{ name: string; active: string }[]> {
  const list = await session.m.ctlJson<{ units: { name: string; active: string; instanceOf?: string }[] }>("list");
  return list.units.filter((u) => u.instanceOf === template);
}

describe("dropbear -i: accept = true, the connection on stdin/stdout", () => {
  test("an SSH client gets the banner and the host key; each connection's instance ends with it", async () => {
    const dir = session.scratch("dropbear");
    const key = join(dir, "host_key");
    const made = await runClient(["/usr/bin/dropbearkey", "-t", "ed25519", "-f", key]);
    expect(made.code).toBe(0);
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(made.out)![0];
    const port = await freePort();
    const m = await session.start({
      "dropbear@": `
[service]
exec_start = ["/usr/sbin/dropbear", "-i", "-r", "${key}", "-s", "-g"]
standard_input = "socket"

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
`,
    });
    const banner = await exchange({ host: "127.0.0.1", port }, "", { expected: 8 });
    expect(banner.answer).toStartWith("SSH-2.0-dropbear");
    const client = await runClient(["/usr/bin/dbclient", "-y", "-p", String(port), "-i", key, "nobody@127.0.0.1", "true"], { HOME: dir });
    expect(client.out).toContain(fingerprint);
    expect(client.out).toContain("No auth methods could be used");
    await session.until("every instance to end", async () => (await instances("dropbear")).length === 0);
    expect(await m.unit("dropbear")).toMatchObject({ active: "active", accepted: 2, connected: 0 });
  });
});

describe.skipIf(!existsSync(SSHD))("sshd -i: Debian's ssh@.service as a unit", () => {
  async function sshd() {
    const dir = session.scratch("sshd");
    const hostKey = join(dir, "host_key");
    const userKey = join(dir, "user_key");
    expect((await runClient(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey])).code).toBe(0);
    expect((await runClient(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", userKey])).code).toBe(0);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(`${userKey}.pub`));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "sshd_config"), [
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "UsePAM no",
      "",
    ].join("\n"));
    const port = await freePort();
    // What Debian's ssh@.service runs: "-" because sshd -i exits 255 when the client
    // leaves before logging in. sshd needs its privilege separation directory.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const m = await session.start({
      "ssh@": `
[service]
exec_start = ["-${SSHD}", "-i", "-f", "${join(dir, "sshd_config")}", "-E", "${join(dir, "sshd.log")}"]
standard_input = "socket"

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
`,
    });
    const ssh = (...command: string[]) => runClient(["/usr/bin/ssh", "-p", String(port), "-i", userKey, "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=no", "-o", `UserKnownHostsFile=${join(dir, "known_hosts")}`, "root@127.0.0.1", ...command]);
    return { m, port, dir, ssh };
  }

  test("a login runs a command and prints what it printed; the instance ends with the connection", async () => {
    const { m, ssh } = await sshd();
    const r = await ssh("echo", "hello from sshd");
    expect(r.out).toContain("hello from sshd");
    expect(r.code).toBe(0);
    await session.until("the instance to end", async () => (await instances("ssh")).length === 0);
    expect(await m.unit("ssh")).toMatchObject({ active: "active", accepted: 1, connected: 0 });
  });

  test("a client that leaves before logging in (sshd exits 255, ignored by \"-\") is no failure: no warning, no failed instance", async () => {
    const { m, port } = await sshd();
    const scan = await runClient(["/usr/bin/ssh-keyscan", "-p", String(port), "-t", "ed25519", "127.0.0.1"]);
    expect(scan.out).toMatch(/127\.0\.0\.1\]:\d+ ssh-ed25519 AAAA/);
    await session.until("the instance to end", async () => (await instances("ssh")).length === 0);
    // Nothing to warn about: the exit status is ignored, as Debian's "-" asks.
    expect(m.output.filter((l) => /(warning|err|FAILED).*ssh@\d+/.test(l) && !/internal error/.test(l))).toEqual([]);
    expect((await m.unit("ssh")).active).toBe("active");
  });

  test("what a session left running in the background is stopped with its connection's instance", async () => {
    const { ssh } = await sshd();
    const r = await ssh("sleep 304 </dev/null >/dev/null 2>&1 & echo started");
    expect(r.out).toContain("started");
    await session.until("the instance to end", async () => (await instances("ssh")).length === 0);
    // systemd stops what is left in the cgroup once the main process is gone.
    await session.until("the background sleep to be stopped", async () => pidsOf("sleep 304").length === 0, 5000)
      .catch((e) => { throw new Error(`${e.message}\nstill running: ${pidsOf("sleep 304").map(describeProc).join(", ")}`); });
  });
});

describe("libsystemd notify with user = nobody", () => {
  test("is ready, runs as nobody in /, and stops cleanly", async () => {
    const m = await session.start({
      ready: `
[unit]
wanted_by = ["multi-user"]
[service]
type = "notify"
user = "nobody"
exec_start = ["${NOTIFY}"]
`,
    });
    const u = await m.waitForState("ready", "active");
    expect(u.statusText).toBe("serving");
    expect(readFileSync(`/proc/${u.mainPid}/status`, "utf8")).toMatch(/^Uid:\s+65534\s/m);
    expect(readlinkSync(`/proc/${u.mainPid}/cwd`)).toBe("/"); // systemd's default, not the user's home
    expect((await m.ctl("stop", "ready")).code).toBe(0);
    expect((await m.unit("ready")).active).toBe("inactive");
    expect(await session.logs("ready")).toContain("sent: READY=1");
  });

  test("with a relative run directory (hearth run -r rt) a notify service is still ready", async () => {
    const m = await session.start({
      ready: `
[unit]
wanted_by = ["multi-user"]
[service]
type = "notify"
exec_start = ["${NOTIFY}"]
timeout_start_sec = 20
`,
    }, { relativeRunDir: true });
    expect((await m.waitForState("ready", "active")).statusText).toBe("serving");
  });
});

describe("a forking daemon without a pid file: dbus-daemon --fork", () => {
  test("its main pid is the daemon; the bus answers; when it dies the unit says so, and restart brings it back", async () => {
    const dir = session.scratch("dbus");
    const socket = join(dir, "bus.sk");
    const m = await session.start({
      bus: `
[service]
type = "forking"
exec_start = ["/usr/bin/dbus-daemon", "--session", "--fork", "--nopidfile", "--address=unix:path=${socket}"]
`,
    });
    expect((await m.ctl("start", "bus")).code).toBe(0);
    const getId = () => runClient(["/usr/bin/dbus-send", `--bus=unix:path=${socket}`, "--dest=org.freedesktop.DBus", "--print-reply",
      "/org/freedesktop/DBus", "org.freedesktop.DBus.GetId"]);
    const id = await getId();
    expect(id.out).toMatch(/string "[0-9a-f]{32}"/);
    const daemons = pidsOf(`/usr/bin/dbus-daemon --session --fork --nopidfile --address=unix:path=${socket}`);
    expect(daemons.length).toBe(1);
    const up = await m.unit("bus");
    expect(up).toMatchObject({ active: "active", mainPid: daemons[0] });
    expect((await m.ctl("status", "bus")).stdout).toContain(`Main PID: ${daemons[0]}`);

    process.kill(daemons[0]!, "SIGKILL");
    const down = await session.until("the unit to notice the daemon died", async () => {
      const u = await m.unit("bus");
      return u.active !== "active" && u;
    });
    expect(down.active).toBe("failed");
    expect((await m.ctl("restart", "bus")).code).toBe(0);
    const again = await m.waitForState("bus", "active");
    expect(again.mainPid).not.toBe(daemons[0]);
    expect((await getId()).out).toMatch(/string "[0-9a-f]{32}"/);
  });
});
