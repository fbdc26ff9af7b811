// Conditions and asserts as pure code: reading the entries (with their FILE:LINE:COL
// errors), combining results ("!" and "|"), and each check against a table of facts.
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { parseCondition } from "../../src/config/conditions.ts";
import type { Condition, ConditionCheck } from "../../src/config/types.ts";
import { judgeConditions, testCondition, versionCompare, type ConditionFacts, type PathFacts } from "../../src/engine/conditions.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

function entry(check: ConditionCheck, text: string, assert = false): Condition {
  const c = parseCondition(check, assert, text);
  if (typeof c === "string") throw new Error(c);
  return c;
}

/** Facts from tables: files (path -> text), directories, symbolic links, environment. */
function facts(over: {
  files?: Record<string, string>; dirs?: string[]; links?: string[]; modes?: Record<string, number>;
  env?: Record<string, string>; release?: string; machine?: string; nodename?: string; cpus?: number;
} = {}): ConditionFacts {
  const files = over.files ?? {};
  const dirs = new Set(["/", ...(over.dirs ?? [])]);
  const stat = (p: string, follow: boolean): PathFacts | null => {
    if (!follow && over.links?.includes(p)) return { kind: "link", size: 0, mode: 0o777, mtimeMs: 0 };
    if (dirs.has(p)) return { kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 };
    if (p in files) return { kind: "file", size: files[p]!.length, mode: over.modes?.[p] ?? 0o644, mtimeMs: 0 };
    return null;
  };
  return {
    stat,
    list: (dir) => {
      if (!dirs.has(dir)) throw new Error("not a directory");
      const prefix = dir === "/" ? "/" : `${dir}/`;
      const names = [...Object.keys(files), ...dirs].filter((p) => p.startsWith(prefix) && p !== dir).map((p) => p.slice(prefix.length).split("/")[0]!);
      return [...new Set(names)];
    },
    read: (p) => files[p] ?? null,
    realpath: (p) => p,
    uname: () => ({ release: over.release ?? "6.1.0-18-arm64", machine: over.machine ?? "aarch64", nodename: over.nodename ?? "board-7" }),
    processArch: "arm64",
    env: (name) => over.env?.[name],
    cpus: () => over.cpus ?? 4,
  };
}

const holds = (f: ConditionFacts, check: ConditionCheck, text: string) => testCondition(entry(check, text), f);

describe("combining the entries of a unit", () => {
  const c = (text: string, assert = false) => entry("path_exists", text, assert);

  test("no entries: the start goes on", () => {
    expect(judgeConditions([], [])).toEqual({ met: true });
  });

  test("every plain entry must hold; the first that does not is named", () => {
    expect(judgeConditions([c("/a"), c("/b")], [true, true])).toEqual({ met: true });
    expect(judgeConditions([c("/a"), c("!/b")], [true, false])).toEqual({ met: false, assert: false, text: "condition_path_exists=!/b" });
  });

  test("triggering entries: one of them is enough, none is not", () => {
    const list = [c("|/a"), c("|/tmp")];
    expect(judgeConditions(list, [false, true])).toEqual({ met: true });
    expect(judgeConditions(list, [false, false])).toEqual({
      met: false, assert: false, text: "none of the triggering entries holds: condition_path_exists=|/a, condition_path_exists=|/tmp",
    });
  });

  test("a plain entry that fails wins over triggering ones that hold", () => {
    expect(judgeConditions([c("|/tmp"), c("/etc/x")], [true, false]).met).toBe(false);
  });

  test("conditions are judged before asserts: a failing condition skips, even if an assert fails too", () => {
    expect(judgeConditions([c("/x", true), c("/y")], [false, false])).toEqual({ met: false, assert: false, text: "condition_path_exists=/y" });
    expect(judgeConditions([c("/x", true), c("/y")], [false, true])).toEqual({ met: false, assert: true, text: "assert_path_exists=/x" });
  });
});

describe("reading an entry", () => {
  test('"|" then "!" with spaces allowed, as systemd reads them', () => {
    expect(entry("path_exists", "| ! /etc/foo")).toEqual({ check: "path_exists", assert: false, trigger: true, negate: true, param: "/etc/foo" });
  });

  test("what each key refuses", () => {
    expect(parseCondition("path_exists", false, "etc/foo")).toBe("expected an absolute path");
    expect(parseCondition("path_exists", false, "!")).toMatch(/^expected a value/);
    expect(parseCondition("virtualization", false, "vmwear")).toMatch(/^unknown virtualization \(/);
    expect(parseCondition("architecture", false, "amd64")).toMatch(/^unknown architecture \(/);
    expect(parseCondition("capability", false, "CAP_NOPE")).toBe("unknown capability");
    expect(parseCondition("first_boot", false, "maybe")).toMatch(/boolean/);
    expect(parseCondition("kernel_version", false, ">=")).toMatch(/needs a version/);
    expect(parseCondition("environment", false, "1X=2")).toMatch(/NAME=VALUE/);
    expect(parseCondition("needs_update", false, "/usr")).toMatch(/\/etc or \/var/);
    expect(parseCondition("memory", false, ">= lots")).toMatch(/size/);
    expect(parseCondition("control_group_controller", false, "memory gpu")).toMatch(/^unknown control group controller "gpu"/);
    expect(parseCondition("path_exists", false, `/${"a".repeat(5000)}`)).toMatch(/too long/);
  });

  test("a bad entry in a unit file is an error at its FILE:LINE:COL, and the unit is not loaded", () => {
    const text = ['[unit]', 'condition_path_exists = ["/etc/ok", "relative"]', 'assert_architecture = "amd64"', "[service]", 'exec_start = "/bin/true"'].join("\n");
    const r = parseUnitToml("svc", text, "units/svc.toml", defaultSystemConfig(), fakeEnv);
    expect(r.unit).toBeNull();
    const shown = r.diagnostics.map(formatDiagnostic);
    expect(shown[0]).toBe('units/svc.toml:2:37: error: condition_path_exists[1]: "relative": expected an absolute path');
    expect(shown[1]).toMatch(/^units\/svc\.toml:3:23: error: assert_architecture: "amd64": unknown architecture/);
  });

  test("more than 64 entries in a key are refused", () => {
    const list = Array.from({ length: 65 }, (_, i) => `"/p${i}"`).join(", ");
    const r = parseUnitToml("svc", `[unit]\ncondition_path_exists = [${list}]\n`, "units/svc.toml", defaultSystemConfig(), fakeEnv);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(["units/svc.toml:2:25: error: condition_path_exists: 65 entries: at most 64"]);
  });

  test("a good unit carries its entries, conditions then asserts", () => {
    const text = ['[unit]', 'assert_path_exists = "/etc/a"', 'condition_kernel_command_line = ["!quiet"]', "[service]", 'exec_start = "/bin/true"'].join("\n");
    const r = parseUnitToml("svc", text, "units/svc.toml", defaultSystemConfig(), fakeEnv);
    expect(r.diagnostics).toEqual([]);
    expect(r.unit!.conditions!.map((c) => `${c.assert ? "assert" : "condition"}_${c.check}=${c.negate ? "!" : ""}${c.param}`))
      .toEqual(["condition_kernel_command_line=!quiet", "assert_path_exists=/etc/a"]);
  });
});

describe("each check against the facts", () => {
  const f = facts({
    files: {
      "/etc/foo.conf": "x", "/etc/empty": "", "/usr/sbin/daemon": "ELF", "/etc/conf.d/a.conf": "1",
      "/proc/cmdline": 'console=ttyAMA0,115200 root=/dev/vda2 quiet init="/sbin/my init"\n',
      "/proc/self/status": "Name:\thearth\nCapBnd:\t0000000000000400\n", // CAP_NET_BIND_SERVICE only (bit 10)
      "/proc/meminfo": "MemTotal:        1000000 kB\n",
      "/etc/machine-id": "0123456789abcdef0123456789abcdef\n",
      "/proc/self/mountinfo": "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/vda2 rw\n30 22 0:5 / /boot ro,relatime - vfat /dev/vda1 rw\n",
      "/sys/class/dmi/id/sys_vendor": "QEMU\n",
    },
    dirs: ["/etc", "/etc/conf.d", "/etc/hidden.d", "/usr", "/usr/sbin", "/boot", "/proc", "/proc/self", "/sys", "/sys/class", "/sys/class/dmi", "/sys/class/dmi/id"],
    links: ["/etc/foo.conf"],
    modes: { "/usr/sbin/daemon": 0o755 },
    env: { container: "" as string, LANG: "C.UTF-8" },
  });
  const noContainer = facts({ ...{ files: { "/sys/class/dmi/id/sys_vendor": "QEMU\n" }, dirs: ["/sys", "/sys/class", "/sys/class/dmi", "/sys/class/dmi/id"] } });

  test("paths and files", () => {
    expect(holds(f, "path_exists", "/etc/foo.conf")).toBe(true);
    expect(holds(f, "path_exists", "!/etc/foo.conf")).toBe(false);
    expect(holds(f, "path_exists", "/nonexistent")).toBe(false);
    expect(holds(f, "path_exists", "!/nonexistent")).toBe(true);
    expect(holds(f, "path_is_directory", "/etc")).toBe(true);
    expect(holds(f, "path_is_directory", "/etc/foo.conf")).toBe(false);
    expect(holds(f, "path_is_symbolic_link", "/etc/foo.conf")).toBe(true);
    expect(holds(f, "file_not_empty", "/etc/foo.conf")).toBe(true);
    expect(holds(f, "file_not_empty", "/etc/empty")).toBe(false);
    expect(holds(f, "file_is_executable", "/usr/sbin/daemon")).toBe(true);
    expect(holds(f, "file_is_executable", "/etc/foo.conf")).toBe(false);
    expect(holds(f, "directory_not_empty", "/etc/conf.d")).toBe(true);
    expect(holds(f, "directory_not_empty", "/etc/hidden.d")).toBe(false);
    expect(holds(f, "directory_not_empty", "/etc/foo.conf")).toBe(false);
  });

  test("globs match existing paths segment by segment", () => {
    expect(holds(f, "path_exists_glob", "/etc/conf.d/*.conf")).toBe(true);
    expect(holds(f, "path_exists_glob", "/etc/*/a.con?")).toBe(true);
    expect(holds(f, "path_exists_glob", "/etc/conf.d/*.service")).toBe(false);
    expect(holds(f, "path_exists_glob", "/etc/[cd]onf.d")).toBe(true);
  });

  test("mount points and read-only file systems come from mountinfo", () => {
    expect(holds(f, "path_is_mount_point", "/boot")).toBe(true);
    expect(holds(f, "path_is_mount_point", "/etc")).toBe(false);
    expect(holds(f, "path_is_read_write", "/etc")).toBe(true);
    expect(holds(f, "path_is_read_write", "/boot")).toBe(false);
  });

  test("the kernel command line: a word, an assignment, a name alone, quotes", () => {
    expect(holds(f, "kernel_command_line", "quiet")).toBe(true);
    expect(holds(f, "kernel_command_line", "console")).toBe(true);
    expect(holds(f, "kernel_command_line", "root=/dev/vda2")).toBe(true);
    expect(holds(f, "kernel_command_line", "root=/dev/vda1")).toBe(false);
    expect(holds(f, "kernel_command_line", "init")).toBe(true);
    expect(holds(f, "kernel_command_line", "roo")).toBe(false);
    expect(holds(f, "kernel_command_line", "!debug")).toBe(true);
  });

  test("the kernel version: comparisons, several at once, and globs", () => {
    expect(holds(f, "kernel_version", ">= 5.10")).toBe(true);
    expect(holds(f, "kernel_version", ">=5.10 <6.2")).toBe(true);
    expect(holds(f, "kernel_version", "< 6.1")).toBe(false);
    expect(holds(f, "kernel_version", "6.1.*")).toBe(true);
    expect(holds(f, "kernel_version", "5.*")).toBe(false);
    // systemd's glob operators: "=$" matches as no operator does, "!=$" must not match
    expect(holds(f, "kernel_version", "=$ 6.1.*")).toBe(true);
    expect(holds(f, "kernel_version", "=$5.*")).toBe(false);
    expect(holds(f, "kernel_version", "!=$ 5.* >= 6")).toBe(true);
    expect(holds(f, "kernel_version", "!=$ 6.1.*")).toBe(false);
    expect(versionCompare("6.1.0-18-arm64", "6.1")).toBe(1);
    expect(versionCompare("6.10", "6.9")).toBe(1);
    expect(versionCompare("1.0~rc1", "1.0")).toBe(-1);
  });

  test("architecture in systemd's names", () => {
    expect(holds(f, "architecture", "arm64")).toBe(true);
    expect(holds(f, "architecture", "native")).toBe(true);
    expect(holds(f, "architecture", "x86-64")).toBe(false);
    expect(holds(facts({ machine: "armv7l" }), "architecture", "arm")).toBe(true);
  });

  test("virtualization: a VM from DMI, a container from $container", () => {
    expect(holds(noContainer, "virtualization", "qemu")).toBe(true);
    expect(holds(noContainer, "virtualization", "vm")).toBe(true);
    expect(holds(noContainer, "virtualization", "yes")).toBe(true);
    expect(holds(noContainer, "virtualization", "container")).toBe(false);
    const docker = facts({ env: { container: "docker" } });
    expect(holds(docker, "virtualization", "docker")).toBe(true);
    expect(holds(docker, "virtualization", "container")).toBe(true);
    expect(holds(facts(), "virtualization", "no")).toBe(true);
    const kvm = facts({
      files: { "/sys/class/dmi/id/sys_vendor": "QEMU\n", "/sys/devices/system/clocksource/clocksource0/available_clocksource": "kvm-clock tsc acpi_pm \n" },
    });
    expect(holds(kvm, "virtualization", "kvm")).toBe(true); // QEMU with KVM is "kvm", as systemd's CPUID check says
    expect(holds(kvm, "virtualization", "qemu")).toBe(false);
    expect(holds(facts(), "virtualization", "!vm")).toBe(true);
  });

  test("capability, host, environment, first boot, memory, CPUs", () => {
    expect(holds(f, "capability", "CAP_NET_BIND_SERVICE")).toBe(true);
    expect(holds(f, "capability", "CAP_SYS_ADMIN")).toBe(false);
    expect(holds(f, "host", "board-*")).toBe(true);
    expect(holds(f, "host", "BOARD-7")).toBe(true);
    expect(holds(f, "host", "0123456789ABCDEF0123456789ABCDEF")).toBe(true);
    expect(holds(f, "host", "server")).toBe(false);
    expect(holds(f, "environment", "LANG")).toBe(true);
    expect(holds(f, "environment", "LANG=C.UTF-8")).toBe(true);
    expect(holds(f, "environment", "LANG=C")).toBe(false);
    expect(holds(f, "environment", "HOME")).toBe(false);
    expect(holds(f, "first_boot", "false")).toBe(true);
    expect(holds(facts(), "first_boot", "yes")).toBe(true); // no /etc/machine-id yet
    expect(holds(f, "memory", ">= 512M")).toBe(true);
    expect(holds(f, "memory", "2G")).toBe(false);
    expect(holds(f, "cpus", "> 2")).toBe(true);
    expect(holds(f, "cpus", "= 1")).toBe(false);
  });

  test("a check that cannot be made does not hold, negated or not", () => {
    const broken: ConditionFacts = { ...f, stat: () => { throw new Error("EACCES"); } };
    expect(holds(broken, "path_exists", "/etc/foo.conf")).toBe(false);
    expect(holds(broken, "path_exists", "!/etc/foo.conf")).toBe(false);
    // ... but as in systemd, an unreadable directory is not empty and an unknown file system read-write.
    const unreadable: ConditionFacts = { ...f, list: () => { throw new Error("EACCES"); }, read: () => { throw new Error("EACCES"); } };
    expect(holds(unreadable, "directory_not_empty", "/etc/hidden.d")).toBe(true);
    expect(holds(unreadable, "path_is_read_write", "/boot")).toBe(true);
    expect(holds(unreadable, "path_is_read_write", "/nonexistent")).toBe(false);
  });
});
