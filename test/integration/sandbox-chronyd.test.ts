// A real Debian daemon under its own Debian unit's hardening: chrony.service of Debian 12
// (/lib/systemd/system/chrony.service), translated key for key below, runs chronyd and
// it keeps working: it answers NTP.
// Only the command line differs: -x (the host's clock is never touched) and a config of
// the test's own (a local NTP server on a high port, no upstream sources), and, as hearth
// has no "!" prefix, chronyd runs as root the way "ExecStart=!" runs it, dropping to
// _chrony itself. Skipped where chrony is not installed (apt-get install chrony) or not root.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { askUdp } from "../support/udp.ts";

const CHRONYD = "/usr/sbin/chronyd";
const canRun = libc.geteuid() === 0 && existsSync(CHRONYD);
// Under /run: the unit's /tmp is private and its homes are hidden, where `hearth run`
// would otherwise put the unit's directories.
const base = `/run/hearth-chrony-test-${process.pid}`;
const PORT = 11000 + (process.pid % 1000);
let m: RunningManager;
let conf: string;

/** The [service] of Debian 12's chrony.service, directive for directive. */
function debianChronyUnit(): string {
  return `
[unit]
description = "chrony, an NTP client/server"

[service]
type = "forking"
pid_file = "${base}/runtime/chrony/chronyd.pid"
environment_file = ["-/etc/default/chrony"]
exec_start = "${CHRONYD} $DAEMON_OPTS -x -f ${base}/chrony.conf"
capability_bounding_set = "~CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_AUDIT_WRITE CAP_BLOCK_SUSPEND CAP_KILL CAP_LEASE CAP_LINUX_IMMUTABLE CAP_MAC_ADMIN CAP_MAC_OVERRIDE CAP_MKNOD CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_CHROOT CAP_SYS_MODULE CAP_SYS_PACCT CAP_SYS_PTRACE CAP_SYS_RAWIO CAP_SYS_TTY_CONFIG CAP_WAKE_ALARM"
device_allow = ["char-pps rw", "char-ptp rw", "char-rtc rw"]
lock_personality = true
memory_deny_write_execute = true
private_tmp = true
proc_subset = "pid"
protect_control_groups = true
protect_home = true
protect_hostname = true
protect_kernel_logs = true
protect_kernel_modules = true
protect_kernel_tunables = true
protect_proc = "invisible"
protect_system = "strict"
read_write_paths = ["/run", "-/var/spool"]
restrict_address_families = ["AF_INET AF_INET6 AF_UNIX", "AF_NETLINK"]
restrict_namespaces = true
restrict_suid_sgid = true
system_call_architectures = ["native"]
system_call_filter = ["~@cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap"]
no_new_privileges = false
configuration_directory = ["chrony"]
runtime_directory = ["chrony"]
runtime_directory_mode = "0700"
runtime_directory_preserve = "restart"
state_directory = ["chrony"]
state_directory_mode = "0750"
logs_directory = ["chrony"]
logs_directory_mode = "0750"
`;
}

/** One NTP client request (mode 3) to the daemon; its reply's mode and stratum, or null. */
function askNtp(port: number): Promise<{ mode: number; stratum: number } | null> {
  const request = Buffer.alloc(48);
  request[0] = 0x23; // version 4, mode 3 (client)
  return askUdp(request, port, (reply) => ({ mode: reply[0]! & 7, stratum: reply[1]! }));
}

beforeAll(async () => {
  if (!canRun) return;
  mkdirSync(base, { recursive: true });
  writeFileSync(join(base, "chrony.conf"), [
    `pidfile ${base}/runtime/chrony/chronyd.pid`, `bindcmdaddress ${base}/runtime/chrony/chronyd.sock`,
    `driftfile ${base}/state/chrony/chrony.drift`, "cmdport 0", `port ${PORT}`, "allow 127.0.0.1", "local stratum 10", "",
  ].join("\n"));
  conf = writeConf({ chrony: debianChronyUnit() });
  const xdg = { XDG_RUNTIME_DIR: `${base}/runtime`, XDG_STATE_HOME: `${base}/state`, XDG_CACHE_HOME: `${base}/cache`, XDG_CONFIG_HOME: `${base}/config` };
  m = await startManager(conf, [], { env: xdg });
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  if (!canRun) return;
  await m?.stop();
  cleanup(m, conf);
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!canRun)("chronyd under Debian's chrony.service hardening", () => {
  test("it starts, runs confined (seccomp, no CAP_SYS_ADMIN, read-only /, no /home) and answers NTP; it stops", async () => {
    const started = await m.ctl("start", "chrony");
    expect(started.code).toBe(0);
    const unit = await m.unit("chrony");
    expect(unit.active).toBe("active");
    const pid = unit.mainPid as number;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    const bounding = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
    expect(bounding & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN, out of its bounding set
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n").map((l) => l.split(" "));
    expect(mounts.find((f) => f[4] === "/")?.[5]).toMatch(/^ro\b/);
    expect(mounts.some((f) => f[4] === "/home" && f.includes("tmpfs"))).toBe(true);
    const reply = await poll("chronyd to answer NTP", () => askNtp(PORT), { timeoutMs: 10_000, intervalMs: 100 });
    expect(reply).toEqual({ mode: 4, stratum: 10 }); // a server reply from its local clock
    expect((await m.ctl("stop", "chrony")).code).toBe(0);
    await poll("chronyd to be gone", () => !existsSync(`/proc/${pid}`), { timeoutMs: 10_000, intervalMs: 50 });
  });
});
