// Conditions and asserts (systemd's Condition*= / Assert*=, src/shared/condition.c): what
// each check means, worked out from facts the shell reads (ConditionFacts:
// src/manager/condition-facts.ts), and how the results of a unit's entries combine into
// one verdict. Pure: the facts are a port, the fake one in tests is a table.
import { CAPABILITY_NAMES } from "../../ffi/constants.ts";
import {
  amountComparison, ARCHITECTURES, CONTAINER_IDS, conditionText, kernelVersionExpressions, parseBoolean, VM_IDS,
  type CompareOp,
} from "../config/conditions.ts";
import type { Condition } from "../config/types.ts";

/** What a path is (stat, or lstat without `follow`). */
export interface PathFacts {
  kind: "file" | "dir" | "link" | "other";
  size: number;
  mode: number; // permission bits
  mtimeMs: number;
}

/**
 * The reads a check makes. Each may throw (permission denied, a file too large): the
 * check then does not hold. No read opens anything but a small regular file or a directory.
 */
export interface ConditionFacts {
  /** null: no such path. */
  stat(path: string, follow: boolean): PathFacts | null;
  /** Up to `max` names of a directory's entries (no . and ..); throws if it is none. */
  list(dir: string, max: number): string[];
  /** A small regular file's bytes as latin1 text; null when it is missing. */
  read(path: string): string | null;
  realpath(path: string): string;
  uname(): { release: string; machine: string; nodename: string };
  /** The architecture hearth itself was built for (process.arch). */
  processArch: string;
  env(name: string): string | undefined;
  /** CPUs the manager may run on (its affinity). */
  cpus(): number;
}

export type ConditionVerdict =
  | { met: true }
  // text: the entry that did not hold, as written ("condition_path_exists=/x"), or why the
  // triggering entries as a whole did not.
  | { met: false; assert: boolean; text: string };

/**
 * The verdict of a unit's entries from each one's result: conditions first, then asserts.
 * Within each, every entry without "|" must hold, and if there are "|" entries, one of them.
 */
export function judgeConditions(conditions: readonly Condition[], results: readonly boolean[]): ConditionVerdict {
  for (const assert of [false, true]) {
    const triggers: Condition[] = [];
    let triggered = false;
    for (let i = 0; i < conditions.length; i++) {
      const c = conditions[i]!;
      if (c.assert !== assert) continue;
      const holds = results[i] === true;
      if (c.trigger) {
        triggers.push(c);
        triggered ||= holds;
      } else if (!holds) {
        return { met: false, assert, text: conditionText(c) };
      }
    }
    if (triggers.length > 0 && !triggered) {
      const shown = triggers.slice(0, 4).map(conditionText).join(", ") + (triggers.length > 4 ? ` and ${triggers.length - 4} more` : "");
      return { met: false, assert, text: `none of the triggering entries holds: ${shown}` };
    }
  }
  return { met: true };
}

/** One entry's result: its check, negated with "!"; a check that cannot be made does not hold. */
export function testCondition(c: Condition, facts: ConditionFacts): boolean {
  let holds: boolean;
  try {
    holds = CHECKS[c.check](c.param, facts);
  } catch {
    return false;
  }
  return holds !== c.negate;
}

type Check = (param: string, f: ConditionFacts) => boolean;

const CHECKS: Record<Condition["check"], Check> = {
  path_exists: (p, f) => f.stat(p, true) !== null,
  path_exists_glob: (p, f) => globMatches(p, f),
  path_is_directory: (p, f) => f.stat(p, true)?.kind === "dir",
  path_is_symbolic_link: (p, f) => f.stat(p, false)?.kind === "link",
  path_is_mount_point: (p, f) => f.stat(p, true) !== null && mounts(f).some((m) => m.point === f.realpath(p)),
  // As systemd: a path that exists but whose file system cannot be told counts as read-write,
  // and a directory that cannot be read as not empty; only a missing one fails.
  path_is_read_write: (p, f) => f.stat(p, true) !== null && orTrue(() => !readOnlyFs(p, f)),
  directory_not_empty: (p, f) => f.stat(p, true)?.kind === "dir" && orTrue(() => f.list(p, 4096).some((n) => !hiddenOrBackup(n))),
  file_not_empty: (p, f) => {
    const st = f.stat(p, true);
    return st?.kind === "file" && st.size > 0;
  },
  file_is_executable: (p, f) => {
    const st = f.stat(p, true);
    return st?.kind === "file" && (st.mode & 0o111) !== 0;
  },
  kernel_command_line: (p, f) => kernelCommandLine(f).some((word) =>
    p.includes("=") ? word === p : word === p || word.startsWith(`${p}=`)),
  kernel_version: (p, f) => {
    const release = f.uname().release;
    const exprs = kernelVersionExpressions(p);
    if (typeof exprs === "string") return false;
    return exprs.every(({ op, value }) => {
      if (op === null || op === "=$") return globRegExp(value, false).test(release);
      if (op === "!=$") return !globRegExp(value, false).test(release);
      return compare(op, versionCompare(release, value));
    });
  },
  virtualization: (p, f) => {
    if (p === "private-users") return privateUsers(f);
    const v = detectVirtualization(f);
    const b = parseBoolean(p);
    if (b !== undefined) return (v !== null) === b;
    if (p === "vm") return v !== null && (VM_IDS as readonly string[]).includes(v);
    if (p === "container") return v !== null && (CONTAINER_IDS as readonly string[]).includes(v);
    return v === p;
  },
  architecture: (p, f) => {
    const arch = unameArchitecture(f.uname().machine);
    return p === "native" ? arch === NATIVE_ARCH[f.processArch] : arch === p;
  },
  host: (p, f) => {
    // An id: the machine id, the boot id or the product UUID; else (or also) a host name glob.
    const id = idOf(p);
    if (id !== null && ID_FILES.some((file) => { try { return idOf(f.read(file)?.trim() ?? "") === id; } catch { return false; } })) return true;
    return globRegExp(p, true, "i").test(f.uname().nodename);
  },
  credential: (p, f) => ["CREDENTIALS_DIRECTORY", "ENCRYPTED_CREDENTIALS_DIRECTORY"].some((name) => {
    const dir = f.env(name);
    return dir !== undefined && dir.startsWith("/") && f.stat(`${dir}/${p}`, true)?.kind === "file";
  }),
  environment: (p, f) => {
    const eq = p.indexOf("=");
    return eq < 0 ? f.env(p) !== undefined : f.env(p.slice(0, eq)) === p.slice(eq + 1);
  },
  first_boot: (p, f) => firstBoot(f) === parseBoolean(p),
  security: (p, f) => SECURITY[p]?.(f) ?? false,
  capability: (p, f) => {
    const bounding = statusField(f, "CapBnd");
    const bit = CAPABILITY_NAMES.indexOf(p.toUpperCase() as (typeof CAPABILITY_NAMES)[number]);
    return bounding !== null && bit >= 0 && ((BigInt(`0x${bounding}`) >> BigInt(bit)) & 1n) === 1n;
  },
  ac_power: (p, f) => onAcPower(f) === parseBoolean(p),
  needs_update: (p, f) => {
    const forced = kernelCommandLine(f).findLast((w) => w === "systemd.condition_needs_update" || w.startsWith("systemd.condition_needs_update="));
    if (forced !== undefined) return forced.includes("=") ? parseBoolean(forced.slice(forced.indexOf("=") + 1)) ?? true : true;
    if (readOnlyFs(p, f)) return false; // nothing can be updated there
    // Any other doubt means an update is needed: better too many update tools than too few.
    const updated = f.stat(`${p}/.updated`, false);
    const usr = f.stat("/usr", false);
    return updated === null || usr === null || usr.mtimeMs > updated.mtimeMs;
  },
  memory: (p, f) => {
    const cmp = amountComparison(p, true);
    const kb = /^MemTotal:\s+(\d+) kB/m.exec(f.read("/proc/meminfo") ?? "");
    return typeof cmp !== "string" && kb !== null && compare(cmp.op, Number(kb[1]) * 1024 - cmp.amount);
  },
  cpus: (p, f) => {
    const cmp = amountComparison(p, false);
    return typeof cmp !== "string" && compare(cmp.op, f.cpus() - cmp.amount);
  },
  control_group_controller: (p, f) => {
    const v2 = f.stat("/sys/fs/cgroup/cgroup.controllers", true) !== null;
    const available = new Set(v2 ? (f.read("/sys/fs/cgroup/cgroup.controllers") ?? "").split(/\s+/) : cgroupV1Controllers(f));
    return p.split(/\s+/).every((w) => w === "v2" ? v2 : w === "v1" ? !v2 && available.size > 0
      : w.startsWith("bpf-") ? v2 : available.has(w));
  },
};

/** The answer, or true when it cannot be had. */
function orTrue(answer: () => boolean): boolean {
  try {
    return answer();
  } catch {
    return true;
  }
}

function compare(op: CompareOp, diff: number): boolean {
  switch (op) {
    case "<": return diff < 0;
    case "<=": return diff <= 0;
    case "=": return diff === 0;
    case "!=": return diff !== 0;
    case ">=": return diff >= 0;
    case ">": return diff > 0;
  }
}

/** Version order as systemd's strverscmp_improved, in short: numbers by value, "~" first. */
export function versionCompare(a: string, b: string): number {
  const split = (s: string) => s.match(/~|\d+|[A-Za-z]+/g) ?? [];
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    if (p === "~") return -1;
    if (q === "~") return 1;
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d/.test(p);
    const qn = /^\d/.test(q);
    if (pn && qn) {
      const d = Number(p) - Number(q);
      if (d !== 0) return Math.sign(d);
      continue;
    }
    if (pn !== qn) return pn ? 1 : -1; // a number sorts after letters
    return p < q ? -1 : 1;
  }
  return 0;
}

/** fnmatch(3) without flags but FNM_CASEFOLD: * ? and [...] classes; `slash`: they do not match "/". */
export function globRegExp(pattern: string, anyChar: boolean, flags = ""): RegExp {
  const any = anyChar ? "." : "[^/]";
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") out += `${any}*`;
    else if (ch === "?") out += any;
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) { out += "\\["; continue; }
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      out += `[${negated ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else if (ch === "\\" && i + 1 < pattern.length) out += escapeRegExp(pattern[++i]!);
    else out += escapeRegExp(ch);
  }
  return new RegExp(`^${out}$`, flags);
}

function escapeRegExp(ch: string): string {
  return /[.*+?^${}()|[\]\\/-]/.test(ch) ? `\\${ch}` : ch;
}

const GLOB_CHARS = /[*?[]/;
/** Directory entries a glob may look at in all: a pattern over a huge tree gives up (and fails). */
const MAX_GLOB_ENTRIES = 16384;

/** glob(3) of an absolute pattern: does it match an existing path? Segment by segment. */
function globMatches(pattern: string, f: ConditionFacts): boolean {
  const segments = pattern.split("/").filter((s) => s !== "");
  let budget = MAX_GLOB_ENTRIES;
  const walk = (dir: string, i: number): boolean => {
    if (i === segments.length) return f.stat(dir, true) !== null;
    const seg = segments[i]!;
    const join = (name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
    if (!GLOB_CHARS.test(seg)) return walk(join(seg.replace(/\\(.)/g, "$1")), i + 1);
    if (f.stat(dir, true)?.kind !== "dir") return false;
    const names = f.list(dir, budget);
    budget -= names.length;
    if (budget <= 0) throw new Error("glob over too many entries");
    const re = globRegExp(seg, false);
    // As glob(3): a leading "." is matched only by a pattern that starts with one.
    return names.some((n) => (!n.startsWith(".") || seg.startsWith(".")) && re.test(n) && walk(join(n), i + 1));
  };
  return walk("/", 0);
}

const BACKUP_SUFFIXES = [
  "~", ".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-tmp", ".dpkg-dist", ".dpkg-bak",
  ".dpkg-backup", ".dpkg-remove", ".ucf-new", ".ucf-old", ".ucf-dist", ".swp", ".bak", ".old", ".new",
];

/** systemd's hidden_or_backup_file(): left out when a directory is checked for entries. */
function hiddenOrBackup(name: string): boolean {
  return name.startsWith(".") || BACKUP_SUFFIXES.some((s) => name.endsWith(s));
}

interface Mount { point: string; readOnly: boolean }

/** /proc/self/mountinfo: each mount point and whether it (or its superblock) is read-only. */
function mounts(f: ConditionFacts): Mount[] {
  const text = f.read("/proc/self/mountinfo");
  if (text === null) throw new Error("no /proc/self/mountinfo");
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (fields.length < 10 || dash < 6) continue;
    const point = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const ro = (opts: string | undefined) => (opts ?? "").split(",").includes("ro");
    out.push({ point, readOnly: ro(fields[5]) || ro(fields[dash + 3]) });
  }
  return out;
}

/** The path's file system is mounted read-only: the mount that holds it is the last one at its longest prefix. */
function readOnlyFs(path: string, f: ConditionFacts): boolean {
  const real = f.realpath(path);
  let best: Mount | null = null;
  for (const m of mounts(f)) {
    const under = m.point === "/" || real === m.point || real.startsWith(`${m.point}/`);
    if (under && (best === null || m.point.length >= best.point.length)) best = m;
  }
  return best?.readOnly ?? false;
}

/** The words of /proc/cmdline, quotes removed ('a="b c"' is one word). */
function kernelCommandLine(f: ConditionFacts): string[] {
  const text = f.read("/proc/cmdline") ?? "";
  return (text.match(/(?:[^\s"]+|"[^"]*"?)+/g) ?? []).map((w) => w.replace(/"/g, ""));
}

/** A line "Name:\tvalue" of /proc/self/status. */
function statusField(f: ConditionFacts, name: string): string | null {
  const m = new RegExp(`^${name}:\\s*(\\S+)`, "m").exec(f.read("/proc/self/status") ?? "");
  return m ? m[1]! : null;
}

/** In a user namespace that does not map every uid (systemd's running_in_userns). */
function privateUsers(f: ConditionFacts): boolean {
  const text = f.read("/proc/self/uid_map");
  if (text === null) return false; // no user namespaces at all
  const map = text.trim().split(/\s+/);
  return !(map.length === 3 && map[0] === "0" && map[1] === "0" && map[2] === "4294967295");
}

/**
 * The first boot: $SYSTEMD_FIRST_BOOT if set, or the marker systemd's PID 1 leaves; as
 * hearth leaves none, also no machine id yet (what makes systemd leave it).
 */
function firstBoot(f: ConditionFacts): boolean {
  const forced = parseBoolean(f.env("SYSTEMD_FIRST_BOOT") ?? "");
  if (forced !== undefined) return forced;
  if (f.stat("/run/systemd/first-boot", true) !== null) return true;
  const id = f.read("/etc/machine-id");
  return id === null || id.trim() === "" || id.trim() === "uninitialized";
}

/** Mains online: true; mains offline or batteries only: false; no power supply at all: true. */
function onAcPower(f: ConditionFacts): boolean {
  const base = "/sys/class/power_supply";
  if (f.stat(base, true)?.kind !== "dir") return true;
  let offline = false;
  for (const name of f.list(base, 64)) {
    const type = f.read(`${base}/${name}/type`)?.trim();
    if (type === "Battery") offline = true;
    if (type !== "Mains") continue;
    if (f.read(`${base}/${name}/online`)?.trim() === "1") return true;
    offline = true;
  }
  return !offline;
}

function cgroupV1Controllers(f: ConditionFacts): string[] {
  return (f.read("/proc/cgroups") ?? "").split("\n")
    .filter((l) => !l.startsWith("#")).map((l) => l.split(/\s+/)).filter((w) => w.length >= 4 && w[3] === "1").map((w) => w[0]!);
}

const ID_FILES = ["/etc/machine-id", "/proc/sys/kernel/random/boot_id", "/sys/class/dmi/id/product_uuid"];

/** A 128-bit id written as 32 hex digits or as a UUID, in lower-case hex; null: no id. */
function idOf(text: string): string | null {
  const hex = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text) ? text.replace(/-/g, "") : text;
  return /^[0-9a-fA-F]{32}$/.test(hex) ? hex.toLowerCase() : null;
}

const exists = (path: string) => (f: ConditionFacts) => f.stat(path, true) !== null;

const SECURITY: Record<string, (f: ConditionFacts) => boolean> = {
  selinux: exists("/sys/fs/selinux/enforce"),
  apparmor: (f) => (f.read("/sys/module/apparmor/parameters/enabled") ?? "").startsWith("Y"),
  tomoyo: exists("/sys/kernel/security/tomoyo/version"),
  ima: exists("/sys/kernel/security/ima"),
  smack: exists("/sys/fs/smackfs"),
  audit: exists("/proc/self/loginuid"),
  "uefi-secureboot": (f) => {
    const v = f.read("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c");
    return v !== null && v.length >= 5 && v.charCodeAt(4) === 1; // 4 bytes of attributes, then the value
  },
  tpm2: (f) => f.stat("/sys/class/tpmrm", true)?.kind === "dir" && f.list("/sys/class/tpmrm", 1).length > 0,
};

/**
 * The virtualization systemd's detect_virtualization() would name: a container first
 * (/run/systemd/container, $container, marker files), else a VM (device tree, DMI,
 * /sys/hypervisor, the cpuinfo hypervisor flag); null: none.
 */
export function detectVirtualization(f: ConditionFacts): string | null {
  const named = (f.read("/run/systemd/container")?.trim() || f.env("container")) ?? "";
  if (named !== "") return CONTAINER_NAMES[named] ?? "container-other";
  if (f.stat("/run/.containerenv", true) !== null) return "podman";
  if (f.stat("/.dockerenv", true) !== null) return "docker";
  if (/Microsoft|WSL/.test(f.read("/proc/sys/kernel/osrelease") ?? "")) return "wsl";
  if (f.stat("/proc/vz", true) !== null && f.stat("/proc/bc", true) === null) return "openvz";
  return detectVm(f);
}

const CONTAINER_NAMES: Record<string, string> = {
  "systemd-nspawn": "systemd-nspawn", "lxc-libvirt": "lxc-libvirt", lxc: "lxc", docker: "docker",
  podman: "podman", rkt: "rkt", wsl: "wsl", proot: "proot", pouch: "pouch", oci: "container-other",
};

/** DMI vendor strings (systemd's dmi_vendor_table), first match wins. */
const DMI_VENDORS: [string, string][] = [
  ["KVM", "kvm"], ["OpenStack", "kvm"], ["KubeVirt", "kvm"], ["Amazon EC2", "amazon"], ["QEMU", "qemu"],
  ["VMware", "vmware"], ["VMW", "vmware"], ["innotek GmbH", "oracle"], ["VirtualBox", "oracle"],
  ["Oracle Corporation", "oracle"], ["Xen", "xen"], ["Bochs", "bochs"], ["Parallels", "parallels"],
  ["BHYVE", "bhyve"], ["Hyper-V", "microsoft"], ["Apple Virtualization", "apple"], ["Google Compute Engine", "google"],
];

function detectVm(f: ConditionFacts): string | null {
  const dtHypervisor = f.read("/proc/device-tree/hypervisor/compatible") ?? "";
  if (dtHypervisor.includes("linux,kvm")) return "kvm";
  if (dtHypervisor.includes("xen")) return "xen";
  if (dtHypervisor.includes("vmware")) return "vmware";
  if (f.stat("/proc/device-tree", true)?.kind === "dir" && f.list("/proc/device-tree", 1024).some((n) => n.startsWith("fw-cfg"))) return "qemu";
  const dmi = dmiVendor(f);
  if (dmi === "oracle" || dmi === "xen" || dmi === "amazon") return dmi; // these DMI answers win, as in systemd
  // systemd asks CPUID next, which names KVM under QEMU; without CPUID the KVM clock says as much.
  if (/\bkvm-clock\b/.test(f.read("/sys/devices/system/clocksource/clocksource0/available_clocksource") ?? "")) return "kvm";
  if (dmi !== null) return dmi;
  const hypervisor = f.read("/sys/hypervisor/type")?.trim();
  if (hypervisor === "xen") return "xen";
  if (/^flags\s*:.*\bhypervisor\b/m.test(f.read("/proc/cpuinfo") ?? "")) return "vm-other";
  return null;
}

function dmiVendor(f: ConditionFacts): string | null {
  for (const file of ["product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"]) {
    const text = f.read(`/sys/class/dmi/id/${file}`) ?? "";
    for (const [vendor, id] of DMI_VENDORS) if (text.startsWith(vendor)) return id;
  }
  return null;
}

/** uname -m as systemd names it (uname_architecture()). */
export function unameArchitecture(machine: string): string | null {
  if (/^i[3-6]86$/.test(machine)) return "x86";
  if (/^armv\d.*b$/.test(machine)) return "arm-be";
  if (/^arm/.test(machine)) return "arm";
  return UNAME_ARCH[machine] ?? ((ARCHITECTURES as readonly string[]).includes(machine) ? machine : null);
}

const UNAME_ARCH: Record<string, string> = {
  x86_64: "x86-64", aarch64: "arm64", aarch64_be: "arm64-be", ppc: "ppc", ppcle: "ppc-le", ppc64: "ppc64",
  ppc64le: "ppc64-le", s390: "s390", s390x: "s390x", sparc: "sparc", sparc64: "sparc64", mips: "mips",
  mips64: "mips64", mipsel: "mips-le", mips64el: "mips64-le", alpha: "alpha", ia64: "ia64", parisc: "parisc",
  parisc64: "parisc64", sh: "sh", sh64: "sh64", m68k: "m68k", riscv32: "riscv32", riscv64: "riscv64",
  arc: "arc", arceb: "arc-be", loongarch64: "loongarch64",
};

/** process.arch as systemd's names. */
const NATIVE_ARCH: Record<string, string> = {
  x64: "x86-64", ia32: "x86", arm64: "arm64", arm: "arm", riscv64: "riscv64", ppc64: "ppc64-le", s390x: "s390x",
  loong64: "loongarch64", mips: "mips", mipsel: "mips-le",
};
