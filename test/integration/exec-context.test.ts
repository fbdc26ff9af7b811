// The execution context through `hearth run`: units using each key report
// what they see from inside (/proc/self/status, ionice, /proc/self/mountinfo, what a
// write or an open does) on stdout, and the test reads it back with `hearth ctl logs`.
// Needs root (CI runs as root): mount namespaces, capabilities, another user.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { oneshot, report as reportOf } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
// Not below /tmp, which private_tmp hides.
const work = mkdtempSync(join(existsSync("/run") ? "/run" : "/dev/shm", "hearth-exec-context-"));

/** What a unit printed, one line each, after starting it. */
const report = (unit: string) => reportOf(m, unit);

/** The value of a "Name:\tvalue" line. */
function field(lines: string[], name: string): string {
  const line = lines.find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no ${name} in:\n${lines.join("\n")}`);
  return line.slice(name.length + 1).trim();
}

beforeAll(async () => {
  mkdirSync(join(work, "ro"));
  mkdirSync(join(work, "secret"));
  writeFileSync(join(work, "secret", "key"), "the key");
  writeFileSync(join(work, "secret-file"), "secret");
  conf = writeConf({
    scheduling: oneshot(
      "grep Cpus_allowed_list /proc/self/status; ionice", // ionice alone: its own class, inherited
      "cpu_affinity = [0]",
      'io_scheduling_class = "idle"',
    ),
    priority: oneshot("ionice", "io_scheduling_priority = 6"),
    caps: oneshot(
      "grep -E '^(Uid|CapBnd|CapAmb|CapEff|NoNewPrivs):' /proc/self/status",
      'user = "nobody"',
      'working_directory = "/"', // nobody's home, /nonexistent, is the default
      'capability_bounding_set = "CAP_NET_BIND_SERVICE CAP_NET_RAW"',
      'ambient_capabilities = ["net_bind_service"]',
      "no_new_privileges = true",
    ),
    dropped: oneshot("grep CapBnd /proc/self/status", 'capability_bounding_set = "~CAP_SYS_ADMIN"'),
    sandbox: oneshot(
      [
        `(echo x > ${work}/ro/file) 2>&1`,
        `ls -A ${work}/secret | wc -l`,
        `(cat ${work}/secret-file) 2>&1`,
        "ls -A /tmp | wc -l",
        "grep -E ' /tmp | /var/tmp ' /proc/self/mountinfo | cut -d' ' -f4,5",
      ].join("; "),
      `read_only_paths = ["${work}/ro", "-/nonexistent/hearth"]`,
      `inaccessible_paths = ["${work}/secret", "${work}/secret-file"]`,
      "private_tmp = true",
    ),
    missing: oneshot("true", 'read_only_paths = ["/nonexistent/hearth-ro"]'),
    "nobody-cwd": oneshot("pwd", 'user = "nobody"'), // nobody's home is /nonexistent
    "root-cwd": oneshot("pwd"),
    "home-cwd": oneshot("pwd", 'user = "root"', 'working_directory = "~"'),
    // The shell execs grep, so /proc/self is what the service's program got.
    "sigpipe-default": oneshot("exec grep SigIgn /proc/self/status"),
    "sigpipe-off": oneshot("exec grep SigIgn /proc/self/status", "ignore_sigpipe = false"),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("execution context through hearth run", () => {
  test("cpu_affinity and io_scheduling_class", async () => {
    const lines = await report("scheduling");
    expect(field(lines, "Cpus_allowed_list")).toBe("0");
    expect(lines).toContain("idle");
  });

  test("io_scheduling_priority alone: best-effort at that level", async () => {
    expect(await report("priority")).toContain("best-effort: prio 6");
  });

  test.skipIf(!isRoot)("capability_bounding_set, ambient_capabilities for another user, no_new_privileges", async () => {
    const lines = await report("caps");
    expect(field(lines, "Uid").split(/\s+/)[0]).toBe("65534");
    expect(field(lines, "CapBnd")).toBe("0000000000002400"); // NET_BIND_SERVICE (10) and NET_RAW (13)
    expect(field(lines, "CapAmb")).toBe("0000000000000400");
    expect(field(lines, "CapEff")).toBe("0000000000000400");
    expect(field(lines, "NoNewPrivs")).toBe("1");
  });

  test.skipIf(!isRoot)('capability_bounding_set "~CAP_SYS_ADMIN": everything else stays', async () => {
    const bits = BigInt(`0x${field(await report("dropped"), "CapBnd")}`);
    expect(bits & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
    expect(bits & (1n << 12n)).toBe(1n << 12n); // CAP_NET_ADMIN, for one
  });

  test.skipIf(!isRoot)("read_only_paths, inaccessible_paths and private_tmp", async () => {
    const [write, secretEntries, secretFile, tmpEntries, ...mounts] = await report("sandbox");
    expect(write).toContain("Read-only file system");
    expect(secretEntries).toBe("0");
    expect(secretFile).toContain("Permission denied");
    expect(tmpEntries).toBe("0");
    // The unit's own directories, bound there (mountinfo's root field names them).
    expect(mounts.some((line) => /\/hearth-private-sandbox[^/ ]*\/tmp \/tmp$/.test(line))).toBe(true);
    expect(mounts.some((line) => /\/hearth-private-sandbox[^/ ]*\/tmp \/var\/tmp$/.test(line))).toBe(true);
  });

  test.skipIf(!isRoot)("a read-only path that does not exist fails the start, naming the step and the path", async () => {
    const r = await m.ctl("start", "missing");
    expect(r.code).toBe(1);
    expect((await m.unit("missing")).active).toBe("failed");
    expect(m.text()).toMatch(/missing.*read_only_paths \/nonexistent\/hearth-ro: No such file or directory/);
  });
});

describe("what a service starts with, as systemd", () => {
  test.skipIf(!isRoot)("a service with user = and no working_directory starts in /, not in the user's home", async () => {
    expect(await report("nobody-cwd")).toEqual(["/"]);
  });

  test("a service without user = or working_directory starts in /", async () => {
    expect(await report("root-cwd")).toEqual(["/"]);
  });

  test.skipIf(!isRoot)('working_directory = "~" starts in the user\'s home', async () => {
    expect(await report("home-cwd")).toEqual(["/root"]);
  });

  // SIGPIPE is signal 13: bit 12 of SigIgn.
  test("SIGPIPE is ignored by default (IgnoreSIGPIPE=yes): a write to a closed pipe fails with EPIPE", async () => {
    expect(BigInt(`0x${field(await report("sigpipe-default"), "SigIgn")}`) & (1n << 12n)).toBe(1n << 12n);
  });

  test("with ignore_sigpipe = false SIGPIPE keeps its default action", async () => {
    expect(BigInt(`0x${field(await report("sigpipe-off"), "SigIgn")}`) & (1n << 12n)).toBe(0n);
  });
});
