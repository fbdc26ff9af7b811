// syslog under `hearth run`: real senders (util-linux logger, Debian's cron through
// glibc's syslog(3)) write to the manager's socket RUNDIR/log, and `hearth ctl logs UNIT`
// shows their lines with their identifier. Units reach the socket through WORK/log, a
// symlink the test makes once the manager is up (the run directory is the harness's).
//
// glibc's syslog(3) only ever opens /dev/log (_PATH_LOG; no variable changes it), so cron
// runs in a private mount namespace of its own (unshare -m in its exec_start, before it
// execs cron under the same pid) where RUNDIR/log is bound over /dev/log and a test
// directory over /etc/cron.d and /run: nothing outside that process sees any of it, and
// nothing on the host is written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sendDatagram } from "../../ffi/socket.ts";
import { exchange } from "../support/clients.ts";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

const work = tempDir("syslog");
const socket = join(work, "log");
const isRoot = process.getuid?.() === 0;
const haveCron = existsSync("/usr/sbin/cron");
const kmsgReadable = (() => {
  try {
    accessSync("/dev/kmsg", constants.R_OK);
    return true;
  } catch {
    return false;
  }
})();

/** A unit whose main process is a shell and whose sender is its child, alive a while after sending. */
function childSender(path: string): string {
  const script = `{ echo sent by a child of the main process; sleep 3; } | logger -u ${path} -t kid`;
  return `[service]\nexec_start = ["/bin/sh", "-c", ${JSON.stringify(script)}]\n`;
}

/** A oneshot unit whose main process is `logger` (exec'd: the pid the manager spawned). */
function loggerUnit(args: string, keys = ""): string {
  return `[service]\ntype = "oneshot"\nexec_start = ["/bin/sh", "-c", ${JSON.stringify(`exec logger -u ${socket} ${args}`)}]\n${keys}`;
}

// cron's private view: /dev a tmpfs holding null, zero, urandom and log (the manager's
// socket); /etc/cron.d and /run test directories (no crond.reboot yet: @reboot jobs run).
const cronSetup = [
  "set -e",
  `W=${work}/cron`,
  "mount -t tmpfs -o mode=755,size=64k tmpfs $W/dev",
  "for n in null zero urandom; do touch $W/dev/$n; mount --bind /dev/$n $W/dev/$n; done",
  `touch $W/dev/log; mount --bind ${socket} $W/dev/log`,
  "mount --rbind $W/dev /dev",
  "mount --bind $W/cron.d /etc/cron.d",
  "mount --bind $W/run /run",
  "exec /usr/sbin/cron -f -L 15",
].join("\n");

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  for (const d of ["cron/dev", "cron/cron.d", "cron/run"]) mkdirSync(join(work, d), { recursive: true });
  // A system crontab: owned by root, not writable by others, a name without dots.
  writeFileSync(join(work, "cron/cron.d/hearth-test"), "@reboot root sleep 2\n");
  chmodSync(join(work, "cron/cron.d/hearth-test"), 0o644);
  conf = writeConf({
    bsd: loggerUnit('--rfc3164 -t bsd-tag -p daemon.warning "an RFC 3164 line"'),
    modern: loggerUnit('--rfc5424 -t modern-tag --msgid M1 -p local3.err "an RFC 5424 line"'),
    plain: loggerUnit('-t plain-tag "a line as logger writes it to a local socket"'),
    parent: childSender(socket),
    "greeter@": `[service]\nstandard_input = "socket"\n` +
      `exec_start = ["/bin/sh", "-c", ${JSON.stringify(`echo hello; { echo from an instance; sleep 2; } | logger -u ${socket} -t greeter-kid`)}]\n` +
      `[[socket]]\nlisten_stream = "${join(work, "greeter.sk")}"\naccept = true\n`,
    victim: loggerUnit('-t victim "the victim\'s own line"'),
    both: `[service]\ntype = "oneshot"\nstandard_output = "syslog"\nsyslog_identifier = "bothd"\nlog_file = "${join(work, "both.log")}"\n` +
      `exec_start = ["/bin/sh", "-c", ${JSON.stringify(`echo through stdout; exec logger -u ${socket} -t bothd "through syslog(3)"`)}]\n`,
    cron: `[service]\nexec_start = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", ${JSON.stringify(cronSetup)}]\n`,
  });
  m = await startManager(conf);
  symlinkSync(join(m.runDir, "log"), socket);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

async function logs(unit: string, n = 200): Promise<string> {
  const r = await m.ctl("logs", "-n", String(n), unit);
  if (r.code !== 0) throw new Error(`logs ${unit}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function run(unit: string) {
  const r = await m.ctl("start", unit);
  if (r.code !== 0) throw new Error(`start ${unit}: exit ${r.code}: ${r.stderr}\n${(await m.ctl("status", unit)).stdout}`);
}

async function waitForLog(unit: string, re: RegExp, timeoutMs = 10_000): Promise<string> {
  let last = "";
  return poll(`${re} in hearth ctl logs ${unit}`, async () => {
    last = await logs(unit);
    return last.split("\n").find((l) => re.test(l));
  }, { timeoutMs, intervalMs: 50, context: () => `logs ${unit}:\n${last}` });
}

describe("syslog lines land in the sender's unit", () => {
  test("RFC 3164, RFC 5424 and logger's local format: shown with identifier, sender pid and facility.severity", async () => {
    for (const u of ["bsd", "modern", "plain"]) await run(u);
    expect(await waitForLog("bsd", /bsd-tag\[\d+\] <daemon\.warning>: an RFC 3164 line$/)).toBeTruthy();
    expect(await waitForLog("modern", /modern-tag\[\d+\] <local3\.err>: an RFC 5424 line$/)).toBeTruthy();
    expect(await waitForLog("plain", /plain-tag\[\d+\] <user\.notice>: a line as logger writes it to a local socket$/)).toBeTruthy();
    expect(await logs("bsd")).not.toContain("RFC 5424");
  });

  test('standard_output = "syslog" and syslog(3) lines land in the same log and log_file, in time order', async () => {
    await run("both");
    const line = await waitForLog("both", /through syslog\(3\)/);
    expect(line).toMatch(/bothd\[\d+\] <user\.notice>: through syslog\(3\)$/);
    const text = await logs("both");
    expect(text).toMatch(/bothd\[\d+\]: through stdout\n(.*\n)*.*through syslog\(3\)/);
    // and in the unit's log_file, in the same shape
    expect(readFileSync(join(work, "both.log"), "utf8")).toMatch(/Z bothd: through stdout\n.*Z bothd: through syslog\(3\)\n/);
  });

  test("a child of the main process is placed by its cgroup", async () => {
    expect(m.cgroupDir).not.toBeNull(); // else see "without cgroups" below
    await run("parent");
    await waitForLog("parent", /kid\[\d+\] <user\.notice>: sent by a child of the main process/);
    await m.ctl("stop", "parent");
  });

  test("an accept = true instance's child logs into its template's log, as its output does", async () => {
    const { answer } = await exchange({ path: join(work, "greeter.sk") }, "", { expected: 6 });
    expect(answer).toBe("hello\n");
    await waitForLog("greeter", /greeter-kid\[\d+\] <user\.notice>: from an instance/);
    expect(await logs("syslog")).not.toContain("from an instance");
  });

  test("a sender in no unit that claims a unit's tag stays out of that unit's log", async () => {
    await run("victim");
    await waitForLog("victim", /victim\[\d+\] <user\.notice>: the victim's own line/);
    sendDatagram(socket, `<11>Dec  6 05:30:01 victim[1]: forged by PID ${process.pid}`);
    const forged = await waitForLog("syslog", /forged by PID/);
    expect(forged).toContain(`victim[${process.pid}] <user.err>: forged by PID ${process.pid}`); // the kernel's pid, not the claimed 1
    expect(await logs("victim")).not.toContain("forged");
  });
});

describe("what a sender cannot do to the manager", () => {
  test("malformed, empty and oversized datagrams are kept as text or cut, and the manager goes on", async () => {
    sendDatagram(socket, new Uint8Array([0xff, 0xfe, 0x3c, 0x00, 0x0a, 0x80]));
    sendDatagram(socket, new Uint8Array(0));
    sendDatagram(socket, "<13>1 broken 5424 header [unclosed");
    sendDatagram(socket, `<13>big: ${"x".repeat(20_000)}`);
    sendDatagram(socket, "<13>after: the manager still reads");
    await waitForLog("syslog", /after\[\d+\] <user\.notice>: the manager still reads/);
    const text = await logs("syslog");
    expect(text).toMatch(/broken 5424 header \[unclosed/);
    expect(text).toContain("[message cut at 8192 bytes]");
    const big = text.split("\n").find((l) => l.includes("big[")) ?? "";
    expect(big.length).toBeLessThan(8300);
    expect((await m.ctl("ping")).code).toBe(0);
  });

  test("a flood is rate-limited per sender, said once, and the manager answers meanwhile", async () => {
    const lines = join(work, "flood.txt");
    writeFileSync(lines, Array.from({ length: 2000 }, (_, i) => `flood line ${i}`).join("\n") + "\n");
    const began = performance.now();
    const flooder = Bun.spawn(["/bin/sh", "-c", `while :; do logger -u ${socket} -t flooder -f ${lines} || exit 1; done`], { stdout: "ignore", stderr: "ignore" });
    try {
      await poll("the flood to reach the limit", async () => (await logs("syslog", 3000)).split("\n").filter((l) => l.includes("flood line")).length >= 1000, { timeoutMs: 20_000, intervalMs: 100 });
      for (let i = 0; i < 5; i++) expect((await m.ctl("ping")).code).toBe(0);
    } finally {
      flooder.kill("SIGKILL");
      await flooder.exited;
    }
    // 1000 lines per 10 s window; the sender's window may have begun before the flood (the tests above).
    const windows = 1 + Math.ceil((performance.now() - began) / 10_000);
    const kept = (await logs("syslog", 5000)).split("\n").filter((l) => l.includes("flood line")).length;
    expect(kept).toBeLessThanOrEqual(1000 * windows);
    const told = await m.waitForOutput(/syslog: suppressed \d+ syslog messages from uid 0 \(in no unit\)/, 20_000);
    expect(Number(/suppressed (\d+)/.exec(told)![1])).toBeGreaterThan(0);
  }, 60_000);
});

describe("cron, logging through glibc's syslog(3)", () => {
  test.skipIf(!isRoot || !haveCron)("its lines are in hearth ctl logs cron, under its identifier and pid", async () => {
    const r = await m.ctl("start", "cron");
    expect(r.code).toBe(0);
    const pid = (await m.unit("cron")).mainPid as number;
    const started = await waitForLog("cron", /cron\[\d+\] <cron\.info>: \(CRON\) INFO \(pidfile fd = \d+\)/);
    expect(started).toContain(`cron[${pid}]`);
    await waitForLog("cron", /<cron\.info>: \(CRON\) INFO \(Running @reboot jobs\)/);
    // The job's line comes from cron's child, alive while its job (sleep 2) runs.
    await waitForLog("cron", /CRON\[\d+\] <cron\.info>: \(root\) CMD \(\[\d+\] sleep 2\)/);
    expect(await logs("syslog")).not.toContain("CRON");
    await m.ctl("stop", "cron");
  }, 30_000);
});

describe("the kernel's log", () => {
  test("hearth run leaves /dev/kmsg alone unless asked", async () => {
    const r = await m.ctl("logs", "kernel");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("");
  });

  test.skipIf(!kmsgReadable)("with --read-kmsg the kernel's messages are the unit \"kernel\", from the boot on", async () => {
    const reader = await startManager(conf, ["--read-kmsg"]);
    try {
      let last = "";
      const lines = await poll("kernel lines", async () => {
        last = (await reader.ctl("logs", "-n", "5000", "kernel")).stdout;
        const found = last.split("\n").filter((l) => l.includes("kernel <kern."));
        return found.length > 0 && found;
      }, { context: () => last });
      // The oldest record the kernel still holds comes first (on a fresh boot: "Linux version ...").
      expect(lines[0]).toMatch(/^\w{3} \d\d \d\d:\d\d:\d\d kernel <kern\.\w+>: /);
      expect((await reader.ctl("logs", "syslog")).stdout).not.toContain("kern.");
    } finally {
      await reader.stop();
    }
  });
});

describe("without cgroups", () => {
  test("a child of the main process is placed by its session", async () => {
    const nocgSocket = join(work, "log-nocg");
    const nocgConf = writeConf({ parent: childSender(nocgSocket) });
    // A mount namespace without the cgroup2 hierarchy: the manager falls back to process groups.
    const script = "umount -l /sys/fs/cgroup/unified 2>/dev/null; umount -l /sys/fs/cgroup 2>/dev/null; exec \"$@\"";
    const nocg = await startManager(nocgConf, [], { wrapper: ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] });
    try {
      await nocg.waitForOutput(/tracking services by process group/);
      symlinkSync(join(nocg.runDir, "log"), nocgSocket);
      expect((await nocg.ctl("start", "parent")).code).toBe(0);
      let last = "";
      await poll("the child's line in logs parent", async () => {
        last = (await nocg.ctl("logs", "parent")).stdout;
        return /kid\[\d+\] <user\.notice>: sent by a child of the main process/.test(last);
      }, { context: () => last });
      await nocg.ctl("stop", "parent");
    } finally {
      await nocg.stop();
      cleanup(nocg, nocgConf);
    }
  });
});
