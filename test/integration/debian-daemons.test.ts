// Debian 12's daemons from their own unit files, unchanged: each test runs `hearth import
// --to CONFDIR` on the files in /lib/systemd/system, prints the dropped directives (and
// asserts exactly which, each one named below with why it does not change what the
// daemon does), runs `hearth check`, then `hearth run` on the result, and checks what a
// user of the daemon sees: an SSH server on port 22, chronyc answering, DNS answers on
// 127.0.0.1:53, avahi on the system bus, cron's syslog lines in `hearth ctl logs cron`.
//
// These are system daemons on system paths (/run/dbus, /run/chrony, ports 22 and 53, the
// host keys in /etc/dropbear): the tests run one after another, each stops its manager
// and removes what its daemon left under /run. Installed by test/setup-deps.sh (apt does
// not start them); skipped when not root or when a package is missing.
//
// Each manager runs in a private mount namespace (the `wrapper` below) in which /dev is
// an overlay of the host's /dev with one more entry, /dev/log -> RUNDIR/log, the
// manager's syslog socket — the layout of a systemd system, where /dev/log is a link to
// /run/systemd/journal/dev-log. (The link goes through /dev/hearth-run, RUNDIR bound
// there: RUNDIR is under /tmp, which PrivateTmp=yes hides from chronyd; /dev it keeps.)
// glibc's syslog(3) only ever opens /dev/log, so this is how
// the daemons, unchanged, reach `hearth run`; nothing outside the namespace sees it (the
// host here has no /dev/log at all). The same namespace lets a test put a file of its own
// over one of the host's /etc files for this manager only (chrony's, below).
//
// `hearth run` is a user manager: a unit's runtime directories go to $XDG_RUNTIME_DIR. It
// is /run for these managers, as for the system manager these units are written for; the
// state, cache, logs and configuration directories go to the test's scratch directory
// (nothing made in /var/lib or /var/log of the host).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exchange, runClient } from "../support/clients.ts";
import { cleanup, hearthCommand, poll, startManager, tempDir, type RunningManager } from "../support/harness.ts";
import { askUdp } from "../support/udp.ts";

const UNITS = "/lib/systemd/system";
const isRoot = process.getuid?.() === 0;
const installed = (...paths: string[]) => isRoot && paths.every((p) => existsSync(p));

/** Whether something on the host already has PORT (TCP listening, or UDP bound): the daemon's port is not free. */
function portTaken(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return ["tcp", "tcp6", "udp", "udp6"].some((table) => {
    const rows = existsSync(`/proc/net/${table}`) ? readFileSync(`/proc/net/${table}`, "utf8").split("\n").slice(1) : [];
    // local address is field 1, state field 3: 0A is LISTEN for TCP; a bound UDP socket is 07
    return rows.some((r) => {
      const f = r.trim().split(/\s+/);
      return f[1]?.endsWith(hex) && (table.startsWith("tcp") ? f[3] === "0A" : true);
    });
  });
}

let manager: RunningManager | null = null;
const dirs: string[] = [];
/** Paths under /run a daemon may leave, removed after its test unless they were there before. */
const leftovers: string[] = [];

afterEach(async () => {
  try {
    await manager?.stop();
  } finally {
    cleanup(manager, ...dirs.splice(0));
    manager = null;
    for (const p of leftovers.splice(0)) rmSync(p, { recursive: true, force: true });
  }
});

/** Paths removed after the test if they do not exist now. */
function removeAfter(...paths: string[]) {
  for (const p of paths) if (!existsSync(p)) leftovers.push(p);
}

function scratch(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
}

async function hearth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([...hearthCommand(), ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/**
 * `hearth import --to CONFDIR` of the unit files as Debian ships them; prints what it
 * dropped and returns the dropped keys. `hearth check` must pass on the result.
 */
async function importUnits(files: string[]): Promise<{ conf: string; dropped: string[] }> {
  const conf = scratch("conf");
  const r = await hearth("import", "--to", conf, ...files.map((f) => join(UNITS, f)));
  console.log(`hearth import ${files.join(" ")}: exit ${r.code}\n${r.stderr.trim() || "(nothing dropped)"}`);
  expect(r.code).toBe(0);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  // Every line it writes is a dropped directive, named with its file and line.
  for (const l of lines) expect(l).toMatch(/^\/lib\/systemd\/system\/[\w@.-]+:\d+: dropped \w+=/);
  const checked = await hearth("check", "-c", conf);
  expect(checked.code).toBe(0);
  expect(checked.stderr + checked.stdout).toMatch(/, 0 errors/);
  return { conf, dropped: lines.map((l) => /dropped (\w+)=/.exec(l)![1]!) };
}

// /dev as the host's, plus /dev/log -> RUNDIR/log; then `mount --bind FILE TARGET` for
// each pair given; then exec the manager (RUNDIR is the argument after its -r).
const NAMESPACE = `set -e
W=$1; shift
while [ "$1" != -- ]; do mount --bind "$1" "$2"; shift 2; done; shift
run=""; prev=""; for a in "$@"; do [ "$prev" = -r ] && run=$a; prev=$a; done
mkdir -p "$W/up" "$W/wk" "$W/hostdev"
subs=$(findmnt -rn -o TARGET -R /dev | awk -F/ 'NF == 3' | sort -u)
mount --rbind /dev "$W/hostdev"
mount -t overlay overlay -o "lowerdir=/dev,upperdir=$W/up,workdir=$W/wk" /dev
for s in $subs; do mount --rbind "$W/hostdev/\${s#/dev/}" "$s"; done
mkdir /dev/hearth-run
mount --bind "$run" /dev/hearth-run
ln -s /dev/hearth-run/log /dev/log
exec "$@"`;

/** `hearth run -c conf` in its namespace, with files of the test bound over host files. */
async function run(conf: string, binds: Record<string, string> = {}): Promise<RunningManager> {
  const work = scratch("ns");
  const state = join(work, "state");
  const pairs = Object.entries(binds).flatMap(([target, file]) => [file, target]);
  manager = await startManager(conf, [], {
    wrapper: ["unshare", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE, "sh", work, ...pairs, "--"],
    env: { XDG_RUNTIME_DIR: "/run", XDG_STATE_HOME: state, XDG_CACHE_HOME: join(work, "cache"), XDG_CONFIG_HOME: join(work, "config") },
  });
  return manager;
}

async function logs(m: RunningManager, unit: string): Promise<string> {
  return (await m.ctl("logs", "-n", "500", unit)).stdout;
}

async function waitForLog(m: RunningManager, unit: string, re: RegExp, timeoutMs = 15_000): Promise<string> {
  let last = "";
  return poll(`${re} in hearth ctl logs ${unit}`, async () => {
    last = await logs(m, unit);
    return last.split("\n").find((l) => re.test(l));
  }, { timeoutMs, intervalMs: 100, context: () => `logs ${unit}:\n${last}\nmanager:\n${m.text()}` });
}

function mountNamespace(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/mnt`);
}

describe.skipIf(!installed(join(UNITS, "dropbear.service"), "/usr/sbin/dropbear", "/usr/bin/dbclient") || portTaken(22))("dropbear: Debian's dropbear.service", () => {
  test("an SSH client on port 22 gets dropbear's banner, one of the host keys made by the package, and a key login", async () => {
    const { conf, dropped } = await importUnits(["dropbear.service"]);
    expect(dropped).toEqual([]);
    // Its host keys are the package's (postinst made them in /etc/dropbear).
    const fingerprints: string[] = [];
    for (const type of ["rsa", "ecdsa", "ed25519"]) {
      const key = `/etc/dropbear/dropbear_${type}_host_key`;
      if (!existsSync(key)) continue;
      const shown = await runClient(["/usr/bin/dropbearkey", "-y", "-f", key]);
      fingerprints.push(/SHA256:[A-Za-z0-9+/]+/.exec(shown.out)![0]);
    }
    expect(fingerprints.length).toBeGreaterThan(0);
    // A key login as root: its authorized_keys in a home of the test's own, put over /root
    // in the manager's mount namespace only (the host's /root is left alone).
    const home = scratch("root-home");
    const userKey = join(scratch("dbclient"), "id_ed25519");
    expect((await runClient(["/usr/bin/dropbearkey", "-t", "ed25519", "-f", userKey])).code).toBe(0);
    const publicKey = (await runClient(["/usr/bin/dropbearkey", "-y", "-f", userKey])).out.split("\n").find((l) => l.startsWith("ssh-ed25519 "))!;
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh/authorized_keys"), `${publicKey}\n`, { mode: 0o600 });
    const m = await run(conf, { "/root": home });
    const unit = await m.waitForState("dropbear", "active");
    const banner = await poll("dropbear's banner on port 22", () =>
      exchange({ host: "127.0.0.1", port: 22 }, "", { expected: 8, timeoutMs: 2000 }).catch(() => null), { timeoutMs: 15_000, intervalMs: 100 });
    expect(banner.answer).toStartWith("SSH-2.0-dropbear");
    const client = await runClient(["/usr/bin/dbclient", "-y", "-p", "22", "-i", userKey, "root@127.0.0.1", "echo logged in as $(id -un)"], { HOME: scratch("dbclient-home") });
    expect(fingerprints.some((f) => client.out.includes(f))).toBe(true);
    expect(client.out).toContain("logged in as root");
    expect(client.code).toBe(0);
    // -E: dropbear logs to stderr, which is its unit's log.
    await waitForLog(m, "dropbear", new RegExp(`dropbear\\[${unit.mainPid}\\]: .*Not backgrounding`));
    expect((await m.ctl("stop", "dropbear")).code).toBe(0);
  }, 40_000);
});

describe.skipIf(!installed(join(UNITS, "cron.service"), "/usr/sbin/cron"))("cron: Debian's cron.service", () => {
  test("its syslog(3) lines are in hearth ctl logs cron, under its identifier and pid", async () => {
    const { conf, dropped } = await importUnits(["cron.service"]);
    expect(dropped).toEqual([]);
    // The host's crontabs are cron's as they are (a job due in the few seconds this runs
    // would run, as under systemd). cron writes its pid file and, at its first start since
    // boot, /run/crond.reboot.
    removeAfter("/run/crond.pid", "/run/crond.reboot");
    const m = await run(conf);
    const unit = await m.waitForState("cron", "active");
    const started = await waitForLog(m, "cron", /cron\[\d+\] <cron\.info>: \(CRON\) INFO \(pidfile fd = \d+\)/);
    expect(started).toContain(`cron[${unit.mainPid}]`);
    await waitForLog(m, "cron", /<cron\.info>: \(CRON\) INFO \((Running @reboot jobs|Skipping @reboot jobs -- not system startup)\)/);
    expect(await logs(m, "syslog")).not.toContain("CRON");
    expect((await m.ctl("stop", "cron")).code).toBe(0);
  }, 40_000);
});

/** A DNS query for NAME's A record; the addresses in the answer and the reply code. */
function askDns(name: string, port = 53): Promise<{ rcode: number; addresses: string[] } | null> {
  const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const id = Math.floor(Math.random() * 0xffff);
  const query = Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), // RD, one question
    ...labels, Buffer.from([0, 0, 1, 0, 1]), // QTYPE A, QCLASS IN
  ]);
  return askUdp(query, port, (reply) => {
    if (reply.readUInt16BE(0) !== id) return null;
    const answers = reply.readUInt16BE(6);
    let at = query.length; // the question, echoed
    const addresses: string[] = [];
    for (let i = 0; i < answers; i++) {
      at += (reply[at]! & 0xc0) === 0xc0 ? 2 : name.length + 2; // a pointer to the question's name, or the name
      const type = reply.readUInt16BE(at);
      const length = reply.readUInt16BE(at + 8);
      if (type === 1 && length === 4) addresses.push([...reply.subarray(at + 10, at + 14)].join("."));
      at += 10 + length;
    }
    return { rcode: reply[3]! & 0xf, addresses };
  });
}

describe.skipIf(!installed(join(UNITS, "dnsmasq.service"), join(UNITS, "network.target"), "/usr/sbin/dnsmasq") || portTaken(53))("dnsmasq: Debian's dnsmasq.service", () => {
  test("it answers DNS on 127.0.0.1:53 from /etc/hosts; active through forking and its PIDFile", async () => {
    // It Requires= network.target: imported too, as Debian ships it.
    const { conf, dropped } = await importUnits(["dnsmasq.service", "network.target"]);
    expect(dropped).toEqual([]); // network.target's RefuseManualStart=yes converts too
    removeAfter("/run/dnsmasq");
    const m = await run(conf);
    const unit = await m.waitForState("dnsmasq", "active");
    const pid = Number(readFileSync("/run/dnsmasq/dnsmasq.pid", "utf8").trim());
    expect(unit.mainPid).toBe(pid);
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("dnsmasq");
    const reply = await poll("dnsmasq to answer on port 53", () => askDns("localhost"), { timeoutMs: 10_000, intervalMs: 100 });
    expect(reply).toEqual({ rcode: 0, addresses: ["127.0.0.1"] });
    // It logs with syslog(3): its start line is in its unit's log.
    await waitForLog(m, "dnsmasq", new RegExp(`dnsmasq\\[${pid}\\] <daemon\\.info>: started, version`));
    expect((await m.ctl("stop", "dnsmasq")).code).toBe(0);
    await poll("dnsmasq to be gone", () => !existsSync(`/proc/${pid}`), { timeoutMs: 10_000, intervalMs: 50 });
  }, 40_000);
});

describe.skipIf(!installed(join(UNITS, "chrony.service"), "/usr/sbin/chronyd", "/usr/bin/chronyc", "/etc/default/chrony"))("chrony: Debian's chrony.service", () => {
  test("chronyc answers over its socket; the unit is active with its PIDFile's pid, confined as the unit says", async () => {
    const { conf, dropped } = await importUnits(["chrony.service"]);
    // Every directive converts, DeviceAllow=/DevicePolicy=closed included (a cgroup BPF
    // device program).
    expect(dropped).toEqual([]);
    // The host's clock is not the test's to change. Debian's chrony.conf has "pool
    // 2.debian.pool.org iburst" and "makestep 1 3": on a machine that reaches the pool, the
    // unit as it is would step or slew the clock. -x ("never adjust the system clock",
    // chronyd(8)) goes where Debian puts the daemon's options, /etc/default/chrony, which
    // the unit reads (EnvironmentFile=-/etc/default/chrony): the package's own line plus
    // -x, put over the host's file in the manager's mount namespace only. The unit file
    // and chrony.conf stay as they are.
    const options = readFileSync("/etc/default/chrony", "utf8");
    const current = /^DAEMON_OPTS="([^"]*)"/m.exec(options)?.[1] ?? "";
    const defaults = join(scratch("chrony"), "chrony");
    writeFileSync(defaults, `DAEMON_OPTS="${current} -x"\n`);
    removeAfter("/run/chrony");
    const m = await run(conf, { "/etc/default/chrony": defaults });
    const unit = await m.waitForState("chrony", "active", 20_000);
    const pid = Number(readFileSync("/run/chrony/chronyd.pid", "utf8").trim());
    expect(unit.mainPid).toBe(pid);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("-x");
    // chronyc, as a user runs it: over /run/chrony/chronyd.sock (-n: no DNS lookups).
    const tracking = await poll("chronyc -n tracking to answer", async () => {
      const r = await runClient(["/usr/bin/chronyc", "-n", "tracking"]);
      return r.code === 0 && /Reference ID\s*:/.test(r.out) && r.out;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    console.log(`chronyc -n tracking:\n${tracking}`);
    // Its hardening: a seccomp filter, no new privileges, a mount namespace of its own
    // (ProtectSystem=strict: / read-only), /home hidden (ProtectHome=yes).
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(mountNamespace(pid)).not.toBe(mountNamespace(m.proc.pid));
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n").map((l) => l.split(" "));
    expect(mounts.find((f) => f[4] === "/")?.[5]).toMatch(/^ro\b/);
    expect(mounts.some((f) => f[4] === "/home" && f.includes("tmpfs"))).toBe(true);
    // It dropped to _chrony (chronyd -u, its default), root only to start.
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
    expect(uid).toBe(Number((await runClient(["id", "-u", "_chrony"])).out.trim()));
    // It logs with syslog(3), from its own mount namespace with its private /tmp.
    await waitForLog(m, "chrony", new RegExp(`chronyd\\[${pid}\\] <daemon\\.info>: chronyd version \\S+ starting`));
    expect((await m.ctl("stop", "chrony")).code).toBe(0);
    await poll("chronyd to be gone", () => !existsSync(`/proc/${pid}`), { timeoutMs: 10_000, intervalMs: 50 });
  }, 40_000);
});

const AVAHI = ["avahi-daemon.service", "avahi-daemon.socket", "dbus.service", "dbus.socket"];
describe.skipIf(!installed(...AVAHI.map((f) => join(UNITS, f)), "/usr/sbin/avahi-daemon", "/usr/bin/dbus-daemon", "/usr/bin/dbus-send")
  || existsSync("/run/dbus/system_bus_socket"))("avahi-daemon with dbus-daemon: Debian's units, Type=dbus", () => {
  test("dbus-daemon --system comes up behind its socket; avahi-daemon is active once it owns org.freedesktop.Avahi and answers on the system bus", async () => {
    const { conf, dropped } = await importUnits(AVAHI);
    expect(dropped).toEqual([]);
    removeAfter("/run/avahi-daemon", "/run/dbus/system_bus_socket");
    const m = await run(conf);
    // avahi-daemon is wanted by the boot; dbus.service by no one: its socket
    // (/run/dbus/system_bus_socket, made by hearth) starts it at the first connection, the
    // manager's own, which follows bus names for Type=dbus.
    const avahi = await m.waitForState("avahi-daemon", "active", 20_000);
    const bus = await m.unit("dbus");
    expect(bus.active).toBe("active");
    // Ready meant: its name owned on the bus.
    const owner = await runClient(["/usr/bin/dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
      "org.freedesktop.DBus.GetConnectionUnixProcessID", "string:org.freedesktop.Avahi"]);
    expect(owner.out).toContain(`uint32 ${avahi.mainPid}`);
    const version = await runClient(["/usr/bin/dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.Avahi", "/", "org.freedesktop.Avahi.Server.GetVersionString"]);
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/string "avahi \d+\.\d+/);
    // Both log with syslog(3) (dbus-daemon --syslog-only): their lines are in their units' logs.
    await waitForLog(m, "avahi-daemon", new RegExp(`avahi-daemon\\[${avahi.mainPid}\\] <daemon\\.info>: Server startup complete`));
    await waitForLog(m, "dbus", new RegExp(`dbus-daemon\\[${bus.mainPid}\\] <daemon\\.\\w+>: \\[system\\] `));
    expect((await m.ctl("stop", "avahi-daemon")).code).toBe(0);
    expect((await m.ctl("stop", "dbus")).code).toBe(0);
  }, 40_000);
});
