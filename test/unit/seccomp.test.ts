// The seccomp programs (src/exec/seccomp.ts), run through a classic-BPF interpreter here
// for both architectures; test/integration/sandbox-seccomp.test.ts loads them for real.

import { describe, expect, test } from "bun:test";
import type { Arch } from "../../ffi/constants.ts";
import { SECCOMP_ARCH } from "../../ffi/seccomp.ts";
import { buildSeccomp, mergeFilter, type SeccompOptions } from "../../src/exec/seccomp.ts";
import { expandSyscallName } from "../../src/exec/syscall-groups.ts";

const ALLOW = 0x7fff0000;
const KILL = 0x80000000;
const LOG = 0x7ffc0000;
const errno = (n: number) => 0x00050000 | n;
const EPERM = errno(1);

interface Insn { code: number; jt: number; jf: number; k: number }

function programs(opts: SeccompOptions, arch: Arch): Insn[][] {
  const bytes = buildSeccomp(opts, arch);
  if (typeof bytes === "string") throw new Error(bytes);
  const view = new DataView(bytes.buffer);
  const out: Insn[][] = [];
  for (let at = 0; at < bytes.length;) {
    const count = view.getUint32(at, true);
    at += 8;
    const program: Insn[] = [];
    for (let i = 0; i < count; i++, at += 8) {
      program.push({ code: view.getUint16(at, true), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, true) });
    }
    out.push(program);
  }
  return out;
}

/** struct seccomp_data as 32-bit words: nr, arch, ip (2), then args (low, high). */
function data(arch: number, nr: number, args: number[] = []): number[] {
  const words = [nr, arch, 0, 0];
  for (let i = 0; i < 6; i++) words.push((args[i] ?? 0) >>> 0, 0);
  return words;
}

/** The classic BPF the kernel accepts for seccomp, the opcodes src/exec/seccomp.ts uses. */
function run(program: Insn[], input: number[]): number {
  let a = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    switch (code) {
      case 0x20: a = input[k / 4]!; break; // ld [k]
      case 0x54: a = (a & k) >>> 0; break; // and #k
      case 0x05: pc += k; break; // ja
      case 0x15: pc += a === k ? jt : jf; break; // jeq
      case 0x35: pc += a >= k ? jt : jf; break; // jge
      case 0x45: pc += (a & k) !== 0 ? jt : jf; break; // jset
      case 0x06: return k; // ret
      default: throw new Error(`unknown opcode ${code}`);
    }
  }
  throw new Error("fell off the end");
}

/** What the kernel answers: the strictest of all programs' verdicts. */
const PRECEDENCE = (action: number) => (action === KILL ? 0 : (action & 0xffff0000) === 0x00050000 ? 1 : action === LOG ? 2 : 3);
function verdict(progs: Insn[][], input: number[]): number {
  return progs.map((p) => run(p, input)).sort((x, y) => PRECEDENCE(x) - PRECEDENCE(y))[0] ?? ALLOW;
}

for (const arch of ["x64", "arm64"] as const) {
  const { syscalls, audit, foreignAbiBit } = SECCOMP_ARCH[arch];
  const nr = (name: string) => syscalls[name]!;
  const call = (progs: Insn[][], name: string, args: number[] = []) => verdict(progs, data(audit, nr(name), args));

  describe(`seccomp programs for ${arch}`, () => {
    test("an allow list: its calls and @default pass, every other number gets the error action", () => {
      const progs = programs({ systemCallFilter: ["@system-service"], systemCallErrorNumber: "kill" }, arch);
      const allowed = new Set(expandSyscallName("@system-service")!.concat(expandSyscallName("@default")!).map((n) => syscalls[n]));
      for (let n = 0; n < 460; n++) {
        expect([n, verdict(progs, data(audit, n))]).toEqual([n, allowed.has(n) ? ALLOW : KILL]);
      }
      expect(call(progs, "execve")).toBe(ALLOW);
      expect(call(progs, "swapon")).toBe(KILL);
    });

    test("a deny list with an errno, other ABIs killed", () => {
      const progs = programs({ systemCallFilter: ["~@swap @clock"], systemCallErrorNumber: "EROFS" }, arch);
      expect(call(progs, "swapon")).toBe(errno(30));
      expect(call(progs, "clock_settime")).toBe(errno(30));
      expect(call(progs, "read")).toBe(ALLOW);
      expect(verdict(progs, data(0x40000003, 1))).toBe(KILL); // i386
      if (arch === "x64") expect(verdict(progs, data(audit, foreignAbiBit! + 1))).toBe(KILL); // x32
    });

    test("restrict_address_families: allow list and ~ deny list on socket()'s family", () => {
      const allow = programs({ restrictAddressFamilies: ["AF_UNIX AF_INET", "AF_INET6"] }, arch);
      expect([1, 2, 10, 16, 17].map((f) => call(allow, "socket", [f]))).toEqual([ALLOW, ALLOW, ALLOW, errno(97), errno(97)]);
      const deny = programs({ restrictAddressFamilies: ["~AF_PACKET AF_NETLINK"] }, arch);
      expect([1, 16, 17].map((f) => call(deny, "socket", [f]))).toEqual([ALLOW, errno(97), errno(97)]);
      const none = programs({ restrictAddressFamilies: ["none"] }, arch);
      expect(call(none, "socket", [1])).toBe(errno(97));
      expect(call(none, "socketpair", [1])).toBe(ALLOW); // as systemd: socket() only
    });

    test("restrict_namespaces: unshare, clone and setns by flag; clone3 ENOSYS", () => {
      const progs = programs({ restrictNamespaces: ["net"] }, arch);
      expect(call(progs, "unshare", [0x40000000])).toBe(ALLOW);
      expect(call(progs, "unshare", [0x10000000])).toBe(EPERM);
      expect(call(progs, "clone", [0x10000000 | 17])).toBe(EPERM);
      expect(call(progs, "clone", [17])).toBe(ALLOW); // a plain fork
      expect(call(progs, "setns", [3, 0])).toBe(EPERM);
      expect(call(progs, "setns", [3, 0x40000000])).toBe(ALLOW);
      expect(call(progs, "clone3")).toBe(errno(38));
    });

    test("memory_deny_write_execute, lock_personality, restrict_suid_sgid, restrict_realtime, protect_clock, protect_hostname", () => {
      const progs = programs({
        memoryDenyWriteExecute: true, lockPersonality: true, restrictSuidSgid: true, restrictRealtime: true,
        protectClock: true, protectHostname: true,
      }, arch);
      expect(call(progs, "mmap", [0, 4096, 3])).toBe(ALLOW); // read|write
      expect(call(progs, "mmap", [0, 4096, 6])).toBe(EPERM); // write|exec
      expect(call(progs, "mmap", [0, 4096, 5])).toBe(ALLOW); // read|exec: code loading stays possible
      expect(call(progs, "mprotect", [0, 4096, 5])).toBe(EPERM);
      expect(call(progs, "personality", [0xffffffff])).toBe(ALLOW);
      expect(call(progs, "personality", [0x0008])).toBe(EPERM);
      expect(call(progs, "fchmodat", [-100, 0, 0o4755])).toBe(EPERM);
      expect(call(progs, "fchmodat", [-100, 0, 0o755])).toBe(ALLOW);
      expect(call(progs, "openat", [-100, 0, 0o101, 0o2755])).toBe(EPERM); // O_WRONLY|O_CREAT
      expect(call(progs, "openat", [-100, 0, 0o1, 0o2755])).toBe(ALLOW); // no O_CREAT: the mode means nothing
      expect(call(progs, "sched_setscheduler", [0, 1])).toBe(EPERM);
      expect(call(progs, "sched_setscheduler", [0, 0x40000002])).toBe(EPERM); // SCHED_RR|SCHED_RESET_ON_FORK
      expect(call(progs, "sched_setscheduler", [0, 3])).toBe(ALLOW); // SCHED_BATCH
      expect(call(progs, "clock_settime")).toBe(EPERM);
      expect(call(progs, "sethostname")).toBe(EPERM);
      expect(call(progs, "getpid")).toBe(ALLOW);
    });

    test("private_devices, protect_kernel_modules and protect_kernel_logs refuse calls too, as in systemd", () => {
      const progs = programs({ privateDevices: true, protectKernelModules: true, protectKernelLogs: true }, arch);
      expect(call(progs, "finit_module")).toBe(EPERM);
      expect(call(progs, "syslog")).toBe(EPERM);
      if (arch === "x64") expect(call(progs, "iopl")).toBe(EPERM); // @raw-io: x86 only
      expect(call(progs, "read")).toBe(ALLOW);
    });

    test("system_call_log: the listed calls are logged and allowed", () => {
      const progs = programs({ systemCallLog: ["mount umount2"] }, arch);
      expect(call(progs, "mount")).toBe(LOG);
      expect(call(progs, "getpid")).toBe(ALLOW);
    });
  });
}

describe("system_call_filter lines, merged as systemd merges them", () => {
  test('an allow list gets @default; "~" lines take away; a deny list is the other way round', () => {
    const allow = mergeFilter(["@basic-io", "~write"]);
    if (typeof allow === "string") throw new Error(allow);
    expect(allow.allow).toBe(true);
    expect(allow.names.has("read") && allow.names.has("execve") && !allow.names.has("write")).toBe(true);
    const deny = mergeFilter(["~@mount", "umount2"]);
    if (typeof deny === "string") throw new Error(deny);
    expect(deny.allow).toBe(false);
    expect(deny.names.has("mount") && !deny.names.has("umount2")).toBe(true);
    expect(mergeFilter(["@nonsense"])).toBe('unknown system call group "@nonsense"');
  });

  test("bad values are refused with what is wrong", () => {
    expect(buildSeccomp({ restrictAddressFamilies: ["AF_NOPE"] }, "x64")).toBe('unknown address family "AF_NOPE"');
    expect(buildSeccomp({ restrictNamespaces: ["nope"] }, "x64")).toBe('unknown namespace type "nope"');
    expect(buildSeccomp({ systemCallArchitectures: ["x86"] }, "x64")).toContain("only \"native\"");
  });
});
