// The seccomp filters of a unit, as classic BPF programs built here for the architecture
// hearth runs on, and loaded by the child (ffi/native.c) right before execve. Pure.
//
// Two programs at most (the child loads them in this file's order, the filter last), as systemd installs several filters (the kernel runs every one
// and the strictest answer wins: kill over errno over log over allow):
//   1. system_call_filter: an allow list (anything else fails with
//      system_call_error_number, or kills) or a "~" deny list;
//   2. the argument checks and fixed refusals of the other directives:
//      restrict_address_families (socket's family), restrict_namespaces (unshare, clone,
//      setns flags; clone3 ENOSYS so libc falls back to clone), restrict_realtime,
//      restrict_suid_sgid, lock_personality, memory_deny_write_execute, protect_clock,
//      protect_hostname, system_call_log.
// Each program first checks the audit architecture: only native calls are judged by
// number, and any other ABI (i386 or x32 on x86_64, arm32 on arm64) kills the process.
// systemd filters those ABIs with their own numbers instead; hearth knows the native
// numbers only, so a unit with any seccomp directive runs native programs only (as
// system_call_architectures = ["native"] says outright).

import { ARCH, type Arch } from "../../ffi/constants.ts";
import { ADDRESS_FAMILIES, BPF, CHECKED, ERRNO_NUMBERS, NAMESPACE_FLAGS, RET, SECCOMP_ARCH, SECCOMP_DATA } from "../../ffi/seccomp.ts";
import { expandSyscallName } from "./syscall-groups.ts";
import type { SeccompOptions } from "./seccomp-options.ts";

export { wantsSeccomp, type SeccompOptions } from "./seccomp-options.ts";

const { KILL_PROCESS: RET_KILL_PROCESS, ERRNO: RET_ERRNO, LOG: RET_LOG, ALLOW: RET_ALLOW } = RET;
const { LD_W_ABS, JEQ, JGE, JSET, JA, RET: RETURN, AND } = BPF;
const { NR, ARCH: ARCH_OFFSET, arg } = SECCOMP_DATA;
const { PROT_WRITE, PROT_EXEC, SHM_EXEC, O_CREAT, S_ISUID_ISGID, SCHED_RESET_ON_FORK, REALTIME_POLICIES, PER_LINUX, PERSONALITY_QUERY } = CHECKED;

interface Insn { code: number; jt: number; jf: number; k: number }
const insn = (code: number, k: number, jt = 0, jf = 0): Insn => ({ code, jt, jf, k: k >>> 0 });
const ret = (action: number) => insn(RETURN, action);

/** "EPERM", "13", 13 or "kill" as an action; a string says what is wrong. */
export function errorAction(value: string | number | null | undefined): number | string {
  if (value === null || value === undefined || value === "kill") return RET_KILL_PROCESS;
  const errno = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : ERRNO_NUMBERS[value];
  if (errno === undefined || !Number.isInteger(errno) || errno < 1 || errno > 4095) return `unknown errno "${value}"`;
  return RET_ERRNO | errno;
}

const errno = (name: string) => RET_ERRNO | ERRNO_NUMBERS[name]!;

/** "~" lists as systemd reads them: words of each line; the first line decides allow or deny. */
function readLines(lines: string[]): { deny: boolean; names: Set<string>; first: boolean }[] {
  return lines.map((line, i) => {
    const deny = line.trimStart().startsWith("~");
    const names = new Set(line.trim().replace(/^~/, "").split(/\s+/).filter((w) => w !== ""));
    return { deny, names, first: i === 0 };
  });
}

/** system_call_filter's lines merged as systemd merges SystemCallFilter= lines; names, not numbers. */
export function mergeFilter(lines: string[]): { allow: boolean; names: Set<string> } | string {
  let allow = true;
  const names = new Set<string>();
  for (const line of readLines(lines)) {
    if (line.first) {
      allow = !line.deny;
      if (allow) for (const n of expandSyscallName("@default")!) names.add(n);
    }
    for (const name of line.names) {
      const expanded = expandSyscallName(name.replace(/:.*$/, ""));
      if (expanded === null) return `unknown system call group "${name}"`;
      const adding = line.deny !== allow; // "~" in an allow list removes; plain in a deny list removes
      for (const n of expanded) {
        if (adding) names.add(n);
        else names.delete(n);
      }
    }
  }
  return { allow, names };
}

/** The numbers of the names that exist on arch, sorted and without repeats. */
function numbersOf(names: Iterable<string>, arch: Arch): number[] {
  const table = SECCOMP_ARCH[arch].syscalls;
  const numbers = new Set<number>();
  for (const name of names) if (table[name] !== undefined) numbers.add(table[name]!);
  return [...numbers].sort((a, b) => a - b);
}

/** The architecture check every program starts with; the number is left in the accumulator. */
function header(arch: Arch): Insn[] {
  const { audit, foreignAbiBit } = SECCOMP_ARCH[arch];
  return [
    insn(LD_W_ABS, ARCH_OFFSET), insn(JEQ, audit, 1, 0), ret(RET_KILL_PROCESS),
    insn(LD_W_ABS, NR),
    ...(foreignAbiBit === null ? [] : [insn(JGE, foreignAbiBit, 0, 1), ret(RET_KILL_PROCESS)]),
  ];
}

/**
 * A search over sorted numbers: those in the list get `match`, the others `otherwise`.
 * Halves are split with JGE and a JA over the lower half (JA's offset is 32 bits; the
 * conditional jumps' are 8), so a list of any length stays a few compares deep.
 */
function lookup(numbers: number[], match: number, otherwise: number): Insn[] {
  if (numbers.length <= 8) {
    return [...numbers.flatMap((n) => [insn(JEQ, n, 0, 1), ret(match)]), ret(otherwise)];
  }
  const half = numbers.length >> 1;
  const lower = lookup(numbers.slice(0, half), match, otherwise);
  const upper = lookup(numbers.slice(half), match, otherwise);
  return [insn(JGE, numbers[half]!, 0, 1), insn(JA, lower.length), ...lower, ...upper];
}

/** Program 1: system_call_filter. */
function filterProgram(opts: SeccompOptions, arch: Arch): Insn[] | string | null {
  if (!opts.systemCallFilter?.length) return null;
  const merged = mergeFilter(opts.systemCallFilter);
  if (typeof merged === "string") return merged;
  const action = errorAction(opts.systemCallErrorNumber);
  if (typeof action === "string") return action;
  const numbers = numbersOf(merged.names, arch);
  return [...header(arch), ...(merged.allow ? lookup(numbers, RET_ALLOW, action) : lookup(numbers, action, RET_ALLOW))];
}

/** One system call's check, the number already in the accumulator; the block ends in returns. */
interface Rule { syscall: string; block: Insn[] }

/** deny when (arg & mask) != 0. */
const denyIfAnyBit = (index: number, mask: number, action: number): Insn[] => [
  insn(LD_W_ABS, arg(index)), insn(JSET, mask, 0, 1), ret(action), ret(RET_ALLOW),
];

/** Allowed (or denied) values of one argument: jumps straight to the verdict. */
function valueList(index: number, values: readonly number[], allowListed: boolean, action: number, mask?: number): Insn[] {
  const n = values.length;
  const load = [insn(LD_W_ABS, arg(index)), ...(mask === undefined ? [] : [insn(AND, mask)])];
  // after the i-th JEQ, n-1-i more JEQs then the two returns: the second return is n-i away
  const checks = values.map((v, i) => insn(JEQ, v, n - i, 0));
  return [...load, ...checks, ...(allowListed ? [ret(action), ret(RET_ALLOW)] : [ret(RET_ALLOW), ret(action)])];
}

/** The address family lines: which families socket() may make. */
function familyRule(lines: string[]): Rule | string {
  let allowListed = true;
  const families = new Set<number>();
  for (const line of readLines(lines)) {
    if (line.first) allowListed = !line.deny;
    for (const name of line.names) {
      if (name === "none" && line.first) continue;
      const family = ADDRESS_FAMILIES[name];
      if (family === undefined) return `unknown address family "${name}"`;
      if (line.deny !== allowListed) families.add(family);
      else families.delete(family);
    }
  }
  return { syscall: "socket", block: valueList(0, [...families].sort((a, b) => a - b), allowListed, errno("EAFNOSUPPORT")) };
}

/** The namespaces the unit may not make: their CLONE_NEW* flags. */
export function forbiddenNamespaces(value: boolean | string[]): number | string {
  if (value === false) return 0;
  const all = Object.values(NAMESPACE_FLAGS).reduce((a, b) => a | b, 0);
  if (value === true) return all;
  let allowed = 0;
  let allowListed = true;
  for (const line of readLines(value)) {
    if (line.first) allowListed = !line.deny;
    for (const name of line.names) {
      const flag = NAMESPACE_FLAGS[name];
      if (flag === undefined) return `unknown namespace type "${name}"`;
      allowed |= flag;
    }
  }
  return allowListed ? all & ~allowed : allowed;
}

function namespaceRules(forbidden: number): Rule[] {
  const eperm = errno("EPERM");
  return [
    { syscall: "unshare", block: denyIfAnyBit(0, forbidden, eperm) },
    { syscall: "clone", block: denyIfAnyBit(0, forbidden, eperm) },
    // setns(fd, 0) joins whatever fd is: refused when anything is forbidden
    { syscall: "setns", block: [insn(LD_W_ABS, arg(1)), insn(JEQ, 0, 1, 0), insn(JSET, forbidden, 0, 1), ret(eperm), ret(RET_ALLOW)] },
    { syscall: "clone3", block: [ret(errno("ENOSYS"))] }, // its flags are in memory: libc falls back to clone
  ];
}

/** Mode bits S_ISUID or S_ISGID in argument `mode`; with a flags argument, only when it has O_CREAT. */
function suidRules(): Rule[] {
  const eperm = errno("EPERM");
  const mode = (i: number) => denyIfAnyBit(i, S_ISUID_ISGID, eperm);
  const creating = (flags: number, modeArg: number): Insn[] => [
    insn(LD_W_ABS, arg(flags)), insn(JSET, O_CREAT, 0, 3), insn(LD_W_ABS, arg(modeArg)), insn(JSET, S_ISUID_ISGID, 0, 1),
    ret(eperm), ret(RET_ALLOW),
  ];
  return [
    { syscall: "chmod", block: mode(1) }, { syscall: "fchmod", block: mode(1) },
    { syscall: "fchmodat", block: mode(2) }, { syscall: "fchmodat2", block: mode(2) },
    { syscall: "mknod", block: mode(1) }, { syscall: "mknodat", block: mode(2) },
    { syscall: "creat", block: mode(1) },
    { syscall: "open", block: creating(1, 2) }, { syscall: "openat", block: creating(2, 3) },
    { syscall: "openat2", block: [ret(errno("ENOSYS"))] }, // its mode is in memory: libc falls back to openat
  ];
}

function wxRules(): Rule[] {
  const eperm = errno("EPERM");
  const wx = PROT_WRITE | PROT_EXEC;
  return [
    { syscall: "mmap", block: [insn(LD_W_ABS, arg(2)), insn(AND, wx), insn(JEQ, wx, 0, 1), ret(eperm), ret(RET_ALLOW)] },
    { syscall: "mprotect", block: denyIfAnyBit(2, PROT_EXEC, eperm) },
    { syscall: "pkey_mprotect", block: denyIfAnyBit(2, PROT_EXEC, eperm) },
    { syscall: "shmat", block: denyIfAnyBit(2, SHM_EXEC, eperm) },
  ];
}

/** Program 2: every other directive's checks, one block per system call. */
function checksProgram(opts: SeccompOptions, arch: Arch): Insn[] | string | null {
  const syscalls = SECCOMP_ARCH[arch].syscalls;
  const rules: Rule[] = [];
  const eperm = errno("EPERM");
  const refuse = (names: string[], action = eperm) => {
    for (const name of names) rules.push({ syscall: name, block: [ret(action)] });
  };
  if (opts.restrictAddressFamilies?.length) {
    const rule = familyRule(opts.restrictAddressFamilies);
    if (typeof rule === "string") return rule;
    rules.push(rule);
  }
  if (opts.restrictNamespaces !== undefined && opts.restrictNamespaces !== false) {
    const forbidden = forbiddenNamespaces(opts.restrictNamespaces);
    if (typeof forbidden === "string") return forbidden;
    if (forbidden !== 0) rules.push(...namespaceRules(forbidden));
  }
  if (opts.restrictRealtime) {
    rules.push({ syscall: "sched_setscheduler", block: valueList(1, REALTIME_POLICIES, false, eperm, ~SCHED_RESET_ON_FORK) });
    refuse(["sched_setattr"]); // its policy is in memory
  }
  if (opts.restrictSuidSgid) rules.push(...suidRules());
  if (opts.lockPersonality) rules.push({ syscall: "personality", block: valueList(0, [PER_LINUX, PERSONALITY_QUERY], true, eperm) });
  if (opts.memoryDenyWriteExecute) rules.push(...wxRules());
  if (opts.protectClock) refuse(expandSyscallName("@clock")!);
  if (opts.protectHostname) refuse(["sethostname", "setdomainname"]);
  if (opts.privateDevices) refuse(expandSyscallName("@raw-io")!);
  if (opts.protectKernelModules) refuse(expandSyscallName("@module")!);
  if (opts.protectKernelLogs) refuse(["syslog"]);
  if (opts.systemCallLog?.length) {
    const merged = mergeLog(opts.systemCallLog);
    if (typeof merged === "string") return merged;
    const logged = new Set(numbersOf(merged.names, arch));
    const all = Object.values(syscalls);
    const chosen = merged.allow ? logged : new Set(all.filter((n) => !logged.has(n)));
    for (const [name, n] of Object.entries(syscalls)) if (chosen.has(n)) rules.push({ syscall: name, block: [ret(RET_LOG)] });
  }
  const onArch = rules.filter((r) => syscalls[r.syscall] !== undefined);
  if (onArch.length === 0) return opts.systemCallArchitectures?.length ? [...header(arch), ret(RET_ALLOW)] : null;
  const body: Insn[] = [];
  const seen = new Set<number>();
  for (const rule of onArch) {
    const nr = syscalls[rule.syscall]!;
    if (seen.has(nr)) continue; // the first directive's check for a call stands
    seen.add(nr);
    if (rule.block.length > 255) return `too many values for ${rule.syscall}`;
    body.push(insn(JEQ, nr, 0, rule.block.length), ...rule.block);
  }
  return [...header(arch), ...body, ret(RET_ALLOW)];
}

/** system_call_log: an allow-style list of what to log, "~": all but those. */
function mergeLog(lines: string[]): { allow: boolean; names: Set<string> } | string {
  const merged = mergeFilter(lines);
  if (typeof merged === "string" || !merged.allow) return merged;
  for (const n of expandSyscallName("@default")!) if (!lines.some((l) => l.split(/\s+/).includes(n))) merged.names.delete(n);
  return merged;
}


/**
 * The programs for arch as the child loads them: each an 8-byte instruction count, then
 * its struct sock_filter array (u16 code, u8 jt, u8 jf, u32 k). Empty: no filter. A
 * string: what is wrong with a directive.
 */
export function buildSeccomp(opts: SeccompOptions, arch: Arch = ARCH): Uint8Array | string {
  const { name } = SECCOMP_ARCH[arch];
  if (opts.systemCallArchitectures?.some((a) => a !== "native" && a !== name)) {
    return `system_call_architectures: only "native" (${name}) can be allowed`;
  }
  const programs: Insn[][] = [];
  // The filter last: once it is loaded, loading another needs prctl, which it may refuse.
  for (const program of [checksProgram(opts, arch), filterProgram(opts, arch)]) {
    if (typeof program === "string") return program;
    if (program) programs.push(program);
  }
  if (programs.some((p) => p.length > 4096)) return "a seccomp program longer than the kernel's 4096 instructions";
  const size = programs.reduce((sum, p) => sum + 8 + 8 * p.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const program of programs) {
    view.setUint32(at, program.length, true);
    at += 8;
    for (const { code, jt, jf, k } of program) {
      view.setUint16(at, code, true);
      view.setUint8(at + 2, jt);
      view.setUint8(at + 3, jf);
      view.setUint32(at + 4, k, true);
      at += 8;
    }
  }
  return bytes;
}

