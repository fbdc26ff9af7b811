// seccomp and the namespace directives through `hearth run`, seen from inside: the probe
// (test/peers/sandbox-probe.c) makes the calls each directive forbids and prints what it
// got; /proc/self/status says a filter is in force. Needs root (CAP_SYS_ADMIN for the
// namespaces; seccomp itself would not).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { PEERS, cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { oneshot, report as reportOf } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
const PROBE = join(PEERS, "sandbox-probe");
let m: RunningManager;
let conf: string;

const report = (unit: string) => reportOf(m, unit);

/** What the probe printed for one try. */
function answer(lines: string[], name: string): string {
  const line = lines.find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no ${name} in:\n${lines.join("\n")}`);
  return line.slice(name.length + 1).trim();
}

const probe = (...tries: string[]) => `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; exec ${PROBE} ${tries.join(" ")}`;

beforeAll(async () => {
  conf = writeConf({
    hardened: oneshot(
      probe("socket-packet", "socket-inet", "socket-unix", "mmap-wx", "mprotect-x", "personality", "unshare-user", "unshare-net",
        "clock-settime", "chmod-suid", "open-suid", "getpid"),
      'restrict_address_families = ["AF_UNIX AF_INET AF_INET6"]',
      "memory_deny_write_execute = true",
      "lock_personality = true",
      "restrict_namespaces = true",
      "protect_clock = true",
      "restrict_suid_sgid = true",
      "restrict_realtime = true",
      'system_call_architectures = ["native"]',
      "private_tmp = true",
    ),
    unconfined: oneshot(probe("socket-packet", "mmap-wx", "personality", "clock-settime", "chmod-suid")),
    "deny-list": oneshot(probe("swapon", "getpid"), 'system_call_filter = ["~@swap @raw-io"]', 'system_call_error_number = "EROFS"'),
    "allow-list": oneshot(probe("getpid", "swapon"), 'system_call_filter = ["@system-service"]', 'user = "nobody"', 'working_directory = "/"'),
    "allow-list-errno": oneshot(probe("getpid", "swapon"), 'system_call_filter = ["@system-service", "~@network-io"]',
      'system_call_error_number = "EPERM"'),
    "no-packet": oneshot(probe("socket-packet", "socket-inet"), 'restrict_address_families = ["~AF_PACKET"]'),
    "some-namespaces": oneshot(probe("unshare-net", "unshare-user"), 'restrict_namespaces = ["net"]'),
    hostname: oneshot(`readlink /proc/self/ns/uts; ${PROBE} sethostname`, "protect_hostname = true"),
    network: oneshot("readlink /proc/self/ns/net; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip -o link show lo 2>/dev/null | grep -o 'state [A-Z]*' || cat /sys/class/net/lo/operstate",
      "private_network = true"),
    ipc: oneshot("readlink /proc/self/ns/ipc", "private_ipc = true"),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe.skipIf(!isRoot || !existsSync(PROBE))("seccomp, seen from inside the service", () => {
  test("the hardening directives: each forbidden call fails with systemd's errno; the rest work", async () => {
    const lines = await report("hardened");
    expect(answer(lines, "Seccomp")).toBe("2");
    expect(answer(lines, "NoNewPrivs")).toBe("0"); // root keeps CAP_SYS_ADMIN: no_new_privs not needed, as systemd
    expect(answer(lines, "socket-packet")).toBe("EAFNOSUPPORT");
    expect(answer(lines, "socket-inet")).toBe("ok");
    expect(answer(lines, "socket-unix")).toBe("ok");
    expect(answer(lines, "mmap-wx")).toBe("EPERM");
    expect(answer(lines, "mprotect-x")).toBe("EPERM");
    expect(answer(lines, "personality")).toBe("EPERM");
    expect(answer(lines, "unshare-user")).toBe("EPERM");
    expect(answer(lines, "unshare-net")).toBe("EPERM");
    expect(answer(lines, "clock-settime")).toBe("EPERM"); // unfiltered: EINVAL (CLOCK_MONOTONIC cannot be set)
    expect(answer(lines, "chmod-suid")).toBe("EPERM");
    expect(answer(lines, "open-suid")).toBe("EPERM");
    expect(answer(lines, "getpid")).toBe("ok");
  });

  test("without the directives the same calls work (the probe tells the two apart)", async () => {
    const lines = await report("unconfined");
    expect(answer(lines, "Seccomp")).toBe("0");
    for (const name of ["socket-packet", "mmap-wx", "personality", "chmod-suid"]) expect(answer(lines, name)).toBe("ok");
    expect(answer(lines, "clock-settime")).toBe("EINVAL");
  });

  test("system_call_filter deny list: the listed calls fail with system_call_error_number", async () => {
    const lines = await report("deny-list");
    expect(answer(lines, "swapon")).toBe("EROFS"); // unfiltered: ENOENT or EPERM
    expect(answer(lines, "getpid")).toBe("ok");
  });

  test("system_call_filter allow list: another call kills the process by SIGSYS; no_new_privs for a user without CAP_SYS_ADMIN", async () => {
    const started = await m.ctl("start", "allow-list");
    expect(started.code).not.toBe(0);
    const { logs } = await m.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "50", "allow-list");
    const lines = logs.map((l) => l.text);
    expect(answer(lines, "NoNewPrivs")).toBe("1");
    expect(answer(lines, "getpid")).toBe("ok");
    expect(lines.some((l) => l.startsWith("swapon:"))).toBe(false); // killed before it could print
    expect(m.text()).toMatch(/allow-list.*(SIGSYS|SYS)/);
  });

  test("system_call_filter allow list with \"~\" lines and an errno", async () => {
    const lines = await report("allow-list-errno");
    expect(answer(lines, "getpid")).toBe("ok");
    expect(answer(lines, "swapon")).toBe("EPERM");
  });

  test('restrict_address_families = ["~AF_PACKET"] and restrict_namespaces = ["net"]', async () => {
    const packet = await report("no-packet");
    expect(answer(packet, "socket-packet")).toBe("EAFNOSUPPORT");
    expect(answer(packet, "socket-inet")).toBe("ok");
    const ns = await report("some-namespaces");
    expect(answer(ns, "unshare-net")).toBe("ok");
    expect(answer(ns, "unshare-user")).toBe("EPERM");
  });

  test("hearth ctl analyze security: the hardened unit is less exposed than the unconfined one", async () => {
    const table = await m.ctl("analyze", "security");
    expect(table.code).toBe(0);
    const exposure = (unit: string) => Number(new RegExp(`^${unit}\\s+(\\d+\\.\\d) `, "m").exec(table.stdout)![1]);
    expect(exposure("hardened")).toBeLessThan(exposure("unconfined"));
    expect(table.stdout).toMatch(/^unconfined\s+\d+\.\d UNSAFE$/m);
    const one = await m.ctl("analyze", "security", "hardened");
    expect(one.stdout).toMatch(/^✓ memory_deny_write_execute$/m);
    expect(one.stdout).toMatch(/^→ Overall exposure level for hardened: /m);
    expect((await m.ctl("analyze", "security", "nonesuch")).code).not.toBe(0);
  });

  test("protect_hostname: a UTS namespace of its own, and sethostname refused", async () => {
    const [uts, ...rest] = await report("hostname");
    expect(uts).not.toBe(readlinkSync("/proc/self/ns/uts"));
    expect(answer(rest, "sethostname")).toBe("EPERM");
  });

  test("private_network: only a loopback interface, up; private_ipc: an IPC namespace of its own", async () => {
    const [net, ...rest] = await report("network");
    expect(net).not.toBe(readlinkSync("/proc/self/ns/net"));
    expect(rest.slice(0, -1)).toEqual(["lo"]);
    expect(rest.at(-1)).toMatch(/state UNKNOWN|unknown|UP/i);
    const [ipc] = await report("ipc");
    expect(ipc).not.toBe(readlinkSync("/proc/self/ns/ipc"));
  });
});
