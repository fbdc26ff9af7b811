// From a unit's configuration to what the spawner needs: environment, ids, limits.
// Pure except for reading environment files and the user database, which the caller
// passes in as text readers so tests can feed them.
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import type { ServiceSection } from "../config/types.ts";
import { DEFAULT_PATH } from "../exec/executable.ts";
import type { CgroupLimits } from "../exec/cgroup.ts";
import type { SpawnRequest } from "../exec/spawner.ts";
import type { Sandbox } from "../exec/mount-plan.ts";
import { wantsSeccomp, type SeccompOptions } from "../exec/seccomp-options.ts";
import { usesMountNamespace } from "../config/sandbox-keys.ts";
import { CAPABILITY_NAMES, SECUREBITS } from "../../ffi/constants.ts";
import { cpuScheduling } from "../exec/cpu-scheduling.ts";

/** Parse an EnvironmentFile: KEY=VALUE lines, # comments, optional quotes, "export ". */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) {
      value = value.slice(1, -1);
      if (m[2]![0] === '"') value = value.replace(/\\(["\\$`])/g, "$1").replace(/\\n/g, "\n");
    }
    env[m[1]!] = value;
  }
  return env;
}

export interface EnvironmentInputs {
  unit: string;
  cfg: ServiceSection;
  notifySocket: string | null;
  managerEnv: Record<string, string>; // what every service inherits (PATH, LANG...)
  directoryEnv?: Record<string, string>; // RUNTIME_DIRECTORY and the like (./unit-directories.ts)
  readFile: (path: string) => string | null; // null when missing
  user?: { name: string; home: string; shell: string } | null;
  watchdogUsec?: number;
  listenFdNames?: string[];
}

/** The environment of a service process, in systemd's order of precedence. */
export function serviceEnvironment(inp: EnvironmentInputs): { env: Record<string, string>; errors: string[] } {
  const errors: string[] = [];
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...inp.managerEnv };
  if (inp.user) {
    env.USER = inp.user.name;
    env.LOGNAME = inp.user.name;
    env.HOME = inp.user.home;
    env.SHELL = inp.user.shell;
  }
  env.INVOCATION_UNIT = inp.unit;
  if (inp.notifySocket && inp.cfg.notify_access !== "none") env.NOTIFY_SOCKET = inp.notifySocket;
  if (inp.watchdogUsec && inp.watchdogUsec > 0) env.WATCHDOG_USEC = String(Math.round(inp.watchdogUsec));
  if (inp.listenFdNames && inp.listenFdNames.length > 0) {
    env.LISTEN_FDS = String(inp.listenFdNames.length);
    env.LISTEN_FDNAMES = inp.listenFdNames.join(":");
  }
  const term = terminalType(inp.cfg, inp.readFile);
  if (term) env.TERM = term;
  Object.assign(env, inp.directoryEnv); // systemd's own variables: environment may override them
  Object.assign(env, inp.cfg.environment);
  for (const spec of inp.cfg.environment_file) {
    const optional = spec.startsWith("-");
    const path = optional ? spec.slice(1) : spec;
    const text = inp.readFile(path);
    if (text === null) {
      if (!optional) errors.push(`environment file ${path} not readable`);
      continue;
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  unsetVariables(env, inp.cfg.unset_environment ?? []);
  return { env, errors };
}

/** unset_environment, the last step as in systemd: "NAME" goes, "NAME=VALUE" only with that value. */
function unsetVariables(env: Record<string, string>, specs: string[]) {
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq < 0) delete env[spec];
    else if (env[spec.slice(0, eq)] === spec.slice(eq + 1)) delete env[spec.slice(0, eq)];
  }
}

/**
 * $TERM as systemd sets it for a unit that uses a terminal (standard_input, standard_output
 * or standard_error "tty", or a tty_path): "linux" on a virtual console (tty0, tty1 ...),
 * "vt220" on anything else, a serial line above all. The console (/dev/console, the
 * default terminal) is the kernel's last console= (/sys/class/tty/console/active). Null
 * for a unit without a terminal: it gets no $TERM.
 */
export function terminalType(cfg: ServiceSection, readFile: (path: string) => string | null): string | null {
  const stdio = [cfg.standard_output, cfg.standard_error];
  if (!cfg.standard_input?.startsWith("tty") && !stdio.includes("tty") && !cfg.tty_path) return null;
  let tty = (cfg.tty_path ?? "/dev/console").replace(/^\/dev\//, "");
  if (tty === "console") tty = readFile("/sys/class/tty/console/active")?.trim().split(/\s+/).pop() ?? "console";
  return /^tty\d+$/.test(tty) ? "linux" : "vt220";
}

/**
 * systemd's variable substitution in command lines: "$NAME" standing alone as a word
 * becomes the value split at whitespace (zero or more words), "${NAME}" anywhere in a
 * word is replaced by the value as is, "$$" is a literal "$". Unset names expand to
 * nothing. argv[0] is never touched (it was resolved at load).
 */
export function expandCommand(argv: string[], env: Record<string, string>): string[] {
  const [program, ...args] = argv;
  const out = [program!];
  for (const word of args) {
    const alone = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (alone) {
      out.push(...(env[alone[1]!] ?? "").split(/\s+/).filter((w) => w !== ""));
      continue;
    }
    out.push(word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name?: string) => (name === undefined ? "$" : env[name] ?? "")));
  }
  return out;
}

/**
 * Where a service starts, as systemd's WorkingDirectory=: "/" unless working_directory
 * says otherwise, even with user = (not the user's home); "~" is the home of the
 * service's user, or of the manager's when it has none. A leading "-": a directory that
 * is not there is no error, the process starts in "/" (systemd stays in the manager's, "/").
 */
export function workingDirectory(configured: string | null, user: { home: string } | null, isDirectory: (path: string) => boolean = isDirectoryPath): string {
  const missingOk = configured?.startsWith("-") ?? false;
  const wanted = missingOk ? configured!.slice(1) : configured;
  const path = wanted === "~" ? user?.home ?? homedir() : wanted ?? "/";
  return missingOk && !isDirectory(path) ? "/" : path;
}

function isDirectoryPath(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The hardening keys of [service] and ignore_sigpipe as SpawnRequest fields (cgroup placement is the
 * manager's: it comes from the unit's cgroup, not from these keys). I/O scheduling as
 * systemd resolves it: a class without a priority gets 4, a priority without a class is
 * best-effort.
 */
export function sandboxRequest(cfg: ServiceSection, unit: UnitSandboxFacts = {}): Partial<SpawnRequest> {
  const ioSet = (cfg.io_scheduling_class ?? null) !== null || (cfg.io_scheduling_priority ?? null) !== null;
  return {
    cpuAffinity: cfg.cpu_affinity ?? undefined,
    cpuScheduling: cpuScheduling(cfg),
    ioScheduling: ioSet ? { class: cfg.io_scheduling_class ?? "best-effort", priority: cfg.io_scheduling_priority ?? 4 } : undefined,
    capabilityBoundingSet: boundingSet(cfg),
    ambientCapabilities: cfg.ambient_capabilities?.length ? cfg.ambient_capabilities : undefined,
    sandbox: mountSandbox(cfg, unit),
    seccomp: seccompOptions(cfg),
    privateNetwork: cfg.private_network || undefined,
    privateIpc: cfg.private_ipc || undefined,
    privateUts: cfg.protect_hostname || undefined,
    privateUsers: cfg.private_users || undefined,
    secureBits: cfg.secure_bits?.length ? cfg.secure_bits.reduce((bits, name) => bits | (SECUREBITS[name] ?? 0), 0) : undefined,
    ignoreSigpipe: cfg.ignore_sigpipe ?? true,
  };
}

/** The seccomp directives as the spawner takes them; undefined when there are none. */
function seccompOptions(cfg: ServiceSection): SeccompOptions | undefined {
  const opts: SeccompOptions = {
    systemCallFilter: cfg.system_call_filter, systemCallErrorNumber: cfg.system_call_error_number,
    systemCallArchitectures: cfg.system_call_architectures, systemCallLog: cfg.system_call_log,
    restrictAddressFamilies: cfg.restrict_address_families, restrictNamespaces: cfg.restrict_namespaces,
    restrictRealtime: cfg.restrict_realtime, restrictSuidSgid: cfg.restrict_suid_sgid,
    lockPersonality: cfg.lock_personality, memoryDenyWriteExecute: cfg.memory_deny_write_execute,
    protectClock: cfg.protect_clock, protectHostname: cfg.protect_hostname,
    privateDevices: cfg.private_devices, protectKernelModules: cfg.protect_kernel_modules, protectKernelLogs: cfg.protect_kernel_logs,
  };
  return wantsSeccomp(opts) ? opts : undefined;
}

/** What the manager knows of a unit that its mount sandbox needs. */
export interface UnitSandboxFacts {
  /** The unit's private /tmp and /var/tmp on the host (private_tmp). */
  privateTmp?: { tmp: string; varTmp: string | null };
  /** Its runtime, state, cache and logs directories: writable under protect_system = "strict". */
  writableDirectories?: string[];
}

/**
 * private_devices takes CAP_MKNOD and CAP_SYS_RAWIO out of the bounding set, protect_clock
 * CAP_SYS_TIME and CAP_WAKE_ALARM, protect_kernel_modules CAP_SYS_MODULE,
 * protect_kernel_logs CAP_SYSLOG, as systemd's directives of those names do.
 */
function boundingSet(cfg: ServiceSection): string[] | undefined {
  const kept = cfg.capability_bounding_set ?? undefined;
  const dropped = new Set([
    ...(cfg.private_devices ? ["CAP_MKNOD", "CAP_SYS_RAWIO"] : []),
    ...(cfg.protect_clock ? ["CAP_SYS_TIME", "CAP_WAKE_ALARM"] : []),
    ...(cfg.protect_kernel_modules ? ["CAP_SYS_MODULE"] : []),
    ...(cfg.protect_kernel_logs ? ["CAP_SYSLOG"] : []),
  ]);
  if (dropped.size === 0) return kept;
  return (kept ?? CAPABILITY_NAMES).filter((name) => !dropped.has(name));
}

/** The mount directives as the spawner takes them; undefined when there are none. */
function mountSandbox(cfg: ServiceSection, unit: UnitSandboxFacts): Sandbox | undefined {
  const sandbox: Sandbox = {
    protectSystem: cfg.protect_system, protectHome: cfg.protect_home, privateDevices: cfg.private_devices,
    protectKernelTunables: cfg.protect_kernel_tunables, protectKernelModules: cfg.protect_kernel_modules,
    protectKernelLogs: cfg.protect_kernel_logs, protectControlGroups: cfg.protect_control_groups, protectClock: cfg.protect_clock,
    protectProc: cfg.protect_proc, procSubset: cfg.proc_subset,
    readWritePaths: cfg.read_write_paths, readOnlyPaths: cfg.read_only_paths, inaccessiblePaths: cfg.inaccessible_paths,
    execPaths: cfg.exec_paths, noExecPaths: cfg.no_exec_paths, temporaryFileSystem: cfg.temporary_file_system,
    bindPaths: cfg.bind_paths, bindReadOnlyPaths: cfg.bind_read_only_paths,
    privateTmp: cfg.private_tmp ? unit.privateTmp : undefined,
  };
  return usesMountNamespace(cfg) ? { ...sandbox, writableDirectories: unit.writableDirectories } : undefined;
}

/** The resource limits of [service], for CgroupTree.ensureUnit (src/exec/cgroup.ts). */
export function cgroupLimits(cfg: ServiceSection, systemTasks: () => number = systemTasksMax): CgroupLimits {
  const tasks = cfg.tasks_max;
  const tasksMax = typeof tasks === "object" && tasks !== null ? Math.max(1, Math.floor((systemTasks() * tasks.percent) / 100)) : tasks;
  return { memoryMax: cfg.memory_max, cpuQuota: cfg.cpu_quota, tasksMax };
}

/**
 * What tasks_max = "N%" is a share of, as systemd's system_tasks_max: the least of
 * kernel.pid_max, kernel.threads-max and the root cgroup's pids.max, less one (pid 0 is none).
 */
export function systemTasksMax(read: (path: string) => string | null = readSmallFile): number {
  const values = ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max", "/sys/fs/cgroup/pids.max"]
    .map((path) => Number(read(path)?.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  return Math.max(1, Math.min(4_194_304, ...values) - 1);
}

function readSmallFile(path: string): string | null {
  try {
    return readFileSync(path, "utf8").slice(0, 64);
  } catch {
    return null;
  }
}
