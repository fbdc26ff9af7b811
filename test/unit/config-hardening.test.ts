// The [service] keys of the hardened execution context and the cgroup limits: how each
// value is read, what is refused (at its line and column), and what reaches the spawner.
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { cgroupLimits, sandboxRequest } from "../../src/manager/exec-context.ts";
import { CAPABILITIES } from "../../src/config/values.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const FILE = "units/box.toml";

function parse(...lines: string[]) {
  return parseUnitToml("box", ["[service]", 'exec_start = "/usr/bin/echod"', ...lines].join("\n"), FILE, defaultSystemConfig(), fakeEnv);
}

function service(...lines: string[]) {
  const result = parse(...lines);
  if (result.unit === null) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return result.unit.service!;
}

function problems(...lines: string[]): string[] {
  return parse(...lines).diagnostics.map(formatDiagnostic);
}

describe("reading the values", () => {
  test("defaults: nothing set, nothing asked of the spawner but systemd's SIGPIPE ignored", () => {
    const svc = service();
    expect(svc).toMatchObject({
      capability_bounding_set: null, ambient_capabilities: [], cpu_affinity: null, io_scheduling_class: null,
      io_scheduling_priority: null, read_only_paths: [], inaccessible_paths: [], private_tmp: false,
      memory_max: null, cpu_quota: null, tasks_max: null, ignore_sigpipe: true,
    });
    expect(sandboxRequest(svc)).toEqual({
      cpuAffinity: undefined, ioScheduling: undefined, capabilityBoundingSet: undefined, ambientCapabilities: undefined,
      sandbox: undefined, ignoreSigpipe: true,
    });
    expect(sandboxRequest(service("ignore_sigpipe = false")).ignoreSigpipe).toBe(false);
  });

  test("capability sets: names in any case, as an array or systemd's one string; ~ inverts", () => {
    expect(service('capability_bounding_set = ["sys_time", "CAP_NET_BIND_SERVICE"]').capability_bounding_set)
      .toEqual(["CAP_NET_BIND_SERVICE", "CAP_SYS_TIME"]);
    expect(service('capability_bounding_set = "CAP_CHOWN cap_kill"').capability_bounding_set).toEqual(["CAP_CHOWN", "CAP_KILL"]);
    const allBut = service('capability_bounding_set = "~CAP_SYS_ADMIN CAP_SYS_MODULE"').capability_bounding_set!;
    expect(allBut).toHaveLength(CAPABILITIES.length - 2);
    expect(allBut).not.toContain("CAP_SYS_ADMIN");
    expect(service('capability_bounding_set = ["~net_raw"]').capability_bounding_set).not.toContain("CAP_NET_RAW");
    expect(service("capability_bounding_set = []").capability_bounding_set).toEqual([]);
    expect(service('ambient_capabilities = ["CAP_NET_BIND_SERVICE"]').ambient_capabilities).toEqual(["CAP_NET_BIND_SERVICE"]);
  });

  test("CPU lists: numbers, ranges, strings of them; sorted, without repeats", () => {
    expect(service('cpu_affinity = [3, "0-1", "1"]').cpu_affinity).toEqual([0, 1, 3]);
    expect(service('cpu_affinity = "0-1,3 5"').cpu_affinity).toEqual([0, 1, 3, 5]);
    expect(service("cpu_affinity = 2").cpu_affinity).toEqual([2]);
  });

  test("limits: sizes and counts with infinity, percentages", () => {
    expect(service('memory_max = "512M"', 'cpu_quota = "150%"', "tasks_max = 64")).toMatchObject({
      memory_max: 512 * 2 ** 20, cpu_quota: 150, tasks_max: 64,
    });
    const unlimited = service('memory_max = "infinity"', 'cpu_quota = "12.5%"', 'tasks_max = "infinity"');
    expect(cgroupLimits(unlimited)).toEqual({ memoryMax: Infinity, cpuQuota: 12.5, tasksMax: Infinity });
  });

  test("paths keep their \"-\" and \"+\" marks for the spawner; private_tmp gets the unit's directories", () => {
    const svc = service('read_only_paths = ["/", "-/data"]', 'inaccessible_paths = "/root"', 'read_write_paths = ["-+/srv"]', "private_tmp = true");
    const privateTmp = { tmp: "/tmp/hearth-private-x/tmp", varTmp: null };
    expect(sandboxRequest(svc, { privateTmp, writableDirectories: ["/run/x"] }).sandbox).toMatchObject({
      readOnlyPaths: ["/", "-/data"], inaccessiblePaths: ["/root"], readWritePaths: ["-+/srv"], privateTmp, writableDirectories: ["/run/x"],
    });
  });

  test("protect_system and protect_home take true, false or systemd's words; private_devices drops CAP_MKNOD", () => {
    expect(service('protect_system = "strict"', 'protect_home = "read-only"')).toMatchObject({ protect_system: "strict", protect_home: "read-only" });
    expect(service("protect_system = true", "protect_home = false")).toMatchObject({ protect_system: true, protect_home: false });
    expect(problems('protect_system = "yes"')).toEqual([
      `${FILE}:3:18: error: protect_system: expected true, false or one of full, strict; got "yes"`,
    ]);
    const bounding = sandboxRequest(service("private_devices = true")).capabilityBoundingSet!;
    expect(bounding).toHaveLength(CAPABILITIES.length - 2);
    expect(bounding).not.toContain("CAP_MKNOD");
    expect(bounding).not.toContain("CAP_SYS_RAWIO");
    expect(sandboxRequest(service("private_devices = true", 'capability_bounding_set = ["CAP_MKNOD", "CAP_KILL"]')).capabilityBoundingSet)
      .toEqual(["CAP_KILL"]);
  });

  test("I/O scheduling as systemd completes it: class alone gets level 4, level alone is best-effort", () => {
    expect(sandboxRequest(service('io_scheduling_class = "idle"')).ioScheduling).toEqual({ class: "idle", priority: 4 });
    expect(sandboxRequest(service("io_scheduling_priority = 7")).ioScheduling).toEqual({ class: "best-effort", priority: 7 });
    expect(sandboxRequest(service('io_scheduling_class = "realtime"', "io_scheduling_priority = 0")).ioScheduling)
      .toEqual({ class: "realtime", priority: 0 });
  });
});

describe("refused values, at their place", () => {
  test("sandbox values the spawner could not use: at their place, with what is wrong", () => {
    expect(problems('restrict_address_families = ["AF_UNIX AF_NOPE"]')).toEqual([
      `${FILE}:3:29: error: restrict_address_families: unknown address family "AF_NOPE"`,
    ]);
    expect(problems('system_call_filter = ["@system-service", "~@nonsense"]')).toEqual([
      `${FILE}:3:22: error: system_call_filter: unknown system call group "@nonsense"`,
    ]);
    expect(problems('bind_paths = ["/a:/b:bogus"]')).toEqual([
      `${FILE}:3:14: error: bind_paths: "/a:/b:bogus": expected SOURCE[:DEST[:rbind|norbind]]`,
    ]);
    expect(problems('restrict_namespaces = ["net", "nope"]')[0]).toContain('unknown namespace type "nope"');
    expect(problems('system_call_error_number = "EFOO"')[0]).toContain("expected one of kill, EPERM");
    expect(problems('restrict_namespaces = true', 'system_call_filter = ["~@mount"]', 'system_call_error_number = "EPERM"')).toEqual([]);
  });

  test("device_allow and ip_address_* lines systemd would not take: at their place, with what is wrong", () => {
    expect(problems('device_allow = ["/dev/null rwx"]')).toEqual([`${FILE}:3:16: error: device_allow: "rwx" in "/dev/null rwx" is not made of r, w and m`]);
    expect(problems('device_allow = ["tty0 r"]')[0]).toContain('"tty0" is neither a /dev/ path nor char-NAME or block-NAME');
    expect(problems('ip_address_deny = ["any", "10.0.0.0/40"]')[0]).toContain('"10.0.0.0/40": prefix length over 32');
    expect(problems('device_policy = "open"')[0]).toContain("expected one of auto, closed, strict");
    expect(problems('socket_bind_allow = ["tcp:99999"]')[0]).toContain('"tcp:99999": "99999" is not a port (0-65535) or a range of them');
    expect(problems('device_policy = "strict"', 'device_allow = ["/dev/null rw", "char-* r", "block-loop"]',
      'ip_address_allow = ["localhost 10.0.0.0/8 fe80::/64"]', 'ip_address_deny = ["any"]')).toEqual([]);
  });

  test("an unknown capability, with a suggestion", () => {
    expect(problems('capability_bounding_set = ["CAP_NET_BIND_SERVIC", "CAP_SYS_ADMNI"]')).toEqual([
      `${FILE}:3:28: error: capability_bounding_set[0]: unknown capability "CAP_NET_BIND_SERVIC"; did you mean 'CAP_NET_BIND_SERVICE'?`,
      `${FILE}:3:51: error: capability_bounding_set[1]: unknown capability "CAP_SYS_ADMNI"; did you mean 'CAP_SYS_ADMIN'?`,
    ]);
  });

  test("CPU lists", () => {
    expect(problems('cpu_affinity = ["3-1"]')).toEqual([
      `${FILE}:3:17: error: cpu_affinity[0]: "3-1" is not a CPU number or range (0 to 8191, like 3 or "2-5")`,
    ]);
    expect(problems("cpu_affinity = [true]")).toEqual([
      `${FILE}:3:17: error: cpu_affinity[0]: expected CPU numbers or ranges like 0, "2-3" or "0-1,3", got the boolean true`,
    ]);
  });

  test("limits", () => {
    expect(problems('cpu_quota = "50"')).toEqual([
      `${FILE}:3:13: error: cpu_quota: expected a percentage above 0 like "50%" or "150%", got the string "50"`,
    ]);
    expect(problems('memory_max = "lots"')).toEqual([
      `${FILE}:3:14: error: memory_max: expected a size in bytes (an integer, or "64K", "1M", "2G", or "infinity"), got the string "lots"`,
    ]);
    expect(problems("tasks_max = 0")).toEqual([`${FILE}:3:13: error: tasks_max: 0 is out of range (1 to 4194304)`]);
    expect(problems("io_scheduling_priority = 8")).toEqual([
      `${FILE}:3:26: error: io_scheduling_priority: 8 is out of range (0 to 7)`,
    ]);
    expect(problems('io_scheduling_class = "best_effort"')).toEqual([
      `${FILE}:3:23: error: io_scheduling_class: expected one of realtime, best-effort, idle, none; got "best_effort"; did you mean 'best-effort'?`,
    ]);
  });

  test("relative paths", () => {
    expect(problems('read_only_paths = ["data"]')).toEqual([
      `${FILE}:3:20: error: read_only_paths[0]: expected an absolute path, got "data"`,
    ]);
  });

  test("ambient capabilities outside the bounding set: a warning, they are left out", () => {
    expect(problems('capability_bounding_set = ["CAP_NET_RAW"]', 'ambient_capabilities = ["CAP_NET_RAW", "CAP_SYS_TIME"]')).toEqual([
      `${FILE}:4:24: warning: ambient_capabilities: CAP_SYS_TIME not in capability_bounding_set: left out of the ambient set`,
    ]);
  });
});
