// The validated, defaults-resolved configuration: what the loader hands to the engine.
// Durations are seconds (float), Infinity for "infinity". Nothing here touches the OS.

export interface Diagnostic {
  file: string;
  line: number; // 1-based; 0 when the problem has no place in a file
  col: number; // 1-based
  message: string;
  severity: "error" | "warning";
  unit?: string; // the unit the problem disables, if any
  /**
   * A warning `hearth check` shows that the manager logs at info only, off the console: a
   * name an ordering or weak dependency gives and no unit has (Debian's units name many),
   * which systemd is silent about.
   */
  quiet?: true;
}

export type ServiceType = "simple" | "exec" | "notify" | "notify-reload" | "oneshot" | "forking" | "idle" | "dbus";
export type RestartPolicy =
  | "no" | "always" | "on-success" | "on-failure" | "on-abnormal" | "on-abort" | "on-watchdog";
export type NotifyAccess = "none" | "main" | "exec" | "all";
export type KillMode = "control-group" | "mixed" | "process" | "none"; // none: src/engine/service.ts enterStopSigterm
export type IoSchedulingClass = "realtime" | "best-effort" | "idle" | "none";
/**
 * standard_output / standard_error, as written (validated by src/config/standard-output.ts):
 * journal, syslog and kmsg all go to the unit's log.
 */
export type StandardOutput =
  | "inherit" | "null" | "tty" | "journal" | "syslog" | "kmsg" | "socket"
  | "journal+console" | "syslog+console" | "kmsg+console" // the log, each line also on the console
  | `file:${string}` | `append:${string}` | `truncate:${string}`;
export type EmergencyAction =
  | "none" | "reboot" | "reboot-force" | "reboot-immediate"
  | "poweroff" | "poweroff-force" | "poweroff-immediate" | "exit" | "exit-force";

/** How the start of on_failure units treats jobs already queued (systemd's job modes). */
export type OnFailureJobMode = "replace" | "fail" | "replace-irreversibly" | "isolate";

/** One command line of exec_start_pre/post, exec_stop, exec_reload. */
export interface ExecCommand {
  argv: string[]; // argv[0] is the program: an absolute path, or a name looked up in PATH at load
  ignoreFailure: boolean; // systemd's "-" prefix: a failing command is not an error
  // The other prefixes of systemd (src/config/commands.ts reads them; absent = not given).
  argv0?: string; // "@": the argv[0] the program is given (argv[0] above stays its path)
  privileges?: "full" | "keep-ids"; // "+": no user, group, capability or sandboxing keys apply; "!": no user/group keys
  noEnvironmentExpansion?: boolean; // ":": $NAME and ${NAME} are passed as written
}

export interface UnitSection {
  description: string;
  success_action?: EmergencyAction; // src/engine/outcome.ts; absent: none
  failure_action?: EmergencyAction;
  requires: string[];
  wants: string[];
  binds_to: string[];
  conflicts: string[];
  after: string[];
  before: string[];
  wanted_by: string[];
  required_by: string[];
  requires_mounts_for: string[];
  /** Added later; always set by the loader (default true): see docs/configuration.md. */
  default_dependencies?: boolean;
  /** Added later (#12): other names of the unit; in a template, the instance wanted_by pulls in. */
  aliases?: string[];
  default_instance?: string | null;
  // Added later; always set by the loader (built-in targets may lack them: absent is false / []).
  on_failure?: string[]; // started when this unit fails (src/engine/outcome.ts)
  on_failure_job_mode?: OnFailureJobMode;
  reload_propagated_from?: string[]; // reloaded when one of these is (src/engine/engine.ts propagateReload)
  requisite?: string[];
  refuse_manual_start?: boolean; // src/engine/manual-jobs.ts
  refuse_manual_stop?: boolean; // must be active already when this one starts (src/engine/requisite.ts)
  part_of?: string[]; // a stop or restart of these units is passed on to this one (systemd's PartOf=)
  ignore_on_isolate?: boolean; // `hearth ctl isolate` leaves this unit alone
  allow_isolate?: boolean; // `hearth ctl isolate` may name this unit

}

/** A resource limit, as setrlimit takes it; Infinity = RLIM_INFINITY. */
export interface Rlimit { soft: number; hard: number }

/** When the runtime directories go: at every stop (no), never (yes), or at a stop no start follows (restart). */
export type RuntimeDirectoryPreserve = "no" | "yes" | "restart";

export interface ServiceSection {
  type: ServiceType;
  exec_start: ExecCommand;
  exec_start_pre: ExecCommand[];
  exec_start_post: ExecCommand[];
  exec_stop: ExecCommand[];
  exec_reload: ExecCommand[];
  // Added later; always set by the loader.
  exec_start_next?: ExecCommand[]; // a oneshot's further exec_start commands, run in turn after the first (not a key)
  exec_condition?: ExecCommand[]; // run first: exit 1..254 skips the start, as a condition
  exec_stop_post?: ExecCommand[]; // run once the service's processes are gone, whatever the reason
  reload_signal?: number; // type = "notify-reload": what `hearth ctl reload` sends the main process (SIGHUP)
  remain_after_exit: boolean;
  pid_file: string | null;
  notification_fd: number | null; // s6/dinit readiness: ready when a newline arrives on fd N
  restart: RestartPolicy;
  restart_sec: number;
  restart_steps: number;
  restart_max_delay_sec: number;
  timeout_start_sec: number;
  timeout_stop_sec: number;
  timeout_abort_sec: number;
  watchdog_sec: number; // 0 = off
  start_limit_interval_sec: number;
  start_limit_burst: number;
  start_limit_action: EmergencyAction;
  success_exit_status: number[];
  restart_prevent_exit_status: number[];
  restart_force_exit_status: number[];
  notify_access: NotifyAccess;
  kill_signal: number; // signal number, SIGTERM by default
  restart_kill_signal?: number | null; // a restart job's stop; null: kill_signal
  kill_mode: KillMode;
  send_sighup: boolean;
  send_sigkill?: boolean; // absent: true

  // Execution context, applied by the spawner in the child before exec.
  user: string | null;
  group: string | null;
  remove_ipc?: boolean; // src/exec/ipc-cleanup.ts
  supplementary_groups: string[];
  working_directory: string | null;
  umask: number; // 0o022 by default
  environment: Record<string, string>;
  environment_file: string[];
  unset_environment?: string[]; // NAME or NAME=VALUE, applied last
  guess_main_pid?: boolean; // absent: true (src/engine/service.ts onMainPidGuess)
  non_blocking?: boolean; // O_NONBLOCK on the socket fds passed (src/manager/non-blocking.ts)
  load_credential?: string[]; // "ID" or "ID:PATH" (src/manager/credentials.ts)
  set_credential?: string[]; // "ID:VALUE"
  utmp_identifier?: string | null; // src/manager/utmp.ts
  utmp_mode?: "init" | "login" | "user"; // a leading "-" means: missing file is fine
  limits: Record<string, Rlimit>; // key = rlimit name in lower case without prefix: "nofile", "core", ...
  nice: number | null;
  oom_score_adj: number | null;
  no_new_privileges: boolean;
  log_buffer_lines: number; // size of the in-memory log ring of this unit
  log_file: string | null; // optional persistent log, rotated at log_file_max_bytes
  log_file_max_bytes: number;
  // Added later; always set by the loader.
  // "socket": an accept = true connection; "tty" (and -force, -fail): tty_path, or the console
  standard_input?: "null" | "socket" | "tty" | "tty-force" | "tty-fail";
  tty_path?: string | null; // the terminal of standard_input/output "tty"; null: the console
  tty_reset?: boolean; // its termios reset before each process starts
  tty_vhangup?: boolean; // its other users hung up first
  tty_vt_disallocate?: boolean; // a virtual console's scrollback dropped
  standard_output?: StandardOutput; // default "inherit" with a tty or socket stdin, else "journal"
  standard_error?: StandardOutput; // default "inherit": as stdout
  syslog_identifier?: string | null; // the name the unit's log lines are shown under; null: the unit's
  fd_store_max?: number; // 0 = no fd store
  capability_bounding_set?: string[] | null; // "CAP_*" names kept ("~" lists resolved); null = keep all
  ambient_capabilities?: string[]; // "CAP_*" names
  cpu_affinity?: number[] | null; // CPU numbers, sorted; null = inherited
  io_scheduling_class?: IoSchedulingClass | null;
  io_scheduling_priority?: number | null; // 0..7
  cpu_scheduling_policy?: "other" | "batch" | "idle" | "fifo" | "rr" | null; // src/exec/cpu-scheduling.ts
  cpu_scheduling_priority?: number | null; // 0..99
  cpu_scheduling_reset_on_fork?: boolean;
  read_only_paths?: string[]; // absolute; a leading "-" means: missing is fine
  inaccessible_paths?: string[]; // the same
  private_tmp?: boolean;
  // The mount sandbox (src/exec/mount-plan.ts), with systemd's values.
  protect_system?: boolean | "full" | "strict";
  protect_home?: boolean | "read-only" | "tmpfs";
  private_devices?: boolean;
  protect_kernel_tunables?: boolean;
  protect_kernel_modules?: boolean;
  protect_kernel_logs?: boolean;
  protect_control_groups?: boolean;
  protect_proc?: "default" | "invisible" | "ptraceable" | "noaccess";
  proc_subset?: "all" | "pid";
  read_write_paths?: string[]; // as read_only_paths
  exec_paths?: string[];
  no_exec_paths?: string[];
  temporary_file_system?: string[]; // "PATH[:OPTIONS]"
  bind_paths?: string[]; // "[-]SOURCE[:DEST[:rbind|norbind]]"
  bind_read_only_paths?: string[];
  // Namespaces and seccomp (src/exec/seccomp.ts), with systemd's values.
  private_network?: boolean;
  private_ipc?: boolean;
  protect_hostname?: boolean;
  private_users?: boolean;
  private_mounts?: boolean;
  secure_bits?: string[]; // ffi/constants.ts SECUREBITS
  delegate?: boolean | string[]; // src/exec/delegate.ts
  protect_clock?: boolean;
  system_call_filter?: string[]; // lines as systemd's SystemCallFilter=: names, @groups, "~" first
  system_call_error_number?: string; // "kill" or an errno name
  system_call_architectures?: string[];
  system_call_log?: string[];
  restrict_address_families?: string[];
  restrict_namespaces?: boolean | string[];
  restrict_realtime?: boolean;
  restrict_suid_sgid?: boolean;
  lock_personality?: boolean;
  memory_deny_write_execute?: boolean;
  // cgroup BPF programs (src/exec/cgroup-bpf.ts), with systemd's values.
  device_policy?: "auto" | "closed" | "strict";
  device_allow?: string[]; // "PATH [rwm]", "char-NAME [rwm]", "block-NAME [rwm]"
  ip_address_allow?: string[]; // addresses, prefixes, any/localhost/link-local/multicast
  ip_address_deny?: string[];
  socket_bind_allow?: string[]; // "any", [ipv4:|ipv6:][tcp:|udp:]PORTS
  socket_bind_deny?: string[];
  // systemd's RuntimeDirectory= and friends: paths relative to /run, /var/lib, /var/cache,
  // /var/log and /etc (per-user bases in run mode), made before each process starts.
  runtime_directory?: string[];
  state_directory?: string[];
  cache_directory?: string[];
  logs_directory?: string[];
  configuration_directory?: string[];
  runtime_directory_mode?: number;
  state_directory_mode?: number;
  cache_directory_mode?: number;
  logs_directory_mode?: number;
  configuration_directory_mode?: number;
  runtime_directory_preserve?: RuntimeDirectoryPreserve;
  ignore_sigpipe?: boolean; // SIGPIPE ignored in the processes (true by default)
  // Resource limits, through the unit's cgroup; null = no limit set.
  memory_max?: number | null; // bytes; Infinity = "infinity"
  cpu_quota?: number | null; // percent of one CPU
  tasks_max?: number | { percent: number } | null; // Infinity = "infinity"; a percent of the system's (src/manager/exec-context.ts)
  bus_name?: string | null; // the well-known D-Bus name a dbus service takes when ready (src/dbus/)
}

/** Filled by the sockets issue; parsed and kept now so that files using it validate. */
export interface SocketSection {
  listen_stream?: string;
  listen_datagram?: string;
  listen_sequential_packet?: string;
  listen_fifo?: string;
  listen_netlink?: string; // "FAMILY [GROUPS]" (src/config/socket-address.ts)
  listen_special?: string;
  writable?: boolean; // listen_special opened for writing too
  accept: boolean;
  socket_mode: number;
  fd_name: string | null;
  // Added later; always set by the loader (docs/configuration.md lists the defaults).
  backlog?: number;
  directory_mode?: number;
  socket_user?: string | null;
  socket_group?: string | null;
  remove_on_stop?: boolean;
  reuse_port?: boolean;
  bind_ipv6_only?: "default" | "both" | "ipv6-only";
  receive_buffer?: number | null;
  send_buffer?: number | null;
  pass_credentials?: boolean;
  pass_security?: boolean;
  pass_packet_info?: boolean;
  timestamping?: "off" | "us" | "ns";
  symlinks?: string[]; // other names of the socket file or FIFO (src/sockets/symlinks.ts)
  keep_alive?: boolean;
  no_delay?: boolean;
  service?: string; // the unit whose service it activates: this unit unless set
  max_connections?: number;
  max_connections_per_source?: number; // 0 = no limit
  trigger_limit_interval_sec?: number; // 0 = no limit
  trigger_limit_burst?: number;
  [key: string]: unknown;
}

export interface UnitConfig {
  name: string;
  file: string; // path of the TOML file, "" for built-in targets
  unit: UnitSection;
  service: ServiceSection | null; // null: the unit is a target (or a mount)
  sockets: SocketSection[];
  /** Set for the units PID 1 makes from system.toml's [[mount]] entries (src/boot/mount-units.ts). */
  mount?: MountEntry;
  /** Set for the device units the loader makes for the NAME.device names units give (src/devices/units.ts). */
  device?: true;
  /** The unit's condition_* and assert_* entries: the conditions, then the asserts (src/config/conditions.ts). */
  conditions?: Condition[];
  /** A timer unit's [timer], a path unit's [path] (src/timers/types.ts). */
  timer?: import("../timers/types.ts").TimerSection;
  path?: import("../timers/types.ts").PathSection;
}

/** What a condition_X / assert_X key checks: X (src/config/conditions.ts lists them). */
export type ConditionCheck =
  | "path_exists" | "path_exists_glob" | "path_is_directory" | "path_is_symbolic_link"
  | "path_is_mount_point" | "path_is_read_write" | "directory_not_empty" | "file_not_empty"
  | "file_is_executable" | "kernel_command_line" | "kernel_version" | "virtualization"
  | "architecture" | "host" | "environment" | "first_boot" | "security" | "capability"
  | "ac_power" | "needs_update" | "memory" | "cpus" | "control_group_controller" | "credential";

/** One entry of a condition_X or assert_X list, as systemd's Condition*= / Assert*=. */
export interface Condition {
  check: ConditionCheck;
  assert: boolean; // assert_X: a failure fails the start instead of skipping it
  trigger: boolean; // "|": one of the triggering entries must hold, not all
  negate: boolean; // "!": the check must not hold
  param: string; // the value after "|" and "!"
}

export interface ManagerSection {
  default_target: string;
  hostname: string | null;
  log_level: "debug" | "info" | "notice" | "warning" | "err";
  default_restart_sec: number;
  default_timeout_start_sec: number;
  default_timeout_stop_sec: number;
  default_start_limit_interval_sec: number;
  default_start_limit_burst: number;
  ctrl_alt_del: EmergencyAction;
  kernel_modules: string[];
}

export interface WatchdogSection {
  device: string;
  runtime_sec: number; // 0 = off
  shutdown_sec: number;
  critical_units: string[];
}

export interface MountEntry {
  what: string;
  where: string;
  type: string;
  options: string;
}

export interface SystemConfig {
  manager: ManagerSection;
  watchdog: WatchdogSection;
  mounts: MountEntry[];
}

export interface LoadedConfig {
  system: SystemConfig;
  units: Map<string, UnitConfig>; // only the units that loaded without error, plus built-in targets
  diagnostics: Diagnostic[]; // every problem found, in file order
  /**
   * Names the loaded units' dependency lists give that match no unit file and no built-in
   * target (systemd's load state "not-found"), each with who names it in which list.
   */
  notFound: Map<string, { unit: string; list: string }[]>;
  catalog?: UnitCatalog; // templates and aliases (absent: none)
  masked?: ReadonlySet<string>; // units whose file is a link to /dev/null (hearth ctl mask): never started
}

/** Units named at run time that are not loaded: instances of templates, and aliases. */
export interface UnitCatalog {
  /** The configuration of template instance `name`; null: no such template (or it has errors). */
  instantiate(name: string): UnitConfig | null;
  /** The unit an alias stands for, or null. */
  aliasOf(name: string): string | null;
}

/** Built-in targets: exist without a file; a file of the same name extends them. */
export const BUILTIN_TARGETS = ["sysinit", "sockets", "basic", "multi-user", "rescue", "shutdown"] as const;
