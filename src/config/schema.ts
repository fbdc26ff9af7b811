// Every key hearth reads, in one table: its type, its default and one line of doc.
// The validator reads values by these types, the loader fills these defaults, and
// docs/configuration.md is generated from here (src/config/gen-docs.ts).

import { CONDITION_CHECKS } from "./conditions.ts";
import type {
  ConditionCheck, EmergencyAction, IoSchedulingClass, KillMode, ManagerSection, MountEntry, NotifyAccess, OnFailureJobMode, RestartPolicy,
  RuntimeDirectoryPreserve, ServiceSection, ServiceType, SocketSection, UnitSection, WatchdogSection,
} from "./types.ts";
import type { PathSection, TimerSection } from "../timers/types.ts";
import { MAX_RING_CAPACITY } from "../log/ring.ts"; // the log ring refuses more lines than that
import { ERRNO_NUMBERS } from "../../ffi/constants.ts";

// ---------------------------------------------------------------- value types

export type ValueType =
  | { kind: "string" }
  | { kind: "path"; home?: boolean; optionalMark?: boolean; rootMark?: boolean } // absolute; "~" / leading "-" / "+" where allowed
  | { kind: "bool" }
  | { kind: "int"; min: number; max: number; infinity?: boolean; percent?: boolean } // `infinity`: "infinity" is Infinity; `percent`: "N%" is { percent: N }
  | { kind: "size"; max: number; infinity?: boolean } // bytes: an integer or "64K", "1M", "2G"
  // Seconds or a time span; `off`: "off" means 0. `finite`: "infinity" is refused and so is
  // anything a timer cannot count (over MAX_TIMER_SEC); elsewhere that much means infinity.
  | { kind: "duration"; off?: boolean; finite?: boolean }
  | { kind: "list"; of: ValueType } // an array; a single value counts as a list of one
  | { kind: "unit-name" }
  | { kind: "command" }
  | { kind: "command-list" }
  | { kind: "enum"; values: readonly string[]; bools?: boolean } // `bools`: true and false too
  | { kind: "signal" }
  | { kind: "mode" } // file mode bits
  | { kind: "env" } // a table of environment variables
  | { kind: "rlimit"; unit: "count" | "bytes" | "seconds" | "usec"; max: number }
  | { kind: "exit-status" }
  | { kind: "listen-address" } // a socket address: path, @abstract, host:port, port
  | { kind: "netlink-address" } // "FAMILY [GROUPS]": a netlink protocol and multicast groups
  | { kind: "fd-name" }
  | { kind: "capability-set" } // capability names; "~" first inverts the list: all but those
  | { kind: "bool-or-strings" } // true, false, or a list of strings (restrict_namespaces)
  | { kind: "cpu-set" } // CPU numbers and ranges: [0, "2-3"] or "0-1,3"
  | { kind: "percent"; max: number } // "50%"
  | { kind: "directory-name" } // a relative path without "..", under a base the manager picks
  | { kind: "bus-name" } // a well-known D-Bus name: org.example.Name (src/dbus/names.ts)
  | { kind: "calendar" } // a systemd calendar event (src/timers/calendar.ts)
  | { kind: "std-output" } // standard_output: a word or "file:PATH" (src/config/standard-output.ts)
  // A condition_X / assert_X list: strings, each with optional "|" and "!" (src/config/conditions.ts).
  | { kind: "condition"; check: ConditionCheck; assert: boolean };

const string: ValueType = { kind: "string" };
const path: ValueType = { kind: "path" };
const bool: ValueType = { kind: "bool" };
const duration: ValueType = { kind: "duration" };
const finiteDuration: ValueType = { kind: "duration", finite: true };
const size = (max: number): ValueType => ({ kind: "size", max });
const unitName: ValueType = { kind: "unit-name" };
const mode: ValueType = { kind: "mode" };
const int = (min: number, max: number, infinity?: boolean): ValueType => ({ kind: "int", min, max, ...(infinity ? { infinity } : {}) });
const capabilitySet: ValueType = { kind: "capability-set" };
const listOf = (of: ValueType): ValueType => ({ kind: "list", of });
const oneOf = (values: readonly string[]): ValueType => ({ kind: "enum", values });
const boolOr = (values: readonly string[]): ValueType => ({ kind: "enum", values, bools: true });
// systemd's "+": relative to root_directory, which is "/" here.
const optionalPaths = listOf({ kind: "path", optionalMark: true, rootMark: true });

// ---------------------------------------------------------------- ranges

/**
 * The longest duration a timer can count: setTimeout takes at most 2^31-1 ms (24.8
 * days). A longer timeout or window means infinity; a longer delay or watchdog is refused.
 */
export const MAX_TIMER_SEC = (2 ** 31 - 1) / 1000;
/** Automatic restarts or activations counted in a window: each one is remembered. */
const MAX_BURST = 10_000;
/** Bytes: 2^50 (1 PiB), more than any board has, and exact in a double. */
const MAX_BYTES = 2 ** 50;
/** setsockopt takes an int. */
const MAX_INT = 2 ** 31 - 1;
/** All of 8192 CPUs, the most Linux can have (CONFIG_NR_CPUS). */
const MAX_CPU_PERCENT = 100 * 8192;
/** The kernel's PID_MAX_LIMIT on 64-bit: pids.max above it means nothing. */
const MAX_TASKS = 4_194_304;
/**
 * notification_fd: the highest fd below the default RLIMIT_NOFILE soft limit (1024) a
 * service starts with; a unit that raises limit_nofile still gets at most this.
 */
export const MAX_NOTIFICATION_FD = 1023;

// ---------------------------------------------------------------- enumerations

/** `allOf<U>()([...])`: the runtime list of a union of types.ts; fails to compile if one is left out. */
function allOf<U extends string>() {
  return <const L extends readonly U[]>(list: L & ([Exclude<U, L[number]>] extends [never] ? unknown : never)): L => list;
}

export const SERVICE_TYPES = allOf<ServiceType>()(["simple", "exec", "notify", "notify-reload", "oneshot", "forking", "idle", "dbus"]);
export const RESTART_POLICIES = allOf<RestartPolicy>()([
  "no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog",
]);
export const NOTIFY_ACCESS = allOf<NotifyAccess>()(["none", "main", "exec", "all"]);
export const KILL_MODES = allOf<KillMode>()(["control-group", "mixed", "process", "none"]);
export const EMERGENCY_ACTIONS = allOf<EmergencyAction>()([
  "none", "reboot", "reboot-force", "reboot-immediate", "poweroff", "poweroff-force", "poweroff-immediate", "exit", "exit-force",
]);
export const ON_FAILURE_JOB_MODES = allOf<OnFailureJobMode>()(["replace", "fail", "replace-irreversibly", "isolate"]);
export const LOG_LEVELS = allOf<ManagerSection["log_level"]>()(["debug", "info", "notice", "warning", "err"]);
export const STANDARD_INPUTS = ["null", "socket", "tty", "tty-force", "tty-fail"] as const;
export const IO_SCHEDULING_CLASSES = allOf<IoSchedulingClass>()(["realtime", "best-effort", "idle", "none"]);
export const RUNTIME_DIRECTORY_PRESERVE = allOf<RuntimeDirectoryPreserve>()(["no", "yes", "restart"]);
export const BIND_IPV6_ONLY = ["default", "both", "ipv6-only"] as const;
export const TIMESTAMPING = ["off", "us", "ns"] as const;
export const PROTECT_PROC = ["default", "invisible", "ptraceable", "noaccess"] as const;

// ---------------------------------------------------------------- defaults

/** A default that is not a plain value. */
export class DefaultRule {
  private constructor(
    readonly kind: "required" | "manager" | "key" | "derived",
    readonly ref: string, // the [manager] key, the sibling key, or the text saying how it is derived
  ) {}
  static readonly required = new DefaultRule("required", "");
  /** From system.toml's [manager] default_X. */
  static manager(key: keyof ManagerSection): DefaultRule {
    return new DefaultRule("manager", key);
  }
  /** The value of another key of the same section. */
  static sameAs(key: string): DefaultRule {
    return new DefaultRule("key", key);
  }
  /** Computed by the loader from other values; `how` says how, for the docs. */
  static derived(how: string): DefaultRule {
    return new DefaultRule("derived", how);
  }
}

const REQUIRED = DefaultRule.required;
const fromManager = DefaultRule.manager;
const sameAs = DefaultRule.sameAs;
const derived = DefaultRule.derived;

// ---------------------------------------------------------------- the keys

/** [type, default, one line of doc]. A default of `null` means: unset. */
type KeyRow = readonly [ValueType, unknown, string];
type KeyRows = Record<string, KeyRow>;

const MANAGER = {
  default_target: [unitName, "multi-user", "The target started at boot, unless the kernel command line names another."],
  hostname: [string, null, "Hostname set at boot; unset keeps the one the kernel has."],
  log_level: [oneOf(LOG_LEVELS), "info", "Least severe manager message that is logged."],
  default_restart_sec: [finiteDuration, 0.1, "restart_sec of services that set none."],
  default_timeout_start_sec: [duration, 90, "timeout_start_sec of services that set none."],
  default_timeout_stop_sec: [duration, 90, "timeout_stop_sec of services that set none."],
  default_start_limit_interval_sec: [duration, 10, "start_limit_interval_sec of services that set none."],
  default_start_limit_burst: [int(0, MAX_BURST), 5, "start_limit_burst of services that set none."],
  ctrl_alt_del: [oneOf(EMERGENCY_ACTIONS), "reboot", "What SIGINT to PID 1 (Ctrl-Alt-Del on the console) does."],
  kernel_modules: [listOf(string), [], "Kernel modules loaded at boot from /lib/modules/$(uname -r)."],
} as const satisfies KeyRows;

const WATCHDOG = {
  device: [path, "/dev/watchdog0", "The hardware watchdog device (systemd's WatchdogDevice=)."],
  runtime_sec: [{ kind: "duration", off: true, finite: true }, 0, 'Hardware watchdog timeout while running, pinged every runtime_sec/2 from the manager\'s loop; 0 or "off" leaves the device alone (RuntimeWatchdogSec=). Not armed in the rescue target.'],
  shutdown_sec: [{ kind: "duration", off: true, finite: true }, 600, 'Hardware watchdog timeout armed when the way down begins and renewed at each of its steps: a step that hangs longer resets the board; 0 or "off" disarms it (RebootWatchdogSec=).'],
  critical_units: [listOf(unitName), [], "Units whose health gates the pings: when one has failed for good (its restart budget spent, its service watchdog missed with no restart to come, or no restart at all), the manager stops pinging and the board resets."],
} as const satisfies KeyRows;

const MOUNT = {
  what: [string, REQUIRED, 'What to mount: a device ("/dev/vda2"), or a name for virtual file systems ("tmpfs").'],
  where: [path, REQUIRED, "The mount point; created if missing."],
  type: [string, REQUIRED, 'The file system type, as mount(2) takes it ("ext4", "tmpfs").'],
  options: [string, "", 'Mount options, comma separated ("noatime,ro"); empty for none.'],
} as const satisfies KeyRows;

/** What each condition_X checks (the assert_X doc says the same, failing the start instead). */
const CONDITION_DOC: Record<ConditionCheck, string> = {
  path_exists: "The path exists.",
  path_exists_glob: "A glob pattern (`*`, `?`, `[...]`) matches at least one existing path.",
  path_is_directory: "The path is a directory (a symbolic link to one counts).",
  path_is_symbolic_link: "The path is a symbolic link.",
  path_is_mount_point: "The path is a mount point.",
  path_is_read_write: "The path is on a file system mounted read-write.",
  directory_not_empty: "The path is a directory with an entry in it (hidden and backup files aside).",
  file_not_empty: "The path is a regular file of non-zero size.",
  file_is_executable: "The path is a regular file with an execute bit set.",
  kernel_command_line: 'The kernel command line has this word ("quiet"), or this assignment ("console=ttyS0"); a name alone matches any assignment to it.',
  kernel_version: 'The kernel release (uname -r) compares with each space-separated expression: "OP VERSION" (OP one of < <= = != >= >) or a glob ("6.1.*", or with "=$" before it; "!=$ GLOB" must not match).',
  virtualization: 'The system runs virtualized: a boolean (any at all), "vm", "container", "private-users", or a technology ("kvm", "qemu", "docker", "lxc" …).',
  architecture: 'The system architecture, in systemd\'s names ("x86-64", "arm64", "arm", "riscv64" …), or "native" (the one hearth runs as).',
  host: "The host name matches this glob (case aside), or this id is the machine id, the boot id or the product UUID.",
  environment: 'The manager\'s environment has this variable ("NAME"), or has it with this value ("NAME=VALUE").',
  credential: "The manager was given this system credential: a file of that name in its own $CREDENTIALS_DIRECTORY or $ENCRYPTED_CREDENTIALS_DIRECTORY (systemd's ConditionCredential=).",
  first_boot: "The system is booting for the first time (true), or not (false): $SYSTEMD_FIRST_BOOT when set, else /run/systemd/first-boot exists or /etc/machine-id is missing, empty or \"uninitialized\".",
  security: 'This security technology is enabled: selinux, apparmor, tomoyo, ima, smack, audit, uefi-secureboot, tpm2 (cvm and measured-uki are never found).',
  capability: 'This capability is in the manager\'s bounding set ("CAP_SYS_ADMIN").',
  ac_power: "The system is on mains power (true), or on battery only (false); with no power supply found it counts as mains.",
  needs_update: '"/etc" or "/var": that directory\'s .updated file is older than /usr (or missing), and it is not read-only: an update of /usr is yet to be applied there; systemd.condition_needs_update= on the kernel command line decides instead.',
  memory: 'The physical memory compares with "[OP] SIZE" ("1G", ">= 512M"; OP defaults to >=).',
  cpus: 'The CPUs the manager may run on compare with "[OP] N" (">= 2"; OP defaults to >=).',
  control_group_controller: 'Each space-separated cgroup controller is available ("memory pids"), or "v1" / "v2": the cgroup hierarchy is that version.',
};

function lowerFirst(text: string): string {
  return text[0]!.toLowerCase() + text.slice(1);
}

/** condition_X and assert_X for every check: unset by default (no check). */
function conditionKeys() {
  const rows = {} as Record<`${"condition" | "assert"}_${ConditionCheck}`, KeyRow>;
  for (const check of CONDITION_CHECKS) {
    rows[`condition_${check}`] = [{ kind: "condition", check, assert: false }, null, `Start only if ${lowerFirst(CONDITION_DOC[check])} Else the start is skipped (see Conditions and asserts).`];
  }
  for (const check of CONDITION_CHECKS) {
    rows[`assert_${check}`] = [{ kind: "condition", check, assert: true }, null, `As condition_${check}, but when it does not hold the start fails.`];
  }
  return rows;
}

const UNIT = {
  description: [string, "", "A human-readable description, shown by `hearth ctl status`."],
  requires: [listOf(unitName), [], "Units started with this one; if one of them fails to start, this one is not started."],
  wants: [listOf(unitName), [], "Units started with this one; their failure does not matter."],
  binds_to: [listOf(unitName), [], "Like requires, and this unit is also stopped when one of them stops."],
  on_failure: [listOf(unitName), [], "Units started when this one enters failed, or fails and is about to be restarted (systemd's OnFailure=)."],
  on_failure_job_mode: [oneOf(ON_FAILURE_JOB_MODES), "replace", 'How on_failure units are started: "replace" replaces queued jobs (a stop) of the units it starts; "fail" starts nothing if one of them has a stop queued; "replace-irreversibly" as replace, and until they ran their start jobs are not replaced by a later stop; "isolate" isolates the one unit named (which needs allow_isolate).'],
  reload_propagated_from: [listOf(unitName), [], "When one of these units is reloaded (`hearth ctl reload`), this one is too if it is active (systemd's ReloadPropagatedFrom=: postgresql@ instances with postgresql)."],
  refuse_manual_start: [bool, false, "`hearth ctl start`, `restart` and `isolate` of this unit are refused: only dependencies start it (systemd's RefuseManualStart=)."],
  refuse_manual_stop: [bool, false, "`hearth ctl stop` and `restart` of this unit are refused: it stops only with what it depends on or at shutdown (systemd's RefuseManualStop=)."],
  requisite: [listOf(unitName), [], "Units that must be active already when this one starts: they are not started, and the start fails at once if one is not (one still activating is waited for when this unit is ordered after it), as systemd's Requisite=."],
  part_of: [listOf(unitName), [], "When one of these units is stopped or restarted (a job: by hand, or passed on), this unit is too; one way only, and nothing is started (systemd's PartOf=)."],
  conflicts: [listOf(unitName), [], "Units stopped when this one starts, and the other way round."],
  after: [listOf(unitName), [], "Ordering only: this unit starts after those, once they are started (and stops before them)."],
  before: [listOf(unitName), [], "Ordering only: this unit starts before those."],
  wanted_by: [listOf(unitName), [], "Targets (or units) that pull this one in, as if they listed it in wants."],
  required_by: [listOf(unitName), [], "Targets (or units) that pull this one in, as if they listed it in requires."],
  requires_mounts_for: [listOf(path), [], "Paths whose [[mount]] entries must be mounted before this unit starts."],
  ignore_on_isolate: [bool, false, "`hearth ctl isolate` leaves this unit as it is (mount units always are)."],
  allow_isolate: [bool, false, "`hearth ctl isolate` may name this unit (the built-in multi-user and rescue allow it)."],
  default_dependencies: [bool, true, "Add the implicit dependencies described below (services: requires sysinit, after basic; all: conflict with shutdown)."],
  aliases: [listOf(unitName), [], "Other names of this unit (systemd's [Install] Alias=): they name it in dependencies, `hearth ctl` and `hearth.wants=`. A name that is a unit of its own, or another unit's alias, is an error."],
  success_action: [oneOf(EMERGENCY_ACTIONS), "none", 'What to do when the unit goes inactive other than by failing (a oneshot done, a service that exited cleanly or was stopped): "poweroff", "reboot", "exit" … as start_limit_action (systemd\'s SuccessAction=; "exit" and "exit-force" power off in system mode, end `hearth run` with status 0).'],
  failure_action: [oneOf(EMERGENCY_ACTIONS), "none", "What to do when the unit enters failed, as success_action (systemd's FailureAction=)."],
  default_instance: [string, null, "In a template (`NAME@.toml`): the instance its wanted_by and required_by pull in (systemd's DefaultInstance=). Without it a template is pulled in by nothing but names of its instances."],
  ...conditionKeys(),
} as const satisfies KeyRows;

/** RLIMIT_* resources in lower case, with the unit their limit is counted in. */
export const RLIMITS = {
  cpu: "seconds", fsize: "bytes", data: "bytes", stack: "bytes", core: "bytes", rss: "bytes",
  nofile: "count", as: "bytes", nproc: "count", memlock: "bytes", locks: "count", sigpending: "count",
  msgqueue: "bytes", nice: "count", rtprio: "count", rttime: "usec",
} as const;

const RLIMIT_DOC: Record<keyof typeof RLIMITS, string> = {
  cpu: "CPU time (RLIMIT_CPU), a duration rounded up to seconds.",
  fsize: "Largest file the service may write (RLIMIT_FSIZE).",
  data: "Data segment size (RLIMIT_DATA).",
  stack: "Stack size (RLIMIT_STACK).",
  core: "Core dump size (RLIMIT_CORE); 0 disables core dumps.",
  rss: "Resident set size (RLIMIT_RSS; ignored by Linux).",
  nofile: "Open file descriptors (RLIMIT_NOFILE). Unset: soft 1024, hard the manager's (systemd's DefaultLimitNOFILE=1024:524288), not the higher soft limit the manager itself runs with.",
  as: "Address space size (RLIMIT_AS).",
  nproc: "Processes of the service's user (RLIMIT_NPROC).",
  memlock: "Locked memory (RLIMIT_MEMLOCK).",
  locks: "File locks (RLIMIT_LOCKS).",
  sigpending: "Queued signals (RLIMIT_SIGPENDING).",
  msgqueue: "POSIX message queue bytes (RLIMIT_MSGQUEUE).",
  nice: "Nice ceiling, as the kernel counts it: 20 - nice, 0..40 (RLIMIT_NICE).",
  rtprio: "Real-time priority ceiling (RLIMIT_RTPRIO).",
  rttime: "Real-time CPU time without a blocking call (RLIMIT_RTTIME), a duration kept in microseconds.",
};

/**
 * The largest finite value of each limit; larger is "infinity". The kernel's own ceilings
 * where it has one (nr_open's, RLIMIT_NICE's 40, RLIMIT_RTPRIO's 99), else 2^53-1, the
 * largest integer a TOML number keeps exactly here.
 */
const RLIMIT_MAX: Partial<Record<keyof typeof RLIMITS, number>> = { nofile: 2_147_483_584, nice: 40, rtprio: 99 };

// Built with plain loops, as the tables below: module code runs once, in the interpreter,
// where each array builtin (map, flatMap, fromEntries) costs its own first run.
const LIMIT_KEYS = {} as Record<`limit_${keyof typeof RLIMITS}`, KeyRow>;
for (const resource of Object.keys(RLIMITS) as (keyof typeof RLIMITS)[]) {
  LIMIT_KEYS[`limit_${resource}`] = [
    { kind: "rlimit", unit: RLIMITS[resource], max: RLIMIT_MAX[resource] ?? Number.MAX_SAFE_INTEGER },
    null, RLIMIT_DOC[resource],
  ];
}

/** The directories a unit asks for (systemd's RuntimeDirectory= and friends): where each kind lives. */
const DIRECTORY_DOC = {
  runtime: ["/run", "$XDG_RUNTIME_DIR, else the run directory", "removed when the service stops (see runtime_directory_preserve)"],
  state: ["/var/lib", "$XDG_STATE_HOME or ~/.local/state", "kept"],
  cache: ["/var/cache", "$XDG_CACHE_HOME or ~/.cache", "kept"],
  logs: ["/var/log", "$XDG_STATE_HOME/log or ~/.local/state/log", "kept"],
  configuration: ["/etc", "$XDG_CONFIG_HOME or ~/.config", "kept; an existing one keeps its owner and mode"],
} as const;
const DIRECTORY_KEYS = {} as Record<`${keyof typeof DIRECTORY_DOC}_directory${"" | "_mode"}`, KeyRow>;
for (const kind of Object.keys(DIRECTORY_DOC) as (keyof typeof DIRECTORY_DOC)[]) {
  const [system, user, lifetime] = DIRECTORY_DOC[kind];
  DIRECTORY_KEYS[`${kind}_directory`] = [listOf({ kind: "directory-name" }), [],
    `Directories made under ${system} (under \`hearth run\`: ${user}) before each process starts, owned by user/group, their paths in $${kind.toUpperCase()}_DIRECTORY (colon-separated); ${lifetime}. Relative paths without "..".`];
  DIRECTORY_KEYS[`${kind}_directory_mode`] = [mode, 0o755, `Mode of the ${kind}_directory directories (the directories above them are made 0755).`];
}

const SERVICE = {
  type: [oneOf(SERVICE_TYPES), "simple", "When start-up is complete: simple at fork, exec after exec, notify at READY=1, oneshot at exit, forking when the parent exits, dbus when bus_name has an owner on the system bus (see D-Bus services). notify-reload: as notify, and `hearth ctl reload` sends reload_signal and waits for RELOADING=1 (with MONOTONIC_USEC) then READY=1. idle: as simple, but the program runs only once no other job is left, or after 5 s (the unit is active at once, as in systemd)."],
  exec_start: [{ kind: "command" }, REQUIRED, 'The main command: an argv array, or one string split like a shell would (no shell is run). A oneshot may give several, as an array of argv arrays ([["/bin/a"], ["/bin/b", "-x"]]): they run in turn, one failing fails the start; other types take one, as in systemd.'],
  exec_condition: [{ kind: "command-list" }, [], "Commands run in turn before exec_start_pre: exit 1 to 254 skips the start as a failed condition does (the unit is not failed); 255 or a signal fails it."],
  exec_start_pre: [{ kind: "command-list" }, [], "Commands run in turn before exec_start; one failing fails the start."],
  exec_start_post: [{ kind: "command-list" }, [], "Commands run in turn after the service has started."],
  exec_stop: [{ kind: "command-list" }, [], "Commands that stop the service; then kill_signal goes to what remains."],
  exec_reload: [{ kind: "command-list" }, [], "Commands run by `hearth ctl reload`."],
  exec_stop_post: [{ kind: "command-list" }, [], "Commands run once the service's processes are gone, whether it stopped, failed or failed to start (not when a condition skipped it before anything ran); $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS say how it ended (see below)."],
  remain_after_exit: [bool, false, "The service stays active (\"exited\") after its main process has exited successfully; any type, as in systemd."],
  bus_name: [{ kind: "bus-name" }, null, "The well-known D-Bus name the service takes on the system bus: required by type = \"dbus\", which is ready once the name has an owner and stops when it loses it (see D-Bus services); on other types it is recorded only."],
  pid_file: [path, null, "Where a forking service writes its main pid. Without it the main pid is guessed as systemd does: the one process the parent left in the unit's cgroup; with several, the unit is followed by its cgroup."],
  notification_fd: [int(3, MAX_NOTIFICATION_FD), null, "Readiness as s6 and dinit do it: the service is ready when it writes a newline to this fd. At most 1023, under the default limit of 1024 open files, and below limit_nofile when set; the fds below it are /dev/null or passed sockets."],
  restart: [oneOf(RESTART_POLICIES), "no", "When the service is restarted after its main process ends: see \"When a service restarts\" below."],
  restart_sec: [finiteDuration, fromManager("default_restart_sec"), "Delay before a restart."],
  restart_steps: [int(0, 1000), 0, "Number of steps in which the restart delay grows from restart_sec to restart_max_delay_sec; 0: no growth."],
  restart_max_delay_sec: [duration, Infinity, "The longest restart delay, reached after restart_steps restarts."],
  timeout_start_sec: [duration, fromManager("default_timeout_start_sec"), "How long start-up may take before the service is failed."],
  timeout_stop_sec: [duration, fromManager("default_timeout_stop_sec"), "How long a stop may take before SIGKILL."],
  timeout_abort_sec: [duration, sameAs("timeout_stop_sec"), "After a watchdog timeout, how long the watchdog signal may take before SIGKILL."],
  watchdog_sec: [finiteDuration, 0, "Service watchdog: the service must send WATCHDOG=1 this often (WATCHDOG_USEC); 0 disables it."],
  start_limit_interval_sec: [duration, fromManager("default_start_limit_interval_sec"), "Window in which automatic restarts are counted; 0 disables the limit."],
  start_limit_burst: [int(0, MAX_BURST), fromManager("default_start_limit_burst"), "Automatic restarts allowed within the window before the unit fails for good."],
  start_limit_action: [oneOf(EMERGENCY_ACTIONS), "none", "What to do when the start limit is hit."],
  success_exit_status: [listOf({ kind: "exit-status" }), [], "Exit codes counted as success besides 0."],
  restart_prevent_exit_status: [listOf({ kind: "exit-status" }), [], "Exit codes after which the service is never restarted."],
  restart_force_exit_status: [listOf({ kind: "exit-status" }), [], "Exit codes after which the service is always restarted."],
  notify_access: [oneOf(NOTIFY_ACCESS), derived('"main" for notify services or when watchdog_sec > 0, else "none"'), "Which processes may send notify messages: the main one, any the service started (exec), all."],
  reload_signal: [{ kind: "signal" }, 1, 'With type = "notify-reload": the signal `hearth ctl reload` sends the main process.'],
  kill_signal: [{ kind: "signal" }, 15, 'Signal that stops the service: a name ("SIGTERM", "TERM") or a number.'],
  restart_kill_signal: [{ kind: "signal" }, null, "Signal that stops the service when a restart job (hearth ctl restart) stops it; unset: kill_signal (systemd's RestartKillSignal=)."],
  kill_mode: [oneOf(KILL_MODES), "control-group", "Which processes get kill_signal: all of the service, the main one then all (mixed), the main one only; \"none\": none, only exec_stop stops the service and what is left runs on, its cgroup removed once empty (systemd's KillMode=none, deprecated there)."],
  send_sighup: [bool, false, "Also send SIGHUP right after kill_signal (for shells and other terminal programs)."],
  send_sigkill: [bool, true, "false: when a stop times out, no SIGKILL: the unit goes down (result timeout) and what is left of it keeps running, its cgroup removed once empty (systemd's SendSIGKILL=no, for databases that must not be killed mid-write)."],
  user: [string, null, "User (name or number) the commands run as; unset: root."],
  group: [string, null, "Group (name or number); unset: the user's primary group."],
  remove_ipc: [bool, false, "When the last running unit of this user (or group) is down, remove the System V and POSIX IPC objects they own: shared memory, semaphores, message queues (systemd's RemoveIPC=); only with user or group, never root's."],
  supplementary_groups: [listOf(string), [], "Further groups of the processes."],
  working_directory: [{ kind: "path", home: true, optionalMark: true }, null, 'Working directory; "~" is the user\'s home; unset: "/". A leading "-" ("-/var/lib/x", "-~"): if it is not there the process starts in "/" instead of failing.'],
  secure_bits: [listOf(oneOf(["keep-caps", "keep-caps-locked", "no-setuid-fixup", "no-setuid-fixup-locked", "noroot", "noroot-locked"])), [], 'The process\'s securebits (prctl PR_SET_SECUREBITS, capabilities(7)), set before the change of user: "noroot" means root gets no capabilities from execve, "-locked" fixes a bit for good (systemd\'s SecureBits=).'],
  umask: [mode, 0o022, 'File mode creation mask: a string of octal digits ("0027") or a TOML octal integer (0o027).'],
  environment: [{ kind: "env" }, {}, 'Environment variables: a table of NAME = "value".'],
  load_credential: [listOf(string), [], 'Credentials the processes read from $CREDENTIALS_DIRECTORY (RUNTIME/credentials/UNIT, mode 0500, files 0400, owned by the unit\'s user; removed when the unit is down): "ID:/abs/path" copies that file (missing: the start fails); "ID:name" or "ID" alone takes it from the manager\'s $CREDENTIALS_DIRECTORY, /etc/credstore, /run/credstore or /usr/lib/credstore, and is skipped when none has it (systemd\'s LoadCredential=).'],
  set_credential: [listOf(string), [], '"ID:VALUE": a credential with this content, unless a load_credential of the same ID found one (systemd\'s SetCredential=).'],
  utmp_identifier: [string, null, 'Write utmp and wtmp records for the main process under this id (its last 4 characters; a getty\'s "%I"): INIT_PROCESS when it starts, DEAD_PROCESS when it exits, ut_line from tty_path (systemd\'s UtmpIdentifier=). Into /var/run/utmp and /var/log/wtmp (under `hearth run`: RUNDIR/utmp and RUNDIR/wtmp) only where the file exists, as systemd.'],
  utmp_mode: [oneOf(["init", "login", "user"]), "init", '"login": a LOGIN_PROCESS record (user LOGIN) after INIT_PROCESS, for a getty that does not write one itself; "user": a USER_PROCESS record of the unit\'s user (systemd\'s UtmpMode=).'],
  guess_main_pid: [bool, true, "A forking service without a readable pid_file: false never takes the one process left as its main process; the unit is followed by its processes (its cgroup) until they are all gone (systemd's GuessMainPID=no)."],
  non_blocking: [bool, false, "Set O_NONBLOCK on the sockets (and connection) passed to the main process, not on fd-store fds; it is the open file's flag, so the manager's copy has it too (systemd's NonBlocking=)."],
  unset_environment: [listOf(string), [], 'Variables taken out of the environment last of all, whoever set them (the manager, environment, environment_file, hearth itself): "NAME" removes it, "NAME=VALUE" only that exact assignment (systemd\'s UnsetEnvironment=).'],
  environment_file: [listOf({ kind: "path", optionalMark: true }), [], 'Files of NAME=value lines read at each start; a leading "-" means a missing file is fine.'],
  ...LIMIT_KEYS,
  nice: [int(-20, 19), null, "Scheduling priority, -20 (highest) to 19; unset: inherited."],
  oom_score_adj: [int(-1000, 1000), null, "OOM killer adjustment, -1000 (never) to 1000; unset: inherited. Where the kernel refuses it for want of privilege (lowering it takes CAP_SYS_RESOURCE, which a container may lack) it is skipped, as systemd does."],
  no_new_privileges: [bool, false, "Set no_new_privs: setuid programs and file capabilities grant nothing."],
  ignore_sigpipe: [bool, true, "SIGPIPE is ignored in the processes, as systemd's IgnoreSIGPIPE=yes: a write to a closed pipe or socket fails with EPIPE instead of killing; false: its default action."],
  capability_bounding_set: [capabilitySet, null, 'Capabilities the processes may ever have (["CAP_NET_BIND_SERVICE"]); "~" before the first name keeps all but those listed; unset: all.'],
  ambient_capabilities: [capabilitySet, [], "Capabilities the processes get even when they run as another user than root (the ambient set); those outside capability_bounding_set are left out."],
  cpu_affinity: [{ kind: "cpu-set" }, null, 'CPUs the processes may run on: numbers and ranges, [0, "2-3"] or "0-1,3"; unset: all (inherited).'],
  cpu_scheduling_policy: [oneOf(["other", "batch", "idle", "fifo", "rr"]), null, 'CPU scheduling policy (sched_setscheduler): "other", "batch", "idle", or the real-time "fifo" and "rr" (they need CAP_SYS_NICE; the start fails without it). Unset: inherited, unless a key below is set ("other" then).'],
  cpu_scheduling_priority: [int(0, 99), null, 'Static priority for "fifo" and "rr", 1 (lowest) to 99; clamped to what the policy takes (0 for the others), as systemd.'],
  cpu_scheduling_reset_on_fork: [bool, false, "Children of the processes go back to the default policy and priority (SCHED_RESET_ON_FORK)."],
  io_scheduling_class: [oneOf(IO_SCHEDULING_CLASSES), null, 'I/O scheduling class (ioprio_set); "none" is best-effort at level 4. Unset with io_scheduling_priority set: best-effort.'],
  io_scheduling_priority: [int(0, 7), null, "I/O priority within the class, 0 (highest) to 7; unset with io_scheduling_class set: 4."],
  protect_system: [boolOr(["full", "strict"]), false, 'true: /usr, /boot and /efi read-only for the processes; "full": /etc too; "strict": the whole file system but /proc, /sys, /dev, the homes and the unit\'s own directories (see Sandboxing).'],
  protect_home: [boolOr(["read-only", "tmpfs"]), false, 'true: /home, /root and /run/user hidden (empty); "read-only": read-only; "tmpfs": an empty read-only tmpfs on each.'],
  private_devices: [bool, false, "A /dev of its own with null, zero, full, random, urandom, tty, pts, shm and no real device; CAP_MKNOD and CAP_SYS_RAWIO leave the bounding set, the @raw-io system calls are refused."],
  private_tmp: [bool, false, "A /tmp and /var/tmp of the unit's own, shared by all its processes and removed when it stops."],
  protect_kernel_tunables: [bool, false, "/proc/sys, /sys and the other kernel settings read-only; /proc/kallsyms and /proc/kcore hidden."],
  protect_kernel_modules: [bool, false, "/lib/modules and /usr/lib/modules hidden, CAP_SYS_MODULE out of the bounding set, the @module system calls refused."],
  protect_kernel_logs: [bool, false, "/proc/kmsg and /dev/kmsg hidden, CAP_SYSLOG out of the bounding set, syslog() refused."],
  protect_control_groups: [bool, false, "/sys/fs/cgroup read-only."],
  protect_proc: [oneOf(PROTECT_PROC), "default", 'A /proc of its own that shows other users\' processes as they say: "invisible" hides them, "noaccess" shows them but not their details, "ptraceable" shows those it may trace (hidepid=).'],
  proc_subset: [oneOf(["all", "pid"]), "all", '"pid": a /proc of its own with the processes only, none of the kernel\'s files (subset=pid).'],
  read_write_paths: [optionalPaths, [], 'Paths left writable under protect_system = "strict" or a read-only path above them; a leading "-" skips a missing path.'],
  read_only_paths: [optionalPaths, [], 'Paths made read-only for the processes, with everything mounted below them (a private mount namespace); a leading "-" skips a missing path.'],
  inaccessible_paths: [optionalPaths, [], 'Paths hidden from the processes: a directory looks empty and unreadable, anything else cannot be opened; a leading "-" skips a missing path.'],
  exec_paths: [optionalPaths, [], "Paths where programs may run though a no_exec_paths path above them forbids it."],
  no_exec_paths: [optionalPaths, [], "Paths where nothing may be run (noexec), with everything mounted below them."],
  temporary_file_system: [listOf(string), [], 'Empty tmpfs mounts: "PATH" or "PATH:OPTIONS" ("/var/cache:ro,size=10M"); mode 0755 and nodev unless the options say.'],
  bind_paths: [listOf(string), [], 'Paths bound elsewhere for the processes: "SOURCE" (the same place), "SOURCE:DEST", "SOURCE:DEST:norbind" (without the mounts below); a leading "-" skips a missing source.'],
  bind_read_only_paths: [listOf(string), [], "As bind_paths, read-only."],
  private_network: [bool, false, "A network namespace of its own with only a loopback interface (up)."],
  private_ipc: [bool, false, "An IPC namespace of its own: System V IPC and POSIX message queues apart from everyone else's."],
  delegate: [{ kind: "bool-or-strings" }, false, 'The unit\'s cgroup is the service\'s to manage (systemd\'s Delegate=): given to its user, with controllers enabled for it: true, every one the hierarchy offers; a list, those ("pids memory cpu"; systemd\'s names: cpuacct is cpu, blkio is io; devices and bpf-* need nothing enabled). hearth still kills and removes the whole subtree at stop.'],
  private_mounts: [bool, false, "A mount namespace of its own, with nothing changed in it: what the unit mounts stays its own, what the host mounts later still reaches it (propagation host to unit only). Every key that changes the file system view implies it."],
  private_users: [bool, false, "A user namespace of its own for each process: root and the unit's user and group map to themselves, every other user and group shows as nobody, and no capability reaches outside it."],
  protect_hostname: [bool, false, "A UTS namespace of its own, and sethostname and setdomainname refused (EPERM)."],
  protect_clock: [bool, false, "Setting the clocks refused (EPERM, the @clock system calls), /dev/rtc* hidden; CAP_SYS_TIME and CAP_WAKE_ALARM leave the bounding set."],
  system_call_filter: [listOf(string), [], 'System calls allowed (names and groups: ["@system-service", "~@privileged"]); a first line starting with "~" makes it a deny list. Lines merge as systemd\'s SystemCallFilter= lines do (see Sandboxing).'],
  system_call_error_number: [oneOf(["kill", ...Object.keys(ERRNO_NUMBERS)]), "kill", 'What a call system_call_filter refuses gets: an errno ("EPERM") or "kill" (the process dies by SIGSYS).'],
  system_call_architectures: [listOf(oneOf(["native", "x86-64", "arm64"])), [], '["native"]: system calls of other ABIs (i386, x32, arm32) kill the process. Any seccomp key implies it (see Sandboxing).'],
  system_call_log: [listOf(string), [], 'System calls logged by the kernel (audit) when made; "~" first: all but those.'],
  restrict_address_families: [listOf(string), [], 'Address families socket() may use ("AF_UNIX AF_INET AF_INET6"); "~" first: all but those; "none": none. Others fail with EAFNOSUPPORT.'],
  restrict_namespaces: [{ kind: "bool-or-strings" }, false, 'true: no new namespaces (unshare, clone, setns refused with EPERM); a list: only those ("net ipc"; "~user": all but user).'],
  restrict_realtime: [bool, false, "Real-time scheduling (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE) refused with EPERM."],
  restrict_suid_sgid: [bool, false, "Setting the set-user-ID or set-group-ID bit on a file refused with EPERM."],
  lock_personality: [bool, false, "personality() changes refused with EPERM."],
  memory_deny_write_execute: [bool, false, "Memory both writable and executable refused (mmap with PROT_WRITE|PROT_EXEC, mprotect to PROT_EXEC, shmat with SHM_EXEC): EPERM."],
  device_policy: [oneOf(["auto", "closed", "strict"]), "auto", 'Which devices the processes may open or mknod (a BPF program on the unit\'s cgroup; others: EPERM): "auto": all, unless device_allow lists some; "closed": the pseudo devices (null, zero, full, random, urandom, tty, ptmx, pts) and device_allow\'s; "strict": device_allow\'s only. private_devices makes "auto" "closed".'],
  device_allow: [listOf(string), [], 'Devices allowed: "PATH [rwm]" (read, write, mknod; none: all three), PATH a node under /dev/, "char-NAME" or "block-NAME" (the majors /proc/devices names NAME, a glob; "char-*": all). With device_policy "auto", listing any closes the rest.'],
  ip_address_allow: [listOf(string), [], 'Addresses the processes may exchange packets with though ip_address_deny covers them: addresses, prefixes ("10.0.0.0/8", "fe80::/64") or any, localhost, link-local, multicast (a BPF program on the unit\'s cgroup).'],
  ip_address_deny: [listOf(string), [], 'Addresses whose packets are dropped (sending: EPERM) unless ip_address_allow has them; the same forms ("any" with ip_address_allow = ["localhost"]: loopback only).'],
  socket_bind_allow: [listOf(string), [], 'bind(2) of IPv4 and IPv6 sockets allowed though socket_bind_deny matches: "any" or [ipv4:|ipv6:][tcp:|udp:]PORTS ("tcp:8080", "ipv6:udp:5000-5010"), several per line (a BPF program on the unit\'s cgroup).'],
  socket_bind_deny: [listOf(string), [], 'bind(2) refused (EPERM) unless socket_bind_allow matches; the same forms ("any" with socket_bind_allow = ["tcp:8080"]: that port only).'],
  ...DIRECTORY_KEYS,
  runtime_directory_preserve: [oneOf(RUNTIME_DIRECTORY_PRESERVE), "no", 'Whether the runtime directories stay when the service stops: "no" removes them at every stop (an automatic restart too), "restart" keeps them across a restart (automatic or `hearth ctl restart`) and removes them at a stop, "yes" never removes them.'],
  memory_max: [{ kind: "size", max: MAX_BYTES, infinity: true }, null, 'Memory limit of all the processes together (cgroup memory.max): bytes, "512M", or "infinity".'],
  cpu_quota: [{ kind: "percent", max: MAX_CPU_PERCENT }, null, 'CPU time the processes may use, as a percentage of one CPU ("50%", "200%"; cgroup cpu.max).'],
  tasks_max: [{ kind: "int", min: 1, max: MAX_TASKS, infinity: true, percent: true }, null, 'Most processes and threads at once (cgroup pids.max), "infinity", or a percentage of what the system allows ("99%": of the least of kernel.pid_max, kernel.threads-max and the root cgroup\'s pids.max, less one, as systemd).'],
  standard_input: [oneOf(STANDARD_INPUTS), "null", 'stdin: /dev/null; "socket": the connection of an accept = true socket (inetd style); "tty": tty_path (unset: the console), made the controlling terminal; "tty-force": taken even from another session; "tty-fail": as "tty" (see Standard input and output). stdout and stderr follow it unless set.'],
  tty_path: [path, null, 'The terminal of standard_input/standard_output "tty" ("/dev/ttyS0"); the process opens it itself, after setsid. Unset: the console.'],
  tty_reset: [bool, false, "Reset the terminal (termios to sane values, queues flushed) before each process starts and once the unit is down (TTYReset=)."],
  tty_vhangup: [bool, false, "Hang up whoever has the terminal open before each process starts and once the unit is down (TTYVHangup=): a getty's old session goes."],
  tty_vt_disallocate: [bool, false, "A virtual console (/dev/ttyN): disallocate it and clear its scrollback before each process starts and once the unit is down (TTYVTDisallocate=)."],
  standard_output: [{ kind: "std-output" }, derived('"inherit" when standard_input is "tty" or "socket", else "journal"'), 'Where stdout goes: "journal" (also "syslog", "kmsg"): the unit\'s log; "journal+console" (also "syslog+console", "kmsg+console"): the log, and each line on the console too (hearth run: its stdout); "null"; "tty"; "inherit": as stdin; "socket"; "file:PATH", "append:PATH", "truncate:PATH" (see Standard input and output).'],
  standard_error: [{ kind: "std-output" }, "inherit", 'Where stderr goes: the values of standard_output; "inherit": where stdout goes.'],
  syslog_identifier: [string, null, "The name the unit's log lines are shown under by `hearth ctl logs` and in log_file; unset: the unit's name."],
  fd_store_max: [int(0, 4096), 0, "How many fds the service may keep in the manager with FDSTORE=1; 0 disables the store."],
  log_buffer_lines: [int(0, MAX_RING_CAPACITY), 1000, "Lines of output kept in memory for `hearth ctl logs`."],
  log_file: [path, null, "Also append the output to this file, rotated at log_file_max_bytes."],
  log_file_max_bytes: [size(MAX_BYTES), 1_048_576, 'Size at which log_file is rotated: bytes or "512K", "1M".'],
} as const satisfies KeyRows;

const SOCKET = {
  listen_stream: [{ kind: "listen-address" }, null, 'A stream socket: "/run/foo.sk", "@abstract", "0.0.0.0:8080", "[::]:80", or a port (all addresses).'],
  listen_datagram: [{ kind: "listen-address" }, null, "A datagram socket; the same forms as listen_stream."],
  listen_sequential_packet: [{ kind: "listen-address" }, null, "A sequential packet socket: a path or @abstract."],
  listen_fifo: [path, null, "A FIFO created at this path."],
  listen_netlink: [{ kind: "netlink-address" }, null, 'A netlink socket: "FAMILY [GROUPS]", the family by systemd\'s name (route, firewall, inet-diag, nflog, xfrm, selinux, iscsi, audit, fib-lookup, connector, netfilter, ip6-fw, dnrtmsg, kobject-uevent, generic, scsitransport, ecryptfs, rdma) or number, and the multicast groups as the bit mask bound to (nl_groups; 0 when left out): "kobject-uevent 1" gets the kernel\'s uevents. The service starts when a message waits.'],
  listen_special: [path, null, 'A character device, or a regular file of /proc or /sys, opened (not created) and passed as it is: "/dev/rfkill". The service starts when it is readable; a file the kernel cannot poll (/dev/null, a file on disk), a FIFO or a directory fails the unit.'],
  writable: [bool, false, "Open listen_special for reading and writing (else read-only); ignored for the other kinds, as in systemd."],
  accept: [bool, false, "Start one instance of the template per connection, the connection at fd 3 (stream and sequential packet sockets only; the file must be a template, NAME@.toml)."],
  backlog: [int(0, 65535), 4096, "Length of the queue of pending connections (listen(2))."],
  socket_mode: [mode, 0o666, "Mode of a socket file or FIFO."],
  directory_mode: [mode, 0o755, "Mode of the directories created above a socket file or FIFO."],
  socket_user: [string, null, "Owner of a socket file or FIFO; unset: root."],
  socket_group: [string, null, "Group of a socket file or FIFO; unset: root's group."],
  remove_on_stop: [bool, false, "Remove the socket file or FIFO (and its symlinks) when the manager lets the socket go (when it ends); without it the file stays and is replaced at the next start."],
  symlinks: [listOf(path), [], 'Symbolic links to the socket file or FIFO, made with it ("/dev/log"), removed with it under remove_on_stop; only for an entry listening on a path. A link that cannot be made is a warning naming the unit: something else at its path is never replaced, a symbolic link to elsewhere only with remove_on_stop.'],
  reuse_port: [bool, false, "Set SO_REUSEPORT."],
  bind_ipv6_only: [oneOf(BIND_IPV6_ONLY), "default", "IPV6_V6ONLY for IPv6 sockets: both, ipv6-only, or the kernel's default."],
  receive_buffer: [size(MAX_INT), null, "SO_RCVBUF, in bytes."],
  send_buffer: [size(MAX_INT), null, "SO_SNDBUF, in bytes."],
  pass_credentials: [bool, false, "Set SO_PASSCRED."],
  pass_security: [bool, false, "Set SO_PASSSEC: a datagram received on a unix socket comes with its sender's security context (SCM_SECURITY), where an LSM gives one."],
  pass_packet_info: [bool, false, "Each datagram received comes with where it went: IP_PKTINFO (IPv4), IPV6_RECVPKTINFO (IPv6), NETLINK_PKTINFO (netlink: the group), by the socket's family, as systemd; on a unix socket the kernel has none (a warning)."],
  timestamping: [oneOf(TIMESTAMPING), "off", 'Each datagram received comes with the time the kernel received it: "us" sets SO_TIMESTAMP (SCM_TIMESTAMP, a timeval), "ns" SO_TIMESTAMPNS (SCM_TIMESTAMPNS, a timespec).'],
  keep_alive: [bool, false, "Set SO_KEEPALIVE."],
  no_delay: [bool, false, "Set TCP_NODELAY."],
  fd_name: [{ kind: "fd-name" }, derived("the unit's name"), "Name of the fd in LISTEN_FDNAMES."],
  service: [unitName, derived("this unit"), "The unit whose service this socket activates. A unit that does not exist is only a warning, as in systemd: the socket is made, and its first activation fails it (logged under this unit, naming the missing one); a start of this unit by hand watches it again."],
  max_connections: [int(1, 65536), 64, "With accept = true: the most instances running at once; further connections wait."],
  max_connections_per_source: [int(0, 65536), 0, "With accept = true: the most instances per source address; 0: no limit."],
  trigger_limit_interval_sec: [finiteDuration, 2, "With accept = false: the window in which starts by this socket are counted; 0 disables the limit."],
  trigger_limit_burst: [int(1, MAX_BURST), 20, "With accept = false: starts by this socket allowed within the window; past it the sockets of the service are no longer watched (see Socket activation)."],
} as const satisfies KeyRows;

const TIMER = {
  on_calendar: [listOf({ kind: "calendar" }), [], 'Calendar events, in systemd\'s syntax ("daily", "Mon..Fri 08:00", "*-*-* *:0/15:00 UTC"; see Timers and path units).'],
  on_active_sec: [listOf(duration), [], "Elapse this long after the timer itself was started."],
  on_boot_sec: [listOf(duration), [], "Elapse this long after the system booted (CLOCK_MONOTONIC's zero)."],
  on_startup_sec: [listOf(duration), [], "Elapse this long after the manager started."],
  on_unit_active_sec: [listOf(duration), [], "Elapse this long after the unit it triggers was last started (or triggered)."],
  on_unit_inactive_sec: [listOf(duration), [], "Elapse this long after the unit it triggers last stopped (or was triggered)."],
  accuracy_sec: [finiteDuration, 60, "The elapse may be delayed up to this much, so that timers of the board wake it together (systemd's AccuracySec=)."],
  randomized_delay_sec: [finiteDuration, 0, "A random delay from 0 to this much is added to each elapse, so that many boards (or timers after a clock jump) do not fire at once."],
  fixed_random_delay: [bool, false, "The random delay is the same at every elapse: derived from the machine id and the unit's name."],
  persistent: [bool, false, "Calendar timers: the last trigger time is kept on disk (/var/lib/hearth/timers/NAME); an elapse missed while the board was off fires once at start."],
  remain_after_elapse: [bool, true, "A timer with no elapse left stays active (\"elapsed\") instead of going inactive."],
  wake_system: [bool, false, "Not supported (no wake alarms): true is a warning and the timer runs without it."],
  unit: [unitName, derived('this unit\'s name without ".timer"'), "The unit to start at each elapse."],
} as const satisfies KeyRows;

const PATH = {
  path_exists: [listOf(path), [], "Trigger while this path exists."],
  path_exists_glob: [listOf(path), [], "Trigger while a path matching this glob exists."],
  path_changed: [listOf(path), [], "Trigger when this file is closed after writing, or created, deleted, moved or its attributes change."],
  path_modified: [listOf(path), [], "As path_changed, and also at every write."],
  directory_not_empty: [listOf(path), [], "Trigger while this directory has an entry in it."],
  make_directory: [bool, false, "Create the watched directories (of directory_not_empty) before watching."],
  directory_mode: [mode, 0o755, "Mode of the directories make_directory creates."],
  trigger_limit_interval_sec: [finiteDuration, 2, "The window in which triggers are counted; 0 disables the limit."],
  trigger_limit_burst: [int(1, MAX_BURST), 200, "Triggers allowed within the window; past it the path unit fails (result trigger-limit-hit)."],
  unit: [unitName, derived('this unit\'s name without ".path"'), "The unit to start when a path matches."],
} as const satisfies KeyRows;

// Compile-time check that every field of types.ts has a row (limits come from the limit_* rows,
// exec_start_next from exec_start).
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type Missing<Section, Rows> = Exclude<KnownKeys<Section>, keyof Rows | "limits" | "exec_start_next">;
type NoneMissing<T extends never> = T;
export type SchemaCoversTypes = [
  NoneMissing<Missing<ManagerSection, typeof MANAGER>>,
  NoneMissing<Missing<WatchdogSection, typeof WATCHDOG>>,
  NoneMissing<Missing<MountEntry, typeof MOUNT>>,
  NoneMissing<Missing<UnitSection, typeof UNIT>>,
  NoneMissing<Missing<ServiceSection, typeof SERVICE>>,
  NoneMissing<Missing<SocketSection, typeof SOCKET>>,
  NoneMissing<Missing<TimerSection, typeof TIMER>>,
  NoneMissing<Missing<PathSection, typeof PATH>>,
];

// ---------------------------------------------------------------- the tables

export type TableName = "manager" | "watchdog" | "mount" | "unit" | "service" | "socket" | "timer" | "path";

export interface TableInfo {
  name: TableName;
  file: "system" | "unit";
  /** Written [[name]]: an array of tables. */
  repeated: boolean;
  doc: string;
}

export interface KeySpec {
  table: TableName;
  name: string;
  type: ValueType;
  /** A plain value, or a DefaultRule (required, from [manager], same as another key, derived). */
  default: unknown;
  doc: string;
}

export const TABLES: readonly TableInfo[] = [
  { name: "manager", file: "system", repeated: false, doc: "How the manager itself behaves, and the defaults of every service." },
  { name: "watchdog", file: "system", repeated: false, doc: "The hardware watchdog, with systemd's system.conf semantics." },
  { name: "mount", file: "system", repeated: true, doc: "File systems mounted at boot, in order, before any unit starts." },
  { name: "unit", file: "unit", repeated: false, doc: "What the unit is and how it relates to other units. Unit names are file names without `.toml`." },
  { name: "service", file: "unit", repeated: false, doc: "The process the unit runs. A unit file without [service] is a target." },
  { name: "socket", file: "unit", repeated: true, doc: "Listening sockets the manager holds and passes to the service (socket activation). Each [[socket]] has exactly one listen_* key." },
  { name: "timer", file: "unit", repeated: false, doc: "A timer unit: starts another unit on a calendar or after a delay (see Timers and path units). Its file has [unit] and [timer] only." },
  { name: "path", file: "unit", repeated: false, doc: "A path unit: starts another unit when a file appears or changes (see Timers and path units). Its file has [unit] and [path] only." },
];

const ROWS: Record<TableName, KeyRows> = {
  manager: MANAGER, watchdog: WATCHDOG, mount: MOUNT, unit: UNIT, service: SERVICE, socket: SOCKET, timer: TIMER, path: PATH,
};

/** The keys of one table, by name (one map per table, made once: this is asked per key read). */
const KEYS_BY_TABLE = new Map<TableName, Map<string, KeySpec>>();
const ALL_KEYS: KeySpec[] = [];
for (const { name: table } of TABLES) {
  const keys = new Map<string, KeySpec>();
  const rows = ROWS[table];
  for (const name of Object.keys(rows)) {
    const row = rows[name]!;
    const spec: KeySpec = { table, name, type: row[0], default: row[1], doc: row[2] };
    keys.set(name, spec);
    ALL_KEYS.push(spec);
  }
  KEYS_BY_TABLE.set(table, keys);
}

/** Every key of system.toml and of unit files, table by table. */
export const SCHEMA: readonly KeySpec[] = ALL_KEYS;

export function tableInfo(table: TableName): TableInfo {
  return TABLES.find((t) => t.name === table)!;
}

export function keysOf(table: TableName): ReadonlyMap<string, KeySpec> {
  return KEYS_BY_TABLE.get(table)!;
}

export function tablesOf(file: "system" | "unit"): TableInfo[] {
  return TABLES.filter((t) => t.file === file);
}
