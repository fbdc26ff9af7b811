// The service state machine (systemd's src/core/service.c, reduced to what hearth's
// configuration can express). Pure: every transition takes the runtime record and an
// output port, and returns nothing; effects go out through the port.
import type { ExecCommand, ServiceSection } from "../config/types.ts";
import type { NotifyMessage } from "./notify-message.ts";
import { describeNotify } from "./notify-text.ts";
import { exitCause, restartDelaySec, shallRestart, startLimitCheck, type ExitCause } from "./restart.ts";
import type {
  ActiveState, Effect, ExitStatus, ProcessRole, ServiceSubState, TimerKind, UnitResult,
} from "./types.ts";

const SIGKILL = 9, SIGHUP = 1, SIGCONT = 18, SIGABRT = 6;
// systemd's IDLE_TIMEOUT_USEC: a type = "idle" service waits at most this for the other jobs.
export const IDLE_TIMEOUT_SEC = 5;
// MONOTONIC_USEC is read on another clock than the engine's (converted by an offset measured
// once): a RELOADING=1 this much before the reload began still answers it.
const CLOCK_SLACK_USEC = 1000;
// How long SIGKILLed processes get to disappear before the unit gives up on them.
const SIGKILL_GRACE_SEC = 5;

type ControlList = "condition" | "pre" | "post" | "stop" | "reload" | "stop-post";

export interface ExitRecord {
  time: number;
  cause: ExitCause | "exec";
  status: ExitStatus | null;
  description: string; // "exited, code=3", "killed, signal=SEGV", "watchdog timeout"
  coreDumped: boolean;
  lateMs?: number; // for timeouts and the watchdog: how long after its deadline the timer fired
  logTail?: string[]; // the unit's last log lines, attached by the shell (crash record)
}

export interface ServiceRuntime {
  sub: ServiceSubState;
  mainPid: number | null;
  controlPid: number | null;
  control: { list: ControlList; index: number } | null;
  result: UnitResult;
  failCause: ExitCause | null; // set when a failure is being cleaned up (timeout, watchdog...)
  lastExit: ExitStatus | null; // the main process's, in this run
  exitEnv: Record<string, string>; // $EXIT_CODE and $EXIT_STATUS of that exit, for exec_stop(_post)
  mainIndex: number; // which of a oneshot's exec_start commands runs
  // exec_stop_post: run once per run; what the unit does once it is over (null: not running).
  stopPostRan: boolean;
  afterStopPost: { cause: ExitCause | null; status: ExitStatus | null } | null;
  skipped: string | null; // exec_condition skipped this start: why
  idleWait: boolean; // type = "idle": the main process waits for the other jobs (IDLE_TIMEOUT_SEC at most)
  reloadBeginUsec: number; // notify-reload: CLOCK_MONOTONIC when reload_signal was sent
  reloadFailure: string | null; // why the last reload failed (its job fails), null if it did not
  exits: ExitRecord[]; // the crash record, newest last
  statusText: string;
  errno: number | null;
  operatorStop: boolean; // stop asked for by the operator: never restart
  restartStop?: boolean; // this stop is a restart job's: restart_kill_signal
  restartsInRow: number; // automatic restarts since the last manual start (back-off step)
  restartsTotal: number; // every automatic restart since the manager started (NRestarts)
  restartTimes: number[]; // automatic restarts inside start_limit_interval_sec
  watchdogMs: number; // current service watchdog timeout, 0 = off
  // No main pid is known (a forking daemon that could not be told apart): the unit lives
  // while its cgroup holds a process, and is stopped by signalling the cgroup.
  cgroupTracked: boolean;
  lastMainPid: number | null; // the last main pid: its process group is the unit's without cgroups
  timerIds: Partial<Record<TimerKind, number>>;
  deadlines: Partial<Record<TimerKind, number>>;
  since: number; // when the active state last changed
  busNameOwner: string | null; // who owns bus_name, as the bus last said (type = "dbus")
}

export function newServiceRuntime(cfg: ServiceSection, now: number): ServiceRuntime {
  return {
    sub: "dead", mainPid: null, controlPid: null, control: null, result: "success",
    failCause: null, lastExit: null, exitEnv: {}, mainIndex: 0, stopPostRan: false, afterStopPost: null, skipped: null, idleWait: false, reloadBeginUsec: 0, reloadFailure: null, exits: [], statusText: "", errno: null,
    operatorStop: false, restartsInRow: 0, restartsTotal: 0, restartTimes: [], watchdogMs: cfg.watchdog_sec * 1000,
    cgroupTracked: false, lastMainPid: null,
    timerIds: {}, deadlines: {}, since: now, busNameOwner: null,
  };
}

/**
 * The active state of a service in `sub`: a type = "idle" service is active as soon as its
 * start begins, so that no job waits for it (systemd's state_translation_table_idle).
 */
export function serviceActiveState(sub: ServiceSubState, cfg: ServiceSection): ActiveState {
  const active = activeStateOf(sub);
  return cfg.type === "idle" && active === "activating" && sub !== "auto-restart" ? "active" : active;
}

export function activeStateOf(sub: ServiceSubState): ActiveState {
  switch (sub) {
    case "dead": return "inactive";
    case "failed": return "failed";
    case "condition": case "start-pre": case "start": case "start-post": case "auto-restart": return "activating";
    case "running": case "exited": return "active";
    case "reload": case "reload-signal": case "reload-notify": return "reloading";
    default: return "deactivating";
  }
}

/** Everything a transition may need besides the runtime record. */
export interface ServicePort {
  unit: string;
  cfg: ServiceSection;
  now: number;
  nextTimerId: () => number;
  emit: (e: Effect) => void;
  managerPid: number | null; // never a main pid, whoever names it
  monotonicOffsetMs: number; // CLOCK_MONOTONIC ms minus the engine's clock (MONOTONIC_USEC is on CLOCK_MONOTONIC)
}

export function describeExit(status: ExitStatus, signalName: (n: number) => string): string {
  if (status.kind === "exited") return `exited, code=${status.code}`;
  // systemd's wording: "killed, signal=SEGV" (the name without its SIG prefix).
  const name = signalName(status.signal).replace(/^SIG/, "");
  return `killed, signal=${name}${status.coreDumped ? " (core dumped)" : ""}`;
}

// ---- timers -------------------------------------------------------------------------

function setTimer(rt: ServiceRuntime, p: ServicePort, kind: TimerKind, sec: number) {
  // A zero or infinite timeout means "no timeout"; a zero restart delay means "now".
  if (!Number.isFinite(sec) || (sec <= 0 && kind !== "restart")) return clearTimer(rt, p, kind);
  sec = Math.max(0, sec);
  const id = p.nextTimerId();
  rt.timerIds[kind] = id;
  rt.deadlines[kind] = p.now + sec * 1000;
  p.emit({ type: "set-timer", unit: p.unit, kind, ms: sec * 1000, id });
}

function clearTimer(rt: ServiceRuntime, p: ServicePort, kind: TimerKind) {
  if (rt.timerIds[kind] === undefined) return;
  delete rt.timerIds[kind];
  delete rt.deadlines[kind];
  p.emit({ type: "clear-timer", unit: p.unit, kind });
}

function clearAllTimers(rt: ServiceRuntime, p: ServicePort) {
  for (const kind of Object.keys(rt.timerIds) as TimerKind[]) if (kind !== "restart") clearTimer(rt, p, kind);
}

/** EXTEND_TIMEOUT_USEC: the deadline becomes at least `ms` from now, never earlier. */
function extendTimer(rt: ServiceRuntime, p: ServicePort, kind: TimerKind, ms: number) {
  const deadline = rt.deadlines[kind];
  if (deadline === undefined || deadline >= p.now + ms) return;
  setTimer(rt, p, kind, ms / 1000);
}

// ---- helpers --------------------------------------------------------------------------

function enter(rt: ServiceRuntime, p: ServicePort, sub: ServiceSubState) {
  const before = serviceActiveState(rt.sub, p.cfg);
  rt.sub = sub;
  const active = serviceActiveState(sub, p.cfg);
  if (active !== before) rt.since = p.now;
  p.emit({ type: "state-changed", unit: p.unit, active, sub });
}

const RELOADING: ReadonlySet<ServiceSubState> = new Set(["reload", "reload-signal", "reload-notify"]);

function log(p: ServicePort, level: "debug" | "info" | "notice" | "warning" | "err", text: string) {
  p.emit({ type: "log", unit: p.unit, level, text });
}

function commands(cfg: ServiceSection, list: ControlList): ExecCommand[] {
  switch (list) {
    case "condition": return cfg.exec_condition ?? [];
    case "stop-post": return cfg.exec_stop_post ?? [];
    case "pre": return cfg.exec_start_pre;
    case "post": return cfg.exec_start_post;
    case "stop": return cfg.exec_stop;
    case "reload": return cfg.exec_reload;
  }
}

function runControl(rt: ServiceRuntime, p: ServicePort, list: ControlList, index: number) {
  rt.control = { list, index };
  rt.controlPid = null;
  const env = list === "stop" || list === "stop-post" ? stopEnvironment(rt) : undefined;
  p.emit({ type: "spawn", unit: p.unit, role: "control", command: commands(p.cfg, list)[index]!, main: false, ...(env ? { env } : {}) });
}

/**
 * What exec_stop and exec_stop_post learn of the run (systemd): $SERVICE_RESULT, and once
 * the main process has exited $EXIT_CODE (exited, killed, dumped) and $EXIT_STATUS (the
 * code, or the signal's name without SIG).
 */
function stopEnvironment(rt: ServiceRuntime): Record<string, string> {
  return { SERVICE_RESULT: rt.result, ...rt.exitEnv };
}

function exitEnvironment(status: ExitStatus, signalName: (n: number) => string): Record<string, string> {
  if (status.kind === "exited") return { EXIT_CODE: "exited", EXIT_STATUS: String(status.code) };
  return { EXIT_CODE: status.coreDumped ? "dumped" : "killed", EXIT_STATUS: signalName(status.signal).replace(/^SIG/, "") };
}

/** The main commands: a oneshot's several exec_start, one for other types. */
function mainCommands(cfg: ServiceSection): ExecCommand[] {
  return [cfg.exec_start, ...(cfg.exec_start_next ?? [])];
}

/** The control process runs no more for this unit: SIGKILL it; its exit will be ignored. */
function abandonControl(rt: ServiceRuntime, p: ServicePort) {
  if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
  rt.control = null;
}

function resultOf(status: ExitStatus): UnitResult {
  if (status.kind === "exited") return "exit-code";
  return status.coreDumped ? "core-dump" : "signal";
}

function usesReadinessFd(cfg: ServiceSection) {
  return cfg.notification_fd !== null;
}

// ---- start ------------------------------------------------------------------------

export function startService(rt: ServiceRuntime, p: ServicePort, automatic: boolean) {
  if (rt.sub !== "dead" && rt.sub !== "failed" && rt.sub !== "auto-restart") return;
  clearTimer(rt, p, "restart");
  if (!automatic) {
    rt.restartsInRow = 0;
    rt.restartTimes = [];
  }
  rt.result = "success";
  rt.failCause = null;
  rt.operatorStop = false;
  rt.restartStop = false;
  rt.statusText = "";
  rt.errno = null;
  rt.mainPid = null;
  rt.cgroupTracked = false;
  rt.lastExit = null;
  rt.exitEnv = {};
  rt.stopPostRan = false;
  rt.afterStopPost = null;
  rt.skipped = null;
  rt.idleWait = false;
  rt.watchdogMs = p.cfg.watchdog_sec * 1000;
  setTimer(rt, p, "start", p.cfg.timeout_start_sec);
  if ((p.cfg.exec_condition ?? []).length > 0) {
    enter(rt, p, "condition");
    runControl(rt, p, "condition", 0);
  } else {
    enterStartPre(rt, p);
  }
}

function enterStartPre(rt: ServiceRuntime, p: ServicePort) {
  if (p.cfg.exec_start_pre.length > 0) {
    enter(rt, p, "start-pre");
    runControl(rt, p, "pre", 0);
  } else {
    enterStart(rt, p);
  }
}

function enterStart(rt: ServiceRuntime, p: ServicePort) {
  enter(rt, p, "start");
  rt.control = null;
  if (p.cfg.type !== "idle") return runMain(rt, p, 0);
  // The engine lets it go (releaseIdle) once no other job is left; the timer at the latest.
  rt.idleWait = true;
  setTimer(rt, p, "idle", IDLE_TIMEOUT_SEC);
}

/** A type = "idle" service waiting for the other jobs: its main process runs now. */
export function releaseIdle(rt: ServiceRuntime, p: ServicePort) {
  if (!rt.idleWait || rt.sub !== "start") return;
  rt.idleWait = false;
  clearTimer(rt, p, "idle");
  runMain(rt, p, 0);
}

function runMain(rt: ServiceRuntime, p: ServicePort, index: number) {
  rt.mainIndex = index;
  p.emit({ type: "spawn", unit: p.unit, role: "main", command: mainCommands(p.cfg)[index]!, main: true });
}

function enterStartPost(rt: ServiceRuntime, p: ServicePort) {
  if (p.cfg.exec_start_post.length > 0) {
    enter(rt, p, "start-post");
    runControl(rt, p, "post", 0);
  } else {
    enterRunning(rt, p);
  }
}

function enterRunning(rt: ServiceRuntime, p: ServicePort) {
  clearTimer(rt, p, "start");
  rt.control = null;
  if (rt.mainPid === null && !rt.cgroupTracked) {
    // Nothing left to follow: a oneshot done, or a daemon gone before it could be found.
    if (p.cfg.remain_after_exit) enter(rt, p, "exited");
    else settle(rt, p);
    return;
  }
  enter(rt, p, "running");
  armWatchdog(rt, p);
}

function armWatchdog(rt: ServiceRuntime, p: ServicePort) {
  if (rt.watchdogMs > 0 && rt.sub === "running") setTimer(rt, p, "watchdog", rt.watchdogMs / 1000);
}

// ---- process events ------------------------------------------------------------------

export function onSpawned(rt: ServiceRuntime, p: ServicePort, role: ProcessRole, pid: number) {
  if (role === "control") {
    rt.controlPid = pid;
    return;
  }
  rt.mainPid = pid;
  rt.lastMainPid = pid;
  if (rt.sub !== "start") return;
  // simple and exec: the spawner returns only once execve succeeded, so both are up now.
  const atFork = p.cfg.type === "simple" || p.cfg.type === "exec" || p.cfg.type === "idle";
  if (atFork && !usesReadinessFd(p.cfg)) enterStartPost(rt, p);
}

/**
 * The bus says who owns bus_name now (systemd's service_bus_name_owner_change). A dbus
 * service starting is ready when the name gets an owner — a change seen after the start,
 * not an owner from before it (a previous run's, not yet gone from the bus); a
 * running one whose name has no owner any more is stopped as systemd does it: a stop of
 * its own (exec_stop, then kill_signal), with success, after which the restart table
 * applies as for a clean exit.
 */
export function onBusNameOwner(rt: ServiceRuntime, p: ServicePort, owner: string | null) {
  if (owner === rt.busNameOwner) return;
  rt.busNameOwner = owner;
  log(p, "debug", owner === null ? `D-Bus name ${p.cfg.bus_name} now not owned by anyone` : `D-Bus name ${p.cfg.bus_name} now owned by ${owner}`);
  if (p.cfg.type !== "dbus") return;
  if (owner !== null && rt.sub === "start") return enterStartPost(rt, p);
  if (owner === null && rt.sub === "running") {
    log(p, "info", `D-Bus name ${p.cfg.bus_name} no longer owned: stopping`);
    rt.failCause = "clean";
    beginStop(rt, p);
  }
}

export function onSpawnFailed(rt: ServiceRuntime, p: ServicePort, role: ProcessRole, error: string) {
  log(p, "err", `Failed to execute ${role === "main" ? "main" : "control"} process: ${error}`);
  if (role === "control") rt.controlPid = null;
  else rt.mainPid = null;
  recordExit(rt, p, { time: p.now, cause: "exec", status: null, description: `exec failed: ${error}` });
  if (role === "control" && rt.control) {
    const cmd = commands(p.cfg, rt.control.list)[rt.control.index]!;
    return controlFinished(rt, p, cmd.ignoreFailure, { kind: "exited", code: 203 });
  }
  // A oneshot's "-" command that could not run: its failure is ignored and the next runs (systemd's 203/EXEC, ignored).
  const main = mainCommands(p.cfg)[rt.mainIndex];
  if (p.cfg.type === "oneshot" && rt.sub === "start" && main?.ignoreFailure) {
    return onMainExited(rt, p, { kind: "exited", code: 203 }, String);
  }
  rt.result = "exec";
  failAndMaybeRestart(rt, p, "unclean-code", { kind: "exited", code: 203 });
}

/** Returns true if the pid belonged to this service. */
export function onExited(rt: ServiceRuntime, p: ServicePort, pid: number, status: ExitStatus,
  signalName: (n: number) => string): boolean {
  if (pid === rt.controlPid) {
    rt.controlPid = null;
    const control = rt.control;
    if (!control || STOP_SIGNAL_STATES.has(rt.sub)) {
      // A control process signalled with the main one (or left to run by STOPPING=1):
      // the stop is over when both are gone.
      rt.control = null;
      if (STOP_SIGNAL_STATES.has(rt.sub) && rt.mainPid === null && !rt.cgroupTracked) settle(rt, p);
      return true;
    }
    const cmd = commands(p.cfg, control.list)[control.index]!;
    const ok = status.kind === "exited" && status.code === 0;
    if (!ok) log(p, cmd.ignoreFailure ? "info" : "warning", `Control process ${cmd.argv[0]} ${describeExit(status, signalName)}`);
    controlFinished(rt, p, ok || cmd.ignoreFailure, status);
    return true;
  }
  if (pid !== rt.mainPid) return false;
  rt.mainPid = null;
  rt.lastMainPid = pid;
  rt.lastExit = status;
  rt.exitEnv = exitEnvironment(status, signalName);
  onMainExited(rt, p, status, signalName);
  return true;
}

const STOP_SIGNAL_STATES: ReadonlySet<ServiceSubState> = new Set(["stop-sigterm", "stop-sigkill", "stop-watchdog"]);

function controlFinished(rt: ServiceRuntime, p: ServicePort, ok: boolean, status: ExitStatus) {
  const control = rt.control!;
  const list = commands(p.cfg, control.list);
  const next = control.index + 1;
  switch (control.list) {
    case "condition":
      if (ok) return next < list.length ? runControl(rt, p, "condition", next) : enterStartPre(rt, p);
      if (status.kind === "exited" && status.code >= 1 && status.code <= 254) {
        // systemd's ExecCondition=: as a condition that does not hold, the start is skipped.
        rt.control = null;
        rt.skipped = `exec_condition ${list[control.index]!.argv[0]} exited with ${status.code}`;
        log(p, "info", `Start skipped: ${rt.skipped}`);
        return enterStopSigterm(rt, p);
      }
      rt.result = resultOf(status);
      return failAndMaybeRestart(rt, p, status.kind === "exited" ? "unclean-code" : "unclean-signal", status);
    case "stop-post":
      if (!ok && rt.result === "success") rt.result = resultOf(status);
      if (next < list.length) return runControl(rt, p, "stop-post", next);
      return leaveStopPost(rt, p);
    case "pre":
      if (!ok) {
        rt.result = resultOf(status);
        return failAndMaybeRestart(rt, p, status.kind === "exited" ? "unclean-code" : "unclean-signal", status);
      }
      return next < list.length ? runControl(rt, p, "pre", next) : enterStart(rt, p);
    case "post":
      if (!ok) {
        rt.result = resultOf(status);
        rt.failCause = status.kind === "exited" ? "unclean-code" : "unclean-signal";
        return enterStopSigterm(rt, p);
      }
      return next < list.length ? runControl(rt, p, "post", next) : enterRunning(rt, p);
    case "reload":
      if (!ok) {
        log(p, "warning", "Reload failed");
        rt.reloadFailure = `exec_reload ${list[control.index]!.argv[0]} ${status.kind === "exited" ? `exited with ${status.code}` : "was killed"}`;
      }
      if (ok && next < list.length) return runControl(rt, p, "reload", next);
      rt.control = null;
      clearTimer(rt, p, "reload");
      if (rt.sub === "reload") endReload(rt, p);
      return;
    case "stop":
      if (next < list.length && rt.sub === "stop") return runControl(rt, p, "stop", next);
      rt.control = null;
      return enterStopSigterm(rt, p);
  }
}

function onMainExited(rt: ServiceRuntime, p: ServicePort, status: ExitStatus, signalName: (n: number) => string) {
  let cause = exitCause(status, p.cfg.success_exit_status);
  const description = describeExit(status, signalName);
  const command = mainCommands(p.cfg)[rt.mainIndex] ?? p.cfg.exec_start;
  const ignored = cause !== "clean" && command.ignoreFailure;
  if (ignored) {
    // systemd's "-" prefix (ExecStart=-/usr/sbin/sshd -i): told, then taken as success.
    log(p, "info", `Main process ${description}: failure ignored (exec_start has the "-" prefix)`);
    cause = "clean";
  }
  if (cause !== "clean") recordExit(rt, p, { time: p.now, cause, status, description });

  switch (rt.sub) {
    case "start":
      if (cause === "clean" && p.cfg.type === "oneshot") {
        // Several exec_start: each in turn, as the main process (systemd's service_run_next_main).
        if (rt.mainIndex + 1 < mainCommands(p.cfg).length) return runMain(rt, p, rt.mainIndex + 1);
        return enterStartPost(rt, p);
      }
      if (cause === "clean" && p.cfg.type === "forking") {
        if (p.cfg.pid_file) return p.emit({ type: "read-pid-file", unit: p.unit, path: p.cfg.pid_file });
        return p.emit({ type: "find-main-pid", unit: p.unit });
      }
      if (cause === "clean" && p.cfg.type === "notify" && p.cfg.remain_after_exit && p.cfg.notify_access === "all") {
        // Another process of the unit may still send READY=1 (systemd waits for it too).
        return log(p, "info", `Main process ${description} before READY=1; waiting for it from the unit's other processes`);
      }
      log(p, "err", `Main process ${description} before it was ready`);
      rt.result = cause === "clean" ? "protocol" : resultOf(status);
      return failAndMaybeRestart(rt, p, cause === "clean" ? "unclean-code" : cause, status);
    case "start-post": case "running": case "reload": case "reload-signal": case "reload-notify":
      abandonControl(rt, p);
      if (!ignored) log(p, cause === "clean" ? "info" : "warning", `Main process ${description}`);
      if (cause !== "clean") rt.result = resultOf(status);
      clearAllTimers(rt, p);
      if (cause === "clean" && p.cfg.remain_after_exit) return enter(rt, p, "exited");
      return decideAfterExit(rt, p, cause, status);
    case "stop": case "stop-sigterm": case "stop-sigkill": case "stop-watchdog":
      // Not stopped by the operator (STOPPING=1, say): the exit counts for the restart table.
      if (!rt.operatorStop && rt.failCause === null) {
        rt.failCause = cause;
        if (cause !== "clean") rt.result = resultOf(status);
      }
      if (rt.controlPid === null) settle(rt, p);
      return;
    default:
      return;
  }
}

function recordExit(rt: ServiceRuntime, p: ServicePort, rec: Omit<ExitRecord, "coreDumped">) {
  const full: ExitRecord = { ...rec, coreDumped: rec.status?.kind === "killed" && rec.status.coreDumped };
  rt.exits.push(full);
  if (rt.exits.length > 20) rt.exits.shift();
  p.emit({ type: "exit-recorded", unit: p.unit, record: full });
}

// ---- readiness ---------------------------------------------------------------------------

export function onReadinessFd(rt: ServiceRuntime, p: ServicePort) {
  if (rt.sub === "start") enterStartPost(rt, p);
}

export function onPidFile(rt: ServiceRuntime, p: ServicePort, pid: number | null, error?: string) {
  if (rt.sub !== "start" || rt.mainPid !== null) return;
  const refused = pid === null ? null : mainPidRefusal(rt, p, pid);
  if (pid === null || refused !== null) {
    log(p, "warning", `PID file ${p.cfg.pid_file} ${pid === null ? `not readable (${error ?? "no pid"})` : `names PID ${pid}, ${refused}`}; guessing the main PID`);
    return p.emit({ type: "find-main-pid", unit: p.unit });
  }
  setMainPid(rt, pid);
  enterStartPost(rt, p);
}

/**
 * The answer to find-main-pid (systemd's service_search_main_pid): the one process the
 * forking parent left is the daemon; with several, or none the shell can see, the unit
 * is followed by its cgroup until it is empty; so too with guess_main_pid = false.
 */
export function onMainPidGuess(rt: ServiceRuntime, p: ServicePort, candidates: number[], populated: boolean) {
  if (rt.sub !== "start" || rt.mainPid !== null) return;
  const suitable = candidates.filter((pid) => mainPidRefusal(rt, p, pid) === null);
  // guess_main_pid = false (systemd's GuessMainPID=no): never one, the cgroup is followed.
  if (suitable.length === 1 && p.cfg.guess_main_pid !== false) {
    setMainPid(rt, suitable[0]!);
    log(p, "debug", `Main PID guessed: ${suitable[0]}`);
  } else if (populated) {
    rt.cgroupTracked = true;
    log(p, "info", suitable.length > 1
      ? `Main PID not guessed: ${suitable.length} processes could be it; following the unit's processes instead`
      : "Main PID not found; following the unit's processes instead");
    p.emit({ type: "watch-cgroup", unit: p.unit });
  }
  enterStartPost(rt, p);
}

/** The unit's cgroup emptied (watch-cgroup): a daemon followed by its cgroup is gone. */
export function onCgroupEmpty(rt: ServiceRuntime, p: ServicePort) {
  if (!rt.cgroupTracked || rt.mainPid !== null) return;
  rt.cgroupTracked = false;
  switch (rt.sub) {
    case "start-post": case "running": case "reload": case "reload-signal": case "reload-notify":
      abandonControl(rt, p);
      log(p, "info", "The unit's processes are gone");
      clearAllTimers(rt, p);
      if (p.cfg.remain_after_exit) return enter(rt, p, "exited");
      return decideAfterExit(rt, p, "clean", null);
    case "stop-sigterm": case "stop-sigkill": case "stop-watchdog":
      if (rt.controlPid === null) settle(rt, p);
      return;
  }
}

function setMainPid(rt: ServiceRuntime, pid: number) {
  rt.mainPid = pid;
  rt.lastMainPid = pid;
  rt.cgroupTracked = false;
}

/** Why a pid cannot be the main pid (systemd's service_is_suitable_main_pid), or null. */
function mainPidRefusal(rt: ServiceRuntime, p: ServicePort, pid: number): string | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return "not a process";
  if (pid === 1 || pid === p.managerPid) return "that is the manager";
  if (pid === rt.controlPid) return "that is the control process";
  return null;
}

export type NotifyVerdict = { accepted: true } | { accepted: false; reason: string };

/** What the shell found of the process a MAINPID= names. */
export interface MainPidClaim {
  inUnit: boolean; // in the unit's cgroup (or session)
  alive: boolean;
}

/** Whether notify_access lets this process talk for the service (also for its fd store). */
export function notifyAllowed(rt: ServiceRuntime, cfg: ServiceSection, pid: number): boolean {
  const access = cfg.notify_access;
  return access === "all" || (access === "main" && pid === rt.mainPid) ||
    (access === "exec" && (pid === rt.mainPid || pid === rt.controlPid));
}

export function onNotify(rt: ServiceRuntime, p: ServicePort, pid: number, uid: number,
  msg: NotifyMessage, claim: MainPidClaim | null): NotifyVerdict {
  const access = p.cfg.notify_access;
  if (!notifyAllowed(rt, p.cfg, pid)) {
    const who = access === "none" ? "disabled (notify_access = none)" :
      access === "main" ? `only permitted for main PID ${rt.mainPid ?? "(none)"}` :
      `only permitted for main PID ${rt.mainPid ?? "(none)"} and control PID ${rt.controlPid ?? "(none)"}`;
    return { accepted: false, reason: `notification from PID ${pid} rejected: reception ${who} (${describeNotify(msg)})` };
  }
  log(p, "debug", `Notification from PID ${pid} in state ${rt.sub}: ${describeNotify(msg)}`);
  if (msg.mainPid !== undefined && msg.mainPid !== rt.mainPid) claimMainPid(rt, p, pid, uid, msg.mainPid, claim ?? { inUnit: false, alive: false });
  if (msg.status !== undefined) rt.statusText = msg.status;
  if (msg.errno !== undefined) rt.errno = msg.errno;
  if (msg.extendTimeoutUsec !== undefined) {
    const ms = msg.extendTimeoutUsec / 1000;
    for (const kind of ["start", "stop", "reload", "watchdog"] as const) extendTimer(rt, p, kind, ms);
  }
  if (msg.watchdogUsec !== undefined) {
    // WATCHDOG_USEC=0 turns the watchdog off (systemd).
    rt.watchdogMs = msg.watchdogUsec / 1000;
    if (rt.watchdogMs > 0) armWatchdog(rt, p);
    else clearTimer(rt, p, "watchdog");
  }

  // systemd's precedence: STOPPING=1 wins over READY=1, which wins over RELOADING=1.
  const flag = msg.stopping ? "stopping" : msg.ready ? "ready" : msg.reloading ? "reloading" : null;
  if (flag !== null && !onStateFlag(rt, p, flag, msg.monotonicUsec)) log(p, "debug", `${flag.toUpperCase()}=1 changes nothing in state ${rt.sub}`);
  if (msg.watchdog === "ping") armWatchdog(rt, p);
  else if (msg.watchdog === "trigger") watchdogExpired(rt, p);
  return { accepted: true };
}

/** READY=1, RELOADING=1 or STOPPING=1 (the winner of a message); false if it changes nothing. */
function onStateFlag(rt: ServiceRuntime, p: ServicePort, flag: "stopping" | "ready" | "reloading",
  monotonicUsec: number | bigint | undefined): boolean {
  switch (flag) {
    case "stopping":
      if (rt.sub !== "running" && !RELOADING.has(rt.sub)) return false;
      // The daemon announced it is going away on its own: wait for it, send nothing.
      clearTimer(rt, p, "watchdog");
      clearTimer(rt, p, "reload");
      enter(rt, p, "stop-sigterm");
      setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
      return true;
    case "ready":
      if (rt.sub === "start" && (p.cfg.type === "notify" || p.cfg.type === "notify-reload")) {
        enterStartPost(rt, p);
        return true;
      }
      // notify-reload: the reload is over at READY=1 after its RELOADING=1, not before.
      if ((rt.sub !== "reload" && rt.sub !== "reload-notify") || rt.control !== null) return false;
      endReload(rt, p);
      return true;
    case "reloading":
      if (rt.sub === "reload-signal") {
        // Only a RELOADING=1 sent after the signal answers it (systemd 253's MONOTONIC_USEC check).
        const fresh = monotonicUsec !== undefined && Number(monotonicUsec) + CLOCK_SLACK_USEC >= rt.reloadBeginUsec;
        if (!fresh) {
          log(p, "debug", monotonicUsec === undefined ? "RELOADING=1 without MONOTONIC_USEC: not the answer to reload_signal"
            : `RELOADING=1 with MONOTONIC_USEC=${monotonicUsec} from before reload_signal was sent: ignored`);
          return true;
        }
        enter(rt, p, "reload-notify");
        return true;
      }
      if (rt.sub !== "running") return false;
      enter(rt, p, "reload");
      setTimer(rt, p, "reload", p.cfg.timeout_start_sec);
      return true;
  }
}

/** States in which MAINPID= is taken (systemd's list): a process exists or is awaited. */
const MAINPID_STATES: ReadonlySet<ServiceSubState> = new Set([
  "start", "start-post", "running", "reload", "reload-signal", "reload-notify", "stop", "stop-sigterm", "stop-sigkill", "stop-watchdog",
]);

/**
 * MAINPID=: never PID 1, the manager or the control process, whoever asks (else a stop
 * would signal them); a process of another unit or none only if the sender is root.
 */
function claimMainPid(rt: ServiceRuntime, p: ServicePort, sender: number, uid: number, claimed: number,
  { inUnit, alive }: MainPidClaim) {
  // A pid that does not exist would be waited for, and signalled, until a stop times out.
  const refusal = !MAINPID_STATES.has(rt.sub) ? `the unit is ${rt.sub}`
    : mainPidRefusal(rt, p, claimed) ?? (!alive ? "no such process"
      : inUnit || uid === 0 ? null : "not a process of this unit, and the sender is not root");
  if (refusal !== null) return log(p, "warning", `MAINPID=${claimed} from PID ${sender} refused: ${refusal}`);
  if (!inUnit) log(p, "debug", `MAINPID=${claimed} is not a process of this unit; accepted as the sender is root`);
  setMainPid(rt, claimed);
}

// ---- timers firing ------------------------------------------------------------------------

export function onTimer(rt: ServiceRuntime, p: ServicePort, kind: TimerKind, id: number) {
  if (rt.timerIds[kind] !== id) return; // stale
  const lateMs = Math.max(0, p.now - (rt.deadlines[kind] ?? p.now));
  delete rt.timerIds[kind];
  delete rt.deadlines[kind];
  switch (kind) {
    case "start":
      if (rt.sub === "condition" || rt.sub === "start-pre" || rt.sub === "start" || rt.sub === "start-post") {
        log(p, "err", `Start operation timed out after ${p.cfg.timeout_start_sec}s. Terminating.`);
        rt.result = "timeout";
        rt.failCause = "timeout";
        recordExit(rt, p, { time: p.now, cause: "timeout", status: null, description: "start timeout", lateMs });
        enterStopSigterm(rt, p);
      }
      return;
    case "idle":
      if (rt.idleWait) log(p, "info", `Other jobs still running after ${IDLE_TIMEOUT_SEC}s: starting anyway (type = "idle")`);
      return releaseIdle(rt, p);
    case "reload":
      if (RELOADING.has(rt.sub)) {
        log(p, "warning", "Reload operation timed out");
        rt.reloadFailure = rt.sub === "reload-signal" ? "no RELOADING=1 after reload_signal (timeout)"
          : rt.sub === "reload-notify" ? "no READY=1 after RELOADING=1 (timeout)" : "timeout";
        abandonControl(rt, p);
        endReload(rt, p);
      }
      return;
    case "stop":
      if (rt.sub === "stop-post") {
        log(p, "warning", "exec_stop_post timed out. Killing it.");
        abandonControl(rt, p);
        rt.controlPid = null;
        if (rt.result === "success") rt.result = "timeout";
        return leaveStopPost(rt, p);
      }
      if (rt.sub === "stop") {
        log(p, "warning", "Stop command timed out. Terminating.");
        abandonControl(rt, p);
        rt.controlPid = null;
        return enterStopSigterm(rt, p);
      }
      if (rt.sub === "stop-sigterm" || rt.sub === "stop-watchdog") {
        log(p, "warning", `State '${rt.sub}' timed out. ${p.cfg.send_sigkill === false ? "Skipping SIGKILL." : "Killing."}`);
        if (!rt.operatorStop && rt.result === "success") {
          rt.result = "timeout";
          rt.failCause ??= "timeout";
        }
        return enterStopSigkill(rt, p);
      }
      return;
    case "kill":
      if (rt.sub === "stop-sigkill") {
        log(p, "err", "Processes still around after SIGKILL. Ignoring.");
        rt.mainPid = null;
        rt.controlPid = null;
        settle(rt, p);
      }
      return;
    case "watchdog":
      watchdogExpired(rt, p, lateMs);
      return;
    case "restart":
      if (rt.sub === "auto-restart") autoRestart(rt, p);
      return;
  }
}

/**
 * A unit with conditions has them checked again before an automatic restart (systemd's
 * auto-restart is a restart job, and a start checks them): true when `id` is the restart
 * timer that is due, which the check then replaces (the service waits in auto-restart).
 */
export function takeRestartTimer(rt: ServiceRuntime, id: number): boolean {
  if (rt.timerIds.restart !== id || rt.sub !== "auto-restart") return false;
  delete rt.timerIds.restart;
  delete rt.deadlines.restart;
  return true;
}

/** The restart delay is over (and the conditions, if any, hold): start again, counted. */
export function autoRestart(rt: ServiceRuntime, p: ServicePort) {
  if (rt.sub !== "auto-restart") return; // stopped or started meanwhile
  rt.restartsInRow++;
  rt.restartsTotal++;
  startService(rt, p, true);
}

/** A condition or assert no longer holds at an automatic restart: the unit stays down, inactive (systemd: dead). */
export function skipAutoRestart(rt: ServiceRuntime, p: ServicePort) {
  if (rt.sub === "auto-restart") enter(rt, p, "dead");
}

function watchdogExpired(rt: ServiceRuntime, p: ServicePort, lateMs = 0) {
  if (rt.sub !== "running" && !RELOADING.has(rt.sub)) return;
  log(p, "err", `Watchdog timeout (limit ${rt.watchdogMs / 1000}s)! Killing with SIGABRT.`);
  clearTimer(rt, p, "watchdog");
  rt.result = "watchdog";
  rt.failCause = "watchdog";
  recordExit(rt, p, { time: p.now, cause: "watchdog", status: null, description: "watchdog timeout", lateMs });
  if (rt.mainPid === null) return settle(rt, p);
  enter(rt, p, "stop-watchdog");
  p.emit({ type: "kill", unit: p.unit, pid: rt.mainPid, signal: SIGABRT, scope: "process" });
  setTimer(rt, p, "stop", p.cfg.timeout_abort_sec);
}

// ---- stop ----------------------------------------------------------------------------

/** `restarting`: the stop half of a restart job (restart_kill_signal, where set, ends the processes). */
export function stopService(rt: ServiceRuntime, p: ServicePort, restarting = false) {
  rt.operatorStop = true;
  rt.restartStop = restarting;
  beginStop(rt, p);
}

/** The stop itself, whoever asked for it (operatorStop says whether a restart may follow). */
function beginStop(rt: ServiceRuntime, p: ServicePort) {
  switch (rt.sub) {
    case "dead": case "failed":
      return;
    case "auto-restart":
      clearTimer(rt, p, "restart");
      return enter(rt, p, rt.result === "success" ? "dead" : "failed");
    case "running": case "reload": case "reload-signal": case "reload-notify": case "exited":
      clearAllTimers(rt, p);
      if (p.cfg.exec_stop.length > 0 && (rt.mainPid !== null || rt.cgroupTracked || rt.sub === "exited")) {
        if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
        enter(rt, p, "stop");
        setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
        return runControl(rt, p, "stop", 0);
      }
      return enterStopSigterm(rt, p);
    case "condition": case "start-pre": case "start": case "start-post":
      clearAllTimers(rt, p);
      rt.idleWait = false;
      return enterStopSigterm(rt, p);
    default:
      return; // already stopping
  }
}

function enterStopSigterm(rt: ServiceRuntime, p: ServicePort) {
  clearAllTimers(rt, p);
  rt.control = null;
  const mode = p.cfg.kill_mode;
  if (mode === "none") {
    // systemd's KillMode=none (deprecated there): only exec_stop stops it; what runs is left.
    if (rt.mainPid !== null || rt.controlPid !== null) log(p, "info", "kill_mode = none: the processes are left running.");
    rt.mainPid = null;
    rt.controlPid = null;
    return settle(rt, p);
  }
  const pids = [rt.mainPid, rt.controlPid].filter((x): x is number => x !== null);
  const group = cgroupLeader(rt, p);
  if (pids.length === 0 && group !== null && mode === "mixed") return enterStopSigkill(rt, p);
  if (pids.length === 0 && (group === null || mode !== "control-group")) return settle(rt, p);
  enter(rt, p, "stop-sigterm");
  const targets = pids.map((pid) => ({ pid, scope: pid === rt.mainPid && mode === "control-group" ? "unit" : "process" } as const));
  // No main pid known: the unit's processes are signalled through its cgroup.
  if (group !== null && mode === "control-group") targets.push({ pid: group, scope: "unit" });
  const signal = rt.restartStop ? p.cfg.restart_kill_signal ?? p.cfg.kill_signal : p.cfg.kill_signal;
  for (const { pid, scope } of targets) {
    p.emit({ type: "kill", unit: p.unit, pid, signal, scope });
    p.emit({ type: "kill", unit: p.unit, pid, signal: SIGCONT, scope });
    if (p.cfg.send_sighup) p.emit({ type: "kill", unit: p.unit, pid, signal: SIGHUP, scope });
  }
  setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
}

function enterStopSigkill(rt: ServiceRuntime, p: ServicePort) {
  if (p.cfg.send_sigkill === false) {
    // systemd's SendSIGKILL=no: the processes are left running, the unit goes down.
    log(p, "info", "No SIGKILL (send_sigkill = false): what is left of the unit keeps running.");
    rt.mainPid = null;
    rt.controlPid = null;
    return settle(rt, p);
  }
  enter(rt, p, "stop-sigkill");
  const pids = [rt.mainPid, rt.controlPid].filter((x): x is number => x !== null);
  const group = cgroupLeader(rt, p);
  if (group !== null && p.cfg.kill_mode !== "process") pids.push(group);
  for (const pid of pids) {
    const scope = p.cfg.kill_mode === "process" ? "process" : "unit";
    p.emit({ type: "kill", unit: p.unit, pid, signal: SIGKILL, scope });
  }
  setTimer(rt, p, "kill", SIGKILL_GRACE_SEC);
}

/**
 * A unit followed by its cgroup alone (no main pid): the pid a unit-scope kill names,
 * the last main pid, whose process group is the unit's where cgroups are missing.
 */
function cgroupLeader(rt: ServiceRuntime, p: ServicePort): number | null {
  if (!rt.cgroupTracked || rt.mainPid !== null) return null;
  const pid = rt.lastMainPid;
  return pid !== null && mainPidRefusal(rt, p, pid) === null ? pid : null;
}

/** All processes are gone: decide where the unit ends up. */
function settle(rt: ServiceRuntime, p: ServicePort) {
  clearAllTimers(rt, p);
  rt.control = null;
  rt.cgroupTracked = false;
  if (rt.failCause !== null && !rt.operatorStop) {
    const cause = rt.failCause;
    rt.failCause = null;
    return decideAfterExit(rt, p, cause, rt.lastExit);
  }
  rt.failCause = null;
  if (enterStopPost(rt, p, null, null)) return;
  enter(rt, p, rt.result === "success" ? "dead" : "failed");
}

/**
 * exec_stop_post, once per run, when the run's processes are gone: the unit waits in
 * stop-post, then does what it was about to (`cause` set: the restart table; else dead or
 * failed). False when there is nothing to run.
 */
function enterStopPost(rt: ServiceRuntime, p: ServicePort, cause: ExitCause | null, status: ExitStatus | null): boolean {
  if ((p.cfg.exec_stop_post ?? []).length === 0 || rt.stopPostRan) return false;
  rt.stopPostRan = true;
  rt.afterStopPost = { cause, status };
  clearAllTimers(rt, p);
  enter(rt, p, "stop-post");
  setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
  runControl(rt, p, "stop-post", 0);
  return true;
}

function leaveStopPost(rt: ServiceRuntime, p: ServicePort) {
  const after = rt.afterStopPost;
  rt.afterStopPost = null;
  rt.control = null;
  clearTimer(rt, p, "stop");
  if (after?.cause) return decideAfterExit(rt, p, after.cause, after.status);
  enter(rt, p, rt.result === "success" ? "dead" : "failed");
}

function failAndMaybeRestart(rt: ServiceRuntime, p: ServicePort, cause: ExitCause, status: ExitStatus | null) {
  clearAllTimers(rt, p);
  if (rt.mainPid !== null || rt.controlPid !== null) {
    rt.failCause = cause;
    return enterStopSigterm(rt, p);
  }
  decideAfterExit(rt, p, cause, status);
}

/** The restart table, then the start limit (automatic restarts only). */
function decideAfterExit(rt: ServiceRuntime, p: ServicePort, cause: ExitCause, status: ExitStatus | null) {
  if (enterStopPost(rt, p, cause, status)) return;
  const oneshotNoRestart = p.cfg.type === "oneshot" && (p.cfg.restart === "always" || p.cfg.restart === "on-success");
  if (rt.operatorStop || oneshotNoRestart || !shallRestart(p.cfg, cause, status)) {
    return enter(rt, p, rt.result === "success" ? "dead" : "failed");
  }
  const limit = startLimitCheck(rt.restartTimes, p.now, p.cfg.start_limit_interval_sec, p.cfg.start_limit_burst);
  rt.restartTimes = limit.times;
  if (limit.hit) {
    rt.result = "start-limit-hit";
    log(p, "err", `Start request repeated too quickly (${p.cfg.start_limit_burst} in ${p.cfg.start_limit_interval_sec}s): start-limit-hit`);
    enter(rt, p, "failed");
    if (p.cfg.start_limit_action !== "none") {
      p.emit({ type: "emergency-action", unit: p.unit, action: p.cfg.start_limit_action, reason: "start-limit-hit" });
    }
    return;
  }
  const delay = restartDelaySec(p.cfg, rt.restartsInRow);
  log(p, "info", `Scheduled restart in ${Math.round(delay * 1000)}ms (cause: ${cause})`);
  enter(rt, p, "auto-restart");
  setTimer(rt, p, "restart", delay);
}

/** Back to the state the reload started from: running, or exited if no process is left. */
function endReload(rt: ServiceRuntime, p: ServicePort) {
  clearTimer(rt, p, "reload");
  enter(rt, p, rt.mainPid === null && !rt.cgroupTracked ? "exited" : "running");
}

export function reloadService(rt: ServiceRuntime, p: ServicePort): "started" | "unsupported" | "inactive" {
  if (rt.sub !== "running" && rt.sub !== "exited") return "inactive";
  rt.reloadFailure = null;
  if (p.cfg.type === "notify-reload") {
    if (rt.mainPid === null) return "inactive";
    // systemd 253's Type=notify-reload: signal, then RELOADING=1 (MONOTONIC_USEC), then READY=1.
    rt.reloadBeginUsec = (p.now + p.monotonicOffsetMs) * 1000;
    enter(rt, p, "reload-signal");
    setTimer(rt, p, "reload", p.cfg.timeout_start_sec);
    p.emit({ type: "kill", unit: p.unit, pid: rt.mainPid, signal: p.cfg.reload_signal ?? SIGHUP, scope: "process" });
    return "started";
  }
  if (p.cfg.exec_reload.length === 0) return "unsupported";
  enter(rt, p, "reload");
  setTimer(rt, p, "reload", p.cfg.timeout_start_sec);
  runControl(rt, p, "reload", 0);
  return "started";
}

/** Something the service needs could not be set up (its socket): it fails without running. */
export function failWithoutRunning(rt: ServiceRuntime, p: ServicePort, reason: string) {
  log(p, "err", reason);
  if (rt.sub !== "dead" && rt.sub !== "failed") return; // running already: it keeps its fds
  rt.result = "resources";
  enter(rt, p, "failed");
}

export function resetFailed(rt: ServiceRuntime, p: ServicePort) {
  rt.restartTimes = [];
  rt.restartsInRow = 0;
  if (rt.sub === "failed") {
    rt.result = "success";
    enter(rt, p, "dead");
  }
}
