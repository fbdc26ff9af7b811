// The engine's vocabulary: events in, effects out, and the states it reports.
import type { Condition, EmergencyAction, ExecCommand, MountEntry, UnitConfig } from "../config/types.ts";
import type { NotifyMessage } from "./notify-message.ts";
import type { TriggerEffect, TriggerEvent, TriggerSnapshot } from "../timers/events.ts";

export type ExitStatus =
  | { kind: "exited"; code: number }
  | { kind: "killed"; signal: number; coreDumped: boolean };

/** systemd's ActiveState. */
export type ActiveState = "inactive" | "activating" | "active" | "reloading" | "deactivating" | "failed";

/** The finer state of a service (systemd's SubState names where they exist). */
export type ServiceSubState =
  | "dead" | "condition" | "start-pre" | "start" | "start-post" | "running" | "exited" | "reload"
  | "reload-signal" | "reload-notify" // notify-reload: reload_signal sent; RELOADING=1 heard, READY=1 awaited
  | "stop" | "stop-post" | "stop-watchdog" | "stop-sigterm" | "stop-sigkill" | "auto-restart" | "failed";

/** Why a unit last ended up where it is (systemd's Result=). */
export type UnitResult =
  | "success" | "exit-code" | "signal" | "core-dump" | "timeout" | "watchdog"
  | "start-limit-hit" | "exec" | "dependency" | "protocol" | "resources"
  | "trigger-limit-hit"; // a path unit (src/engine/triggers.ts)

// "isolate": `hearth ctl isolate` (a start of the target, stops of the rest), as the request names it.
export type JobType = "start" | "stop" | "restart" | "reload" | "isolate";
// "assert": an assert_X entry did not hold (a condition_X that does not hold is "done": skipped).
export type JobResult = "done" | "failed" | "dependency" | "canceled" | "timeout" | "unsupported" | "assert";

export type ProcessRole = "main" | "control";
// "accept": an accept = true socket resting after accept(2) failed (src/engine/activation.ts).
// "device": a start job of a device unit waits this long for the kernel to announce it.
// "idle": the longest a type = "idle" service waits for the other jobs to finish.
export type TimerKind = "start" | "stop" | "kill" | "restart" | "watchdog" | "reload" | "accept" | "device" | "idle";

export type EngineEvent =
  | { type: "request"; job: JobType; unit: string; requestId?: number }
  | { type: "reset-failed"; unit: string | null }
  // The manager is going down (stopping every unit, or abandoning them): no socket may
  // start anything any more, and no unit's emergency action applies.
  | { type: "going-down" }
  | { type: "spawned"; unit: string; role: ProcessRole; pid: number }
  | { type: "spawn-failed"; unit: string; role: ProcessRole; error: string }
  | { type: "exited"; pid: number; status: ExitStatus }
  // A datagram on the notify socket. The engine finds the sender's unit from what the
  // shell saw of it (see ProcessOrigin) and decides what happens to the fds it carried.
  | { type: "notify"; pid: number; uid: number; msg: NotifyMessage; fds: number[]; origin: ProcessOrigin; claimed: ProcessOrigin | null }
  | { type: "timer"; unit: string; kind: TimerKind; id: number }
  | { type: "pid-file"; unit: string; pid: number | null; error?: string }
  | { type: "readiness-fd"; unit: string }
  // The shell finished a mount effect; error is set when it failed.
  | { type: "mount-done"; unit: string; op: "mount" | "unmount"; error?: string }
  // Socket activation (src/engine/activation.ts). A socket is named by the unit whose
  // file declares it and its index among that file's [[socket]] entries.
  | { type: "sockets-opened"; units: string[]; failed: { unit: string; index: number; error: string }[] }
  | { type: "socket-triggered"; unit: string; index: number }
  // ends: the connection's addresses as its instance is named after them ("LOCAL-REMOTE", "PID-UID").
  | { type: "connection"; unit: string; index: number; connection: number; source: string; ends: string }
  // Answer to find-main-pid: the processes of the unit's cgroup whose parent is the
  // manager (left by a forking parent), and whether the cgroup holds any process at all.
  | { type: "main-pid-guess"; unit: string; candidates: number[]; populated: boolean }
  // The cgroup of a unit the engine watches (watch-cgroup) has no process left.
  | { type: "cgroup-empty"; unit: string }
  // accept(2) failed on an accept = true socket (out of fds or memory): it rests a while.
  | { type: "accept-failed"; unit: string; index: number; error: string }
  // The log lines the shell attached to the crash record of `unit` made at `time`.
  | { type: "exit-log"; unit: string; time: number; lines: string[] }
  // Without cgroups: processes of the unit that left its process group outlived its stop.
  | { type: "leftovers-survived"; unit: string; processes: { pid: number; name: string }[] }
  // Answer to check-conditions: each entry's result, in the effect's order.
  | { type: "conditions-checked"; unit: string; id: number; results: boolean[] }
  // The system bus says who owns a bus name now (null: nobody), for the units whose
  // bus_name it is (type = "dbus": src/engine/service.ts). Every name after each connection.
  | { type: "bus-name-owner"; name: string; owner: string | null }
  // The kernel has the device a device unit names (plugged) or no longer has it (src/devices/).
  | { type: "device"; unit: string; plugged: boolean }
  | TriggerEvent // timers and path units (src/timers/events.ts)
  // daemon-reload: the configuration read again, validated whole (src/engine/reload.ts decides).
  | { type: "configuration-replaced"; units: Map<string, UnitConfig>; notFound: { has(name: string): boolean }; catalog: import("../config/types.ts").UnitCatalog | null };

/** Where a process stands, as the shell sees it: the engine matches it to a unit. */
export interface ProcessOrigin {
  pid: number;
  cgroupUnit: string | null; // the unit whose cgroup holds it
  sid: number | null; // its session and process group (a unit's processes lead them)
  pgid: number | null;
  alive: boolean; // false: no such process (a MAINPID= claim may name any number)
}

/** What the shell needs to build a process's spawn request, besides the unit's config. */
export interface SpawnContext {
  config: UnitConfig; // the unit's (an instance's own, made from its template)
  logUnit: string; // whose output pipe it writes to: an instance writes to its template's
  logConfig: UnitConfig;
  watchdogUsec: number; // WATCHDOG_USEC for the main process, 0 for none
  mainPid: number | null; // $MAINPID for control processes
  connection: number | null; // an accept = true instance's connection
}

export type Effect =
  // context: filled in by the engine (src/engine/service.ts emits the bare spawn).
  // env: variables the state machine adds (SERVICE_RESULT and the like for exec_stop/exec_stop_post).
  | { type: "spawn"; unit: string; role: ProcessRole; command: ExecCommand; main: boolean; env?: Record<string, string>; context?: SpawnContext }
  // scope "unit": every process of the unit (its cgroup, or its process group when
  // cgroups are missing); "process": that pid alone (kill_mode = process / mixed).
  | { type: "kill"; unit: string; pid: number; signal: number; scope: "unit" | "process" }
  | { type: "set-timer"; unit: string; kind: TimerKind; ms: number; id: number }
  | { type: "clear-timer"; unit: string; kind: TimerKind }
  | { type: "read-pid-file"; unit: string; path: string }
  | { type: "mount"; unit: string; op: "mount" | "unmount"; entry: MountEntry }
  | { type: "log"; unit: string; level: "debug" | "info" | "notice" | "warning" | "err"; text: string }
  | { type: "console"; unit: string; status: "ok" | "failed" | "warning" | "info"; text: string }
  // The manager's own log (a notification from no unit; an internal error).
  | { type: "manager-log"; level: "debug" | "info" | "notice" | "warning" | "err"; text: string }
  | { type: "job-finished"; unit: string; job: JobType; result: JobResult; requestId?: number; reason: string }
  | { type: "state-changed"; unit: string; active: ActiveState; sub: string }
  | { type: "emergency-action"; unit: string; action: EmergencyAction; reason: string }
  // An unclean exit entered the unit's crash record; the shell attaches the log tail.
  | { type: "exit-recorded"; unit: string; record: import("./service.ts").ExitRecord }
  // Socket activation: watch a socket or not; close an accepted connection the engine
  // refused; an instance made at run time is gone (an accept = true one's connection is
  // closed with it; one's own output pipe is closed, its lines kept a while).
  | { type: "listen"; unit: string; index: number; on: boolean }
  | { type: "close-connection"; unit: string; connection: number }
  | { type: "instance-removed"; unit: string; connection: number | null }
  // A forking parent exited without a pid file: which process is the daemon? (answered
  // with main-pid-guess, systemd's service_search_main_pid)
  | { type: "find-main-pid"; unit: string }
  // Tell the engine once (cgroup-empty) when the unit's cgroup has no process left.
  | { type: "watch-cgroup"; unit: string }
  // The main process is gone or the unit is down: SIGKILL what is left of the unit (its
  // cgroup, or without cgroups the process group its first main process led).
  | { type: "kill-leftovers"; unit: string; processGroup: number | null }
  // The unit is down for good: its cgroup goes once it is empty.
  | { type: "remove-cgroup"; unit: string }
  // The unit is down: its $CREDENTIALS_DIRECTORY goes (src/manager/credentials.ts).
  | { type: "remove-credentials"; unit: string }
  /** remove_ipc: the last running unit of this user or group is down (names as configured; the shell resolves them). */
  | { type: "remove-ipc"; unit: string; user: string | null; group: string | null }
  // The unit is down without a restart to follow: the fds it stored are closed.
  | { type: "release-fd-store"; unit: string }
  // The service stopped: its runtime_directory entries go (under the shell's runtime base),
  // at every stop, or only at a stop no start follows, as runtime_directory_preserve says.
  | { type: "remove-runtime-directories"; unit: string; directories: string[] }
  // The service is down: what its sandbox holds goes (its private /tmp, its namespaces).
  | { type: "release-sandbox"; unit: string }
  // The unit is down: its readiness pipe (notification_fd) is closed.
  | { type: "close-readiness-fd"; unit: string }
  // The unit is down: its terminal (tty_path) is hung up, reset, disallocated as its keys say.
  | { type: "reset-terminal"; unit: string; path: string; reset: boolean; vhangup: boolean; vtDisallocate: boolean }
  // FDSTORE=1: the fds a notification carried, to keep (up to max) or to close.
  | { type: "store-fds"; unit: string; fds: number[]; max: number; name: string; poll: boolean }
  | { type: "close-fds"; fds: number[] }
  | { type: "remove-stored-fds"; unit: string; name: string }
  // The start job of the target finished (once per manager).
  | { type: "startup-finished"; unit: string; result: JobResult; activeUnits: number }
  // A start by hand tries again to make these units' sockets that could not be made.
  | { type: "retry-sockets"; units: string[] }
  // A notification refused (from no unit, or one notify_access does not let talk): the
  // shell logs it within the sender's rate limit, so a flood cannot flood the log.
  | { type: "notify-refused"; unit: string | null; pid: number; uid: number; reason: string }
  // A start reached the unit's conditions and asserts: test each (src/engine/conditions.ts)
  // and answer with conditions-checked.
  | { type: "check-conditions"; unit: string; id: number; conditions: Condition[] }
  | TriggerEffect // timers and path units (src/timers/events.ts)
  // A reload changed the unit's [[socket]] entries (config null: the unit is gone): close
  // its listening sockets, make the new ones and answer with sockets-opened.
  | { type: "remake-sockets"; unit: string; config: UnitConfig | null }
  // A reload removed the unit and it is down: what the shell holds for it goes (its output pipe).
  | { type: "unit-removed"; unit: string };

/** A unit as the engine sees it, copied out for readers (control, boot report). */
export interface UnitSnapshot {
  name: string;
  config: UnitConfig;
  kind: "service" | "target" | "mount" | "template" | "device" | "timer" | "path";
  active: ActiveState;
  sub: string;
  result: UnitResult;
  job: { type: JobType; running: boolean } | null;
  mainPid: number | null;
  controlPid: number | null;
  since: number; // engine clock (ms)
  activatingAt: number | null;
  activeAt: number | null;
  firstActivatingAt: number | null; // the first activation (the boot chart), restarts aside
  firstActiveAt: number | null;
  statusText: string;
  errno: number | null;
  restarts: number; // automatic restarts inside the start-limit window
  nRestarts: number; // since the manager started
  exits: readonly import("./service.ts").ExitRecord[];
  after: string[];
  requires: string[];
  wants: string[];
  // The last start skipped by a condition or failed by an assert (engine clock), or null.
  unmet: { assert: boolean; text: string; at: number } | null;
  template?: { accepted: number; connected: number }; // accept = true units
  changedOnDisk?: boolean; // a reload found its configuration changed: the new one applies at its next start
  instance?: { template: string; connection: number }; // their instances
  trigger?: TriggerSnapshot; // timer and path units
}
