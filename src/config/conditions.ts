// The condition_* / assert_* keys of [unit] (systemd's Condition*= / Assert*=): the
// names they take, and the reading of each entry with its "|" and "!" prefixes. What
// each check means at start time is in src/engine/conditions.ts.
import { CAPABILITY_NAMES } from "../../ffi/constants.ts";
import { parseSize } from "./size.ts";
import type { Condition, ConditionCheck } from "./types.ts";

/** Every check, in the order the docs list them; each is a condition_X and an assert_X key. */
export const CONDITION_CHECKS: readonly ConditionCheck[] = [
  "path_exists", "path_exists_glob", "path_is_directory", "path_is_symbolic_link", "path_is_mount_point",
  "path_is_read_write", "directory_not_empty", "file_not_empty", "file_is_executable",
  "kernel_command_line", "kernel_version", "virtualization", "architecture", "host", "environment",
  "first_boot", "security", "capability", "ac_power", "needs_update", "memory", "cpus",
  "control_group_controller", "credential",
];

/** Entries of one key, and the length of one: far more than any real unit has. */
export const MAX_CONDITIONS_PER_KEY = 64;
export const MAX_CONDITION_LENGTH = 4096;

/** systemd's virtualization ids (src/basic/virt.c), and the kinds a condition may name. */
export const VM_IDS = [
  "kvm", "amazon", "qemu", "bochs", "xen", "uml", "vmware", "oracle", "microsoft", "zvm", "parallels",
  "bhyve", "qnx", "acrn", "powervm", "apple", "sre", "google", "vm-other",
] as const;
export const CONTAINER_IDS = [
  "systemd-nspawn", "lxc-libvirt", "lxc", "openvz", "docker", "podman", "rkt", "wsl", "proot", "pouch",
  "container-other",
] as const;
const VIRTUALIZATION_WORDS = ["vm", "container", "private-users", ...VM_IDS, ...CONTAINER_IDS];

/** systemd's architecture names (src/basic/architecture.c). */
export const ARCHITECTURES = [
  "x86", "x86-64", "ppc", "ppc-le", "ppc64", "ppc64-le", "ia64", "parisc", "parisc64", "s390", "s390x",
  "sparc", "sparc64", "mips", "mips-le", "mips64", "mips64-le", "alpha", "arm", "arm-be", "arm64",
  "arm64-be", "sh", "sh64", "m68k", "tilegx", "cris", "nios2", "riscv32", "riscv64", "arc", "arc-be",
  "loongarch64",
] as const;

export const SECURITY_NAMES = [
  "selinux", "apparmor", "tomoyo", "ima", "smack", "audit", "uefi-secureboot", "tpm2", "cvm", "measured-uki",
] as const;

/** Controllers a condition_control_group_controller may name, besides "v1" and "v2". */
export const CGROUP_CONTROLLERS = [
  "cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids", "hugetlb", "rdma", "misc",
  "freezer", "net_cls", "net_prio", "perf_event", "bpf-firewall", "bpf-devices", "bpf-foreign",
  "bpf-socket-bind", "bpf-restrict-network-interfaces",
] as const;

const BOOLEANS: Record<string, boolean> = {
  "1": true, yes: true, y: true, true: true, t: true, on: true,
  "0": false, no: false, n: false, false: false, f: false, off: false,
};

/** systemd's parse_boolean, or undefined. */
export function parseBoolean(text: string): boolean | undefined {
  return BOOLEANS[text.toLowerCase()];
}

export type CompareOp = "<" | "<=" | "=" | "!=" | ">=" | ">";
const OPERATORS: readonly CompareOp[] = ["<=", ">=", "!=", "<", ">", "="]; // longest first

/** A leading comparison operator and the rest, trimmed; op null when there is none. */
export function splitOperator(text: string): { op: CompareOp | null; rest: string } {
  const t = text.trimStart();
  for (const op of OPERATORS) if (t.startsWith(op)) return { op, rest: t.slice(op.length).trim() };
  return { op: null, rest: t.trim() };
}

/** The glob operators of condition_kernel_version: "=$" matches (as no operator does), "!=$" does not. */
export type GlobOp = "=$" | "!=$";

/** condition_kernel_version: space-separated expressions, each "OP VERSION" or a glob ("=$"/"!=$" or none). */
export function kernelVersionExpressions(param: string): { op: CompareOp | GlobOp | null; value: string }[] | string {
  const out: { op: CompareOp | GlobOp | null; value: string }[] = [];
  let rest = param.trim();
  while (rest.length > 0) {
    const glob = (["!=$", "=$"] as const).find((g) => rest.startsWith(g));
    const { op, rest: after } = glob ? { op: glob, rest: rest.slice(glob.length).trim() } : splitOperator(rest);
    const match = /^(\S+)\s*/.exec(after);
    if (!match) return `${op ?? ""} needs a version after it`;
    out.push({ op, value: match[1]! });
    rest = after.slice(match[0].length);
  }
  return out.length > 0 ? out : "expected a version expression";
}

/** condition_memory / condition_cpus: "[OP] N" (OP defaults to >=); memory takes "512M". */
export function amountComparison(param: string, bytes: boolean): { op: CompareOp; amount: number } | string {
  const { op, rest } = splitOperator(param);
  const amount = bytes ? parseSize(rest) : /^\d+$/.test(rest) ? Number(rest) : undefined;
  if (amount === undefined || !Number.isSafeInteger(amount)) {
    return bytes ? `expected [OP] a size ("1G", "512M")` : `expected [OP] a number of CPUs`;
  }
  return { op: op ?? ">=", amount };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MACHINE_ID = /^[0-9a-fA-F]{32}$/;

/**
 * One entry of condition_X / assert_X: "|" (triggering) then "!" (negated) then the
 * parameter, checked as the key wants it. A string is the error message.
 */
export function parseCondition(check: ConditionCheck, assert: boolean, raw: string): Condition | string {
  if (raw.length > MAX_CONDITION_LENGTH) return `too long: at most ${MAX_CONDITION_LENGTH} characters`;
  let text = raw.trim();
  const trigger = text.startsWith("|");
  if (trigger) text = text.slice(1).trimStart();
  const negate = text.startsWith("!");
  if (negate) text = text.slice(1).trimStart();
  if (text === "") return "expected a value (an empty one means nothing here: leave the entry out)";
  const problem = checkParam(check, text);
  return problem ?? { check, assert, trigger, negate, param: text };
}

function checkParam(check: ConditionCheck, p: string): string | null {
  switch (check) {
    case "path_exists": case "path_exists_glob": case "path_is_directory": case "path_is_symbolic_link":
    case "path_is_mount_point": case "path_is_read_write": case "directory_not_empty":
    case "file_not_empty": case "file_is_executable":
      return p.startsWith("/") ? null : `expected an absolute path`;
    case "kernel_command_line":
      return /\s/.test(p) ? `expected one word of the kernel command line` : null;
    case "kernel_version": {
      const parsed = kernelVersionExpressions(p);
      return typeof parsed === "string" ? parsed : null;
    }
    case "virtualization":
      return parseBoolean(p) !== undefined || VIRTUALIZATION_WORDS.includes(p) ? null
        : `unknown virtualization (a boolean, vm, container, private-users, or one of ${[...VM_IDS, ...CONTAINER_IDS].join(", ")})`;
    case "architecture":
      return p === "native" || (ARCHITECTURES as readonly string[]).includes(p) ? null
        : `unknown architecture (native, or one of ${ARCHITECTURES.join(", ")})`;
    case "credential":
      return p !== "" && p !== "." && p !== ".." && !p.includes("/") && p.length <= 255 ? null : "expected a credential name (a file name)";
    case "host":
      return p.length <= 255 || MACHINE_ID.test(p) ? null : "expected a host name (glob) or a machine id";
    case "environment": {
      const name = p.includes("=") ? p.slice(0, p.indexOf("=")) : p;
      return ENV_NAME.test(name) ? null : `expected NAME or NAME=VALUE`;
    }
    case "first_boot": case "ac_power":
      return parseBoolean(p) !== undefined ? null : `expected a boolean (true or false)`;
    case "security":
      return (SECURITY_NAMES as readonly string[]).includes(p) ? null : `unknown security technology (one of ${SECURITY_NAMES.join(", ")})`;
    case "capability":
      return (CAPABILITY_NAMES as readonly string[]).includes(p.toUpperCase()) ? null : "unknown capability";
    case "needs_update":
      return p === "/etc" || p === "/var" ? null : `expected /etc or /var`;
    case "memory": case "cpus": {
      const parsed = amountComparison(p, check === "memory");
      return typeof parsed === "string" ? parsed : null;
    }
    case "control_group_controller": {
      const unknown = p.split(/\s+/).filter((w) => w !== "v1" && w !== "v2" && !(CGROUP_CONTROLLERS as readonly string[]).includes(w));
      return unknown.length === 0 ? null : `unknown control group controller ${JSON.stringify(unknown[0])} (v1, v2, or one of ${CGROUP_CONTROLLERS.join(", ")})`;
    }
  }
}

/** How the entry was written: "condition_path_exists=|!/etc/foo" (for status and logs). */
export function conditionText(c: Condition): string {
  return `${c.assert ? "assert" : "condition"}_${c.check}=${c.trigger ? "|" : ""}${c.negate ? "!" : ""}${c.param}`;
}
