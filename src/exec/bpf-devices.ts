// device_allow and device_policy (systemd's DeviceAllow=, DevicePolicy=): the device
// program attached to a unit's cgroup (BPF_PROG_TYPE_CGROUP_DEVICE). The kernel runs it on
// every open and mknod of a device node by the unit's processes; 0 refuses with EPERM. Pure:
// the nodes and /proc/devices are read by the caller (src/exec/cgroup-bpf.ts).
//
// systemd's meaning (src/core/cgroup.c, bpf-devices.c):
//   - "auto" (the default) without device_allow: no program, every device;
//   - "closed", or "auto" with device_allow: the pseudo devices (null, zero, full, random,
//     urandom, tty, ptmx; /dev/pts/* read and write) and the listed ones;
//   - "strict": the listed ones only;
//   - private_devices = true makes "auto" "closed".
// A device_allow line is "PATH [rwm]" (read, write, mknod; none written: all three):
// a node under /dev/ (its type and numbers, /dev/char/M:N and /dev/block/M:N read from the
// name), "char-NAME" / "block-NAME" (every major of /proc/devices whose driver name matches
// the glob NAME; "*": the whole class; a number: that major).

import { BPF_DEVCG_ACC, BPF_DEVCG_DEV, DEVCG_CTX } from "../../ffi/bpf.ts";
import { ebpf, JOP, OP, type EbpfInsn } from "./ebpf.ts";

export type { DevicePolicy } from "./cgroup-bpf-options.ts";
export { effectivePolicy, wantsDeviceProgram } from "./cgroup-bpf-options.ts";
import { effectivePolicy, wantsDeviceProgram, type DevicePolicy } from "./cgroup-bpf-options.ts";

/** Devices of one class ("c" or "b"); a null number matches any. access: BPF_DEVCG_ACC bits. */
export interface DeviceRule { type: "c" | "b"; major: number | null; minor: number | null; access: number }

/** A device_allow line, read. */
export type DeviceAllowEntry =
  | { node: string; access: number }
  | { type: "c" | "b"; name: string; access: number };

const ALL_ACCESS = BPF_DEVCG_ACC.READ | BPF_DEVCG_ACC.WRITE | BPF_DEVCG_ACC.MKNOD;
const RW = BPF_DEVCG_ACC.READ | BPF_DEVCG_ACC.WRITE;

/** "PATH [rwm]"; a string says what is wrong. */
export function parseDeviceAllow(line: string): DeviceAllowEntry | string {
  const words = line.trim().split(/\s+/);
  if (words.length === 0 || words[0] === "" || words.length > 2) return `"${line}" is not "PATH [rwm]"`;
  const [path, rights = "rwm"] = words as [string, string?];
  if (!/^[rwm]+$/.test(rights)) return `"${rights}" in "${line}" is not made of r, w and m`;
  let access = 0;
  for (const c of rights) access |= c === "r" ? BPF_DEVCG_ACC.READ : c === "w" ? BPF_DEVCG_ACC.WRITE : BPF_DEVCG_ACC.MKNOD;
  if (path.startsWith("/dev/")) return path.includes("\0") ? `bad path in "${line}"` : { node: path, access };
  const klass = /^(char|block)-(.+)$/.exec(path);
  if (klass) return { type: klass[1] === "char" ? "c" : "b", name: klass[2]!, access };
  return `"${path}" is neither a /dev/ path nor char-NAME or block-NAME`;
}

/** /dev/char/M:N and /dev/block/M:N name their device; null for any other path. */
export function deviceFromPath(path: string): DeviceRule | null {
  const m = /^\/dev\/(char|block)\/(\d+):(\d+)$/.exec(path);
  return m ? { type: m[1] === "char" ? "c" : "b", major: Number(m[2]), minor: Number(m[3]), access: 0 } : null;
}

/** fnmatch(3) without flags: * ? and [...] classes. */
function globRegex(glob: string): RegExp {
  let out = "";
  for (let n = 0; n < glob.length; n++) {
    const c = glob[n]!;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", n + 2);
      if (end < 0) out += "\\[";
      else {
        out += `[${glob.slice(n + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        n = end;
      }
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** The majors of /proc/devices text whose name matches the glob, in the "Character devices:" or "Block devices:" part. */
export function majorsOf(procDevices: string, type: "c" | "b", name: string): number[] {
  const heading = type === "c" ? "Character devices:" : "Block devices:";
  const pattern = globRegex(name);
  const majors: number[] = [];
  let inPart = false;
  for (const line of procDevices.split("\n")) {
    if (line.trim() === "") inPart = false;
    else if (line === heading) inPart = true;
    else if (inPart) {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && Number(m[1]) > 0 && pattern.test(m[2]!)) majors.push(Number(m[1]));
    }
  }
  return majors;
}

/** What the caller reads for resolve(): a device node's type and numbers (or why not), and /proc/devices. */
export interface DeviceLookup {
  node(path: string): { type: "c" | "b"; major: number; minor: number } | string;
  procDevices(): string;
}

/** The pseudo devices of "closed" (systemd's static list; the numbers are fixed in Linux's devices.txt). */
export const PSEUDO_DEVICES: readonly DeviceRule[] = [
  ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2]].map(([major, minor]): DeviceRule =>
    ({ type: "c", major: major!, minor: minor!, access: ALL_ACCESS })),
];
/** /dev/pts/*: "char-pts rw". */
const PTS: DeviceAllowEntry = { type: "c", name: "pts", access: RW };

/**
 * The rules of a unit, its lines resolved through lookup; a line that resolves to nothing
 * (a missing node, a name no driver has) is a warning, as in systemd, and allows nothing.
 */
export function resolveDeviceRules(policy: DevicePolicy, allow: readonly string[], lookup: DeviceLookup): { rules: DeviceRule[]; warnings: string[] } {
  const rules: DeviceRule[] = [];
  const warnings: string[] = [];
  const entries: DeviceAllowEntry[] = [];
  if (policy === "closed" || (policy === "auto" && allow.length > 0)) {
    rules.push(...PSEUDO_DEVICES);
    entries.push(PTS);
  }
  for (const line of allow) {
    const entry = parseDeviceAllow(line);
    if (typeof entry === "string") warnings.push(`device_allow: ${entry}`);
    else entries.push(entry);
  }
  let procDevices: string | null = null;
  for (const entry of entries) {
    if ("node" in entry) {
      const device = deviceFromPath(entry.node) ?? lookup.node(entry.node);
      if (typeof device === "string") warnings.push(`device_allow: ${entry.node}: ${device}`);
      else rules.push({ ...device, access: entry.access });
    } else if (entry.name === "*") {
      rules.push({ type: entry.type, major: null, minor: null, access: entry.access });
    } else if (/^\d+$/.test(entry.name)) {
      rules.push({ type: entry.type, major: Number(entry.name), minor: null, access: entry.access });
    } else {
      procDevices ??= lookup.procDevices();
      const majors = majorsOf(procDevices, entry.type, entry.name);
      if (majors.length === 0 && entry !== PTS) {
        warnings.push(`device_allow: no ${entry.type === "c" ? "character" : "block"} device driver named "${entry.name}" in /proc/devices`);
      }
      for (const major of majors) rules.push({ type: entry.type, major, minor: null, access: entry.access });
    }
  }
  return { rules, warnings };
}

// Registers: r1 the context, then scratch; r2 type, r3 access, r4 major, r5 minor.
const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

/**
 * The program: each rule a block that falls through to the next unless the device
 * matches, then jumps to "allow"; past the last block, "deny". No rule: deny everything.
 */
export function deviceProgram(rules: readonly DeviceRule[]): EbpfInsn[] {
  const deny = [ebpf.mov64Imm(R0, 0), ebpf.exit()];
  if (rules.length === 0) return deny;
  const blocks = rules.map((rule) => {
    const tests: ((skip: number) => EbpfInsn)[] = [];
    const partial = (rule.access & ALL_ACCESS) !== ALL_ACCESS;
    if (partial) tests.push((skip) => ebpf.jmpReg(JOP.JNE, R1, R3, skip)); // asked for more than allowed
    tests.push((skip) => ebpf.jmpImm(JOP.JNE, R2, rule.type === "c" ? BPF_DEVCG_DEV.CHAR : BPF_DEVCG_DEV.BLOCK, skip));
    if (rule.major !== null) tests.push((skip) => ebpf.jmpImm(JOP.JNE, R4, rule.major!, skip));
    if (rule.minor !== null) tests.push((skip) => ebpf.jmpImm(JOP.JNE, R5, rule.minor!, skip));
    const prefix = partial ? [ebpf.mov32(R1, R3), ebpf.alu32Imm(OP.AND, R1, rule.access)] : [];
    return [...prefix, ...tests.map((test, n) => test(tests.length - n)), null]; // null: the jump to allow
  });
  const program: EbpfInsn[] = [
    ebpf.ldxW(R2, R1, DEVCG_CTX.accessType), ebpf.alu32Imm(OP.AND, R2, 0xffff),
    ebpf.ldxW(R3, R1, DEVCG_CTX.accessType), ebpf.alu32Imm(OP.RSH, R3, 16),
    ebpf.ldxW(R4, R1, DEVCG_CTX.major), ebpf.ldxW(R5, R1, DEVCG_CTX.minor),
  ];
  const allowAt = program.length + blocks.reduce((n, b) => n + b.length, 0) + deny.length;
  for (const block of blocks) {
    for (const insn of block) program.push(insn ?? ebpf.ja(allowAt - program.length - 1));
  }
  return [...program, ...deny, ebpf.mov64Imm(R0, 1), ebpf.exit()];
}
