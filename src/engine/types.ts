// The engine's vocabulary: events in, effects out, and the states it reports.
import type { EmergencyAction, ExecCommand } from "../config/types.ts";
import type { NotifyMessage } from "../notify/parse.ts";

export type ExitStatus =
  | { kind: "exited"; code: number }
  | { kind: "killed"; signal: number; coreDumped: boolean };

/** systemd's ActiveState. */
export type ActiveState = "inactive" | "activating" | "active" | "reloading" | "deactivating" | "failed";

/** The finer state of a service (systemd's SubState names where they exist). */
export type ServiceSubState =
  | "dead" | "start-pre" | "start" | "start-post" | "running" | "exited" | "reload"
  | "stop" | "stop-watchdog" | "stop-sigterm" | "stop-sigkill" | "auto-restart" | "failed";

/** Why a unit last ended up where it is (systemd's Result=). */
export type UnitResult =
  | "success" | "exit-code" | "signal" | "core-dump" | "timeout" | "watchdog"
  | "start-limit-hit" | "exec" | "dependency" | "protocol" | "resources";

export type JobType = "start" | "stop" | "restart" | "reload";
export type JobResult = "done" | "failed" | "dependency" | "canceled" | "timeout" | "unsupported";

export type ProcessRole = "main" | "control";
export type TimerKind = "start" | "stop" | "kill" | "restart" | "watchdog" | "reload";

export type EngineEvent =
  | { type: "request"; job: JobType; unit: string; requestId?: number }
  | { type: "reset-failed"; unit: string | null }
  | { type: "spawned"; unit: string; role: ProcessRole; pid: number }
  | { type: "spawn-failed"; unit: string; role: ProcessRole; error: string }
  | { type: "exited"; pid: number; status: ExitStatus }
  // The shell has already matched the sender to the unit (its pids, or its session or
  // cgroup); mainPidInUnit says whether a MAINPID= claim names a process of the unit.
  | { type: "notify"; unit: string; pid: number; uid: number; msg: NotifyMessage; mainPidInUnit: boolean }
  | { type: "timer"; unit: string; kind: TimerKind; id: number }
  | { type: "pid-file"; unit: string; pid: number | null; error?: string }
  | { type: "readiness-fd"; unit: string }
  // The shell finished a mount effect; error is set when it failed.
  | { type: "mount-done"; unit: string; op: "mount" | "unmount"; error?: string }
  // Socket activation (src/engine/activation.ts). A socket is named by the unit whose
  // file declares it and its index among that file's [[socket]] entries.
  | { type: "sockets-opened"; units: string[]; failed: { unit: string; index: number; error: string }[] }
  | { type: "socket-triggered"; unit: string; index: number }
  | { type: "connection"; unit: string; index: number; connection: number; source: string }
  // Answer to find-main-pid: the processes of the unit's cgroup whose parent is the
  // manager (left by a forking parent), and whether the cgroup holds any process at all.
  | { type: "main-pid-guess"; unit: string; candidates: number[]; populated: boolean }
  // The cgroup of a unit the engine watches (watch-cgroup) has no process left.
  | { type: "cgroup-empty"; unit: string };

export type Effect =
  | { type: "spawn"; unit: string; role: ProcessRole; command: ExecCommand; main: boolean }
  // scope "unit": every process of the unit (its cgroup, or its process group when
  // cgroups are missing); "process": that pid alone (kill_mode = process / mixed).
  | { type: "kill"; unit: string; pid: number; signal: number; scope: "unit" | "process" }
  | { type: "set-timer"; unit: string; kind: TimerKind; ms: number; id: number }
  | { type: "clear-timer"; unit: string; kind: TimerKind }
  | { type: "read-pid-file"; unit: string; path: string }
  | { type: "mount"; unit: string; op: "mount" | "unmount" }
  | { type: "log"; unit: string; level: "debug" | "info" | "notice" | "warning" | "err"; text: string }
  | { type: "console"; unit: string; status: "ok" | "failed" | "info"; text: string }
  | { type: "job-finished"; unit: string; job: JobType; result: JobResult; requestId?: number; reason: string }
  | { type: "state-changed"; unit: string; active: ActiveState; sub: string }
  | { type: "emergency-action"; unit: string; action: EmergencyAction; reason: string }
  // An unclean exit entered the unit's crash record; the shell attaches the log tail.
  | { type: "exit-recorded"; unit: string; record: import("./service.ts").ExitRecord }
  // Socket activation: watch a socket or not; close an accepted connection the engine
  // refused; an accept = true instance is gone (its connection is closed with it).
  | { type: "listen"; unit: string; index: number; on: boolean }
  | { type: "close-connection"; unit: string; connection: number }
  | { type: "instance-removed"; unit: string; connection: number }
  // A forking parent exited without a pid file: which process is the daemon? (answered
  // with main-pid-guess, systemd's service_search_main_pid)
  | { type: "find-main-pid"; unit: string }
  // Tell the engine once (cgroup-empty) when the unit's cgroup has no process left.
  | { type: "watch-cgroup"; unit: string };
