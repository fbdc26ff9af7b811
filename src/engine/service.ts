// The service state machine (systemd's src/core/service.c, reduced to what hearth's
// configuration can express). Pure: every transition takes the runtime record and an
// output port, and returns nothing; effects go out through the port.
import type { ExecCommand, ServiceSection } from "../config/types.ts";
import type { NotifyMessage } from "../notify/parse.ts";
import { exitCause, restartDelaySec, shallRestart, startLimitCheck, type ExitCause } from "./restart.ts";
import type {
  ActiveState, Effect, ExitStatus, ProcessRole, ServiceSubState, TimerKind, UnitResult,
} from "./types.ts";

const SIGKILL = 9, SIGHUP = 1, SIGCONT = 18, SIGABRT = 6;
// How long SIGKILLed processes get to disappear before the unit gives up on them.
const SIGKILL_GRACE_SEC = 5;

type ControlList = "pre" | "post" | "stop" | "reload";

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
  lastExit: ExitStatus | null;
  exits: ExitRecord[]; // the crash record, newest last
  statusText: string;
  errno: number | null;
  operatorStop: boolean; // stop asked for by the operator: never restart
  restartsInRow: number; // automatic restarts since the last manual start (back-off step)
  restartsTotal: number; // every automatic restart since the manager started (NRestarts)
  restartTimes: number[]; // automatic restarts inside start_limit_interval_sec
  watchdogMs: number; // current service watchdog timeout, 0 = off
  timerIds: Partial<Record<TimerKind, number>>;
  deadlines: Partial<Record<TimerKind, number>>;
  since: number; // when the active state last changed
}

export function newServiceRuntime(cfg: ServiceSection, now: number): ServiceRuntime {
  return {
    sub: "dead", mainPid: null, controlPid: null, control: null, result: "success",
    failCause: null, lastExit: null, exits: [], statusText: "", errno: null,
    operatorStop: false, restartsInRow: 0, restartsTotal: 0, restartTimes: [], watchdogMs: cfg.watchdog_sec * 1000,
    timerIds: {}, deadlines: {}, since: now,
  };
}

export function activeStateOf(sub: ServiceSubState): ActiveState {
  switch (sub) {
    case "dead": return "inactive";
    case "failed": return "failed";
    case "start-pre": case "start": case "start-post": case "auto-restart": return "activating";
    case "running": case "exited": return "active";
    case "reload": return "reloading";
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
  const before = activeStateOf(rt.sub);
  rt.sub = sub;
  if (activeStateOf(sub) !== before) rt.since = p.now;
  p.emit({ type: "state-changed", unit: p.unit, active: activeStateOf(sub), sub });
}

function log(p: ServicePort, level: "debug" | "info" | "notice" | "warning" | "err", text: string) {
  p.emit({ type: "log", unit: p.unit, level, text });
}

function commands(cfg: ServiceSection, list: ControlList): ExecCommand[] {
  switch (list) {
    case "pre": return cfg.exec_start_pre;
    case "post": return cfg.exec_start_post;
    case "stop": return cfg.exec_stop;
    case "reload": return cfg.exec_reload;
  }
}

function runControl(rt: ServiceRuntime, p: ServicePort, list: ControlList, index: number) {
  rt.control = { list, index };
  rt.controlPid = null;
  p.emit({ type: "spawn", unit: p.unit, role: "control", command: commands(p.cfg, list)[index]!, main: false });
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
  rt.statusText = "";
  rt.errno = null;
  rt.mainPid = null;
  rt.watchdogMs = p.cfg.watchdog_sec * 1000;
  setTimer(rt, p, "start", p.cfg.timeout_start_sec);
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
  p.emit({ type: "spawn", unit: p.unit, role: "main", command: p.cfg.exec_start, main: true });
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
  if (p.cfg.type === "oneshot" && rt.mainPid === null) {
    // A oneshot is done when its main process exited successfully.
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
  if (rt.sub !== "start") return;
  // simple and exec: the spawner returns only once execve succeeded, so both are up now.
  if ((p.cfg.type === "simple" || p.cfg.type === "exec") && !usesReadinessFd(p.cfg)) enterStartPost(rt, p);
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
  rt.result = "exec";
  failAndMaybeRestart(rt, p, "unclean-code", { kind: "exited", code: 203 });
}

/** Returns true if the pid belonged to this service. */
export function onExited(rt: ServiceRuntime, p: ServicePort, pid: number, status: ExitStatus,
  signalName: (n: number) => string): boolean {
  if (pid === rt.controlPid) {
    rt.controlPid = null;
    const control = rt.control;
    if (!control) return true;
    const cmd = commands(p.cfg, control.list)[control.index]!;
    const ok = status.kind === "exited" && status.code === 0;
    if (!ok) log(p, cmd.ignoreFailure ? "info" : "warning", `Control process ${cmd.argv[0]} ${describeExit(status, signalName)}`);
    controlFinished(rt, p, ok || cmd.ignoreFailure, status);
    return true;
  }
  if (pid !== rt.mainPid) return false;
  rt.mainPid = null;
  rt.lastExit = status;
  onMainExited(rt, p, status, signalName);
  return true;
}

function controlFinished(rt: ServiceRuntime, p: ServicePort, ok: boolean, status: ExitStatus) {
  const control = rt.control!;
  const list = commands(p.cfg, control.list);
  const next = control.index + 1;
  switch (control.list) {
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
      if (!ok) log(p, "warning", "Reload failed");
      if (ok && next < list.length) return runControl(rt, p, "reload", next);
      rt.control = null;
      clearTimer(rt, p, "reload");
      if (rt.sub === "reload") enter(rt, p, rt.mainPid !== null || p.cfg.type !== "oneshot" ? "running" : "exited");
      return;
    case "stop":
      if (next < list.length && rt.sub === "stop") return runControl(rt, p, "stop", next);
      rt.control = null;
      return enterStopSigterm(rt, p);
  }
}

function onMainExited(rt: ServiceRuntime, p: ServicePort, status: ExitStatus, signalName: (n: number) => string) {
  const cause = exitCause(status, p.cfg.success_exit_status);
  const description = describeExit(status, signalName);
  if (cause !== "clean") recordExit(rt, p, { time: p.now, cause, status, description });

  switch (rt.sub) {
    case "start":
      if (cause === "clean" && p.cfg.type === "oneshot") return enterStartPost(rt, p);
      if (cause === "clean" && p.cfg.type === "forking") {
        if (p.cfg.pid_file) return p.emit({ type: "read-pid-file", unit: p.unit, path: p.cfg.pid_file });
        return enterStartPost(rt, p);
      }
      log(p, "err", `Main process ${description} before it was ready`);
      rt.result = cause === "clean" ? "protocol" : resultOf(status);
      return failAndMaybeRestart(rt, p, cause === "clean" ? "unclean-code" : cause, status);
    case "start-post": case "running": case "reload":
      if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
      log(p, cause === "clean" ? "info" : "warning", `Main process ${description}`);
      if (cause !== "clean") rt.result = resultOf(status);
      clearAllTimers(rt, p);
      return decideAfterExit(rt, p, cause, status);
    case "stop": case "stop-sigterm": case "stop-sigkill": case "stop-watchdog":
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
  if (rt.sub !== "start") return;
  if (pid === null) {
    log(p, "warning", `PID file ${p.cfg.pid_file} not readable (${error ?? "no pid"}); the daemon is not tracked`);
  }
  rt.mainPid = pid;
  enterStartPost(rt, p);
}

export type NotifyVerdict = { accepted: true } | { accepted: false; reason: string };

/** Whether notify_access lets this process talk for the service (also for its fd store). */
export function notifyAllowed(rt: ServiceRuntime, cfg: ServiceSection, pid: number): boolean {
  const access = cfg.notify_access;
  return access === "all" || (access === "main" && pid === rt.mainPid) ||
    (access === "exec" && (pid === rt.mainPid || pid === rt.controlPid));
}

export function onNotify(rt: ServiceRuntime, p: ServicePort, pid: number, uid: number,
  msg: NotifyMessage, mainPidInUnit: boolean): NotifyVerdict {
  const access = p.cfg.notify_access;
  if (!notifyAllowed(rt, p.cfg, pid)) {
    const who = access === "none" ? "disabled (notify_access = none)" :
      access === "main" ? `only permitted for main PID ${rt.mainPid ?? "(none)"}` :
      `only permitted for main PID ${rt.mainPid ?? "(none)"} and control PID ${rt.controlPid ?? "(none)"}`;
    return { accepted: false, reason: `notification from PID ${pid} rejected: reception ${who}` };
  }
  if (msg.mainPid !== undefined && msg.mainPid !== rt.mainPid) {
    if (uid === 0 || mainPidInUnit) rt.mainPid = msg.mainPid;
    else log(p, "warning", `MAINPID=${msg.mainPid} from PID ${pid} ignored: not a process of this unit`);
  }
  if (msg.status !== undefined) rt.statusText = msg.status;
  if (msg.errno !== undefined) rt.errno = msg.errno;
  if (msg.extendTimeoutUsec !== undefined) {
    const ms = msg.extendTimeoutUsec / 1000;
    for (const kind of ["start", "stop", "watchdog"] as const) extendTimer(rt, p, kind, ms);
  }
  if (msg.watchdogUsec !== undefined && msg.watchdogUsec > 0) {
    rt.watchdogMs = msg.watchdogUsec / 1000;
    armWatchdog(rt, p);
  }

  if (msg.stopping) {
    if (rt.sub === "running" || rt.sub === "reload") {
      // The daemon announced it is going away on its own: wait for it, send nothing.
      clearTimer(rt, p, "watchdog");
      enter(rt, p, "stop-sigterm");
      setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
    }
  } else if (msg.ready) {
    if (rt.sub === "start" && p.cfg.type === "notify") enterStartPost(rt, p);
    else if (rt.sub === "reload" && rt.control === null) {
      clearTimer(rt, p, "reload");
      enter(rt, p, "running");
    }
  } else if (msg.reloading && rt.sub === "running") {
    enter(rt, p, "reload");
    setTimer(rt, p, "reload", p.cfg.timeout_start_sec);
  }

  if (msg.watchdog === "ping") armWatchdog(rt, p);
  else if (msg.watchdog === "trigger") watchdogExpired(rt, p);
  return { accepted: true };
}

// ---- timers firing ------------------------------------------------------------------------

export function onTimer(rt: ServiceRuntime, p: ServicePort, kind: TimerKind, id: number) {
  if (rt.timerIds[kind] !== id) return; // stale
  const lateMs = Math.max(0, p.now - (rt.deadlines[kind] ?? p.now));
  delete rt.timerIds[kind];
  delete rt.deadlines[kind];
  switch (kind) {
    case "start":
      if (rt.sub === "start-pre" || rt.sub === "start" || rt.sub === "start-post") {
        log(p, "err", `Start operation timed out after ${p.cfg.timeout_start_sec}s. Terminating.`);
        rt.result = "timeout";
        rt.failCause = "timeout";
        recordExit(rt, p, { time: p.now, cause: "timeout", status: null, description: "start timeout", lateMs });
        enterStopSigterm(rt, p);
      }
      return;
    case "reload":
      if (rt.sub === "reload") {
        log(p, "warning", "Reload operation timed out");
        if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
        rt.control = null;
        enter(rt, p, "running");
      }
      return;
    case "stop":
      if (rt.sub === "stop") {
        log(p, "warning", "Stop command timed out. Terminating.");
        rt.control = null;
        if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
        rt.controlPid = null;
        return enterStopSigterm(rt, p);
      }
      if (rt.sub === "stop-sigterm" || rt.sub === "stop-watchdog") {
        log(p, "warning", `State '${rt.sub}' timed out. Killing.`);
        if (!rt.operatorStop && rt.result === "success") rt.result = "timeout";
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
      if (rt.sub === "running") watchdogExpired(rt, p, lateMs);
      return;
    case "restart":
      if (rt.sub === "auto-restart") {
        rt.restartsInRow++;
        rt.restartsTotal++;
        startService(rt, p, true);
      }
      return;
  }
}

function watchdogExpired(rt: ServiceRuntime, p: ServicePort, lateMs = 0) {
  if (rt.sub !== "running" && rt.sub !== "reload") return;
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

export function stopService(rt: ServiceRuntime, p: ServicePort) {
  rt.operatorStop = true;
  switch (rt.sub) {
    case "dead": case "failed":
      return;
    case "auto-restart":
      clearTimer(rt, p, "restart");
      return enter(rt, p, rt.result === "success" ? "dead" : "failed");
    case "running": case "reload": case "exited":
      clearAllTimers(rt, p);
      if (p.cfg.exec_stop.length > 0 && (rt.mainPid !== null || rt.sub === "exited")) {
        if (rt.controlPid !== null) p.emit({ type: "kill", unit: p.unit, pid: rt.controlPid, signal: SIGKILL, scope: "process" });
        enter(rt, p, "stop");
        setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
        return runControl(rt, p, "stop", 0);
      }
      return enterStopSigterm(rt, p);
    case "start-pre": case "start": case "start-post":
      clearAllTimers(rt, p);
      return enterStopSigterm(rt, p);
    default:
      return; // already stopping
  }
}

function enterStopSigterm(rt: ServiceRuntime, p: ServicePort) {
  clearAllTimers(rt, p);
  rt.control = null;
  const pids = [rt.mainPid, rt.controlPid].filter((x): x is number => x !== null);
  if (pids.length === 0) return settle(rt, p);
  enter(rt, p, "stop-sigterm");
  const mode = p.cfg.kill_mode;
  for (const pid of pids) {
    const scope = pid === rt.mainPid && mode === "control-group" ? "unit" : "process";
    p.emit({ type: "kill", unit: p.unit, pid, signal: p.cfg.kill_signal, scope });
    p.emit({ type: "kill", unit: p.unit, pid, signal: SIGCONT, scope });
    if (p.cfg.send_sighup) p.emit({ type: "kill", unit: p.unit, pid, signal: SIGHUP, scope });
  }
  setTimer(rt, p, "stop", p.cfg.timeout_stop_sec);
}

function enterStopSigkill(rt: ServiceRuntime, p: ServicePort) {
  enter(rt, p, "stop-sigkill");
  const pids = [rt.mainPid, rt.controlPid].filter((x): x is number => x !== null);
  for (const pid of pids) {
    const scope = p.cfg.kill_mode === "process" ? "process" : "unit";
    p.emit({ type: "kill", unit: p.unit, pid, signal: SIGKILL, scope });
  }
  setTimer(rt, p, "kill", SIGKILL_GRACE_SEC);
}

/** All processes are gone: decide where the unit ends up. */
function settle(rt: ServiceRuntime, p: ServicePort) {
  clearAllTimers(rt, p);
  rt.control = null;
  if (rt.failCause !== null && !rt.operatorStop) {
    const cause = rt.failCause;
    rt.failCause = null;
    return decideAfterExit(rt, p, cause, rt.lastExit);
  }
  rt.failCause = null;
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

export function reloadService(rt: ServiceRuntime, p: ServicePort): "started" | "unsupported" | "inactive" {
  if (rt.sub !== "running" && rt.sub !== "exited") return "inactive";
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
