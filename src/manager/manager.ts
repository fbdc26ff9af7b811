// The manager's effectful shell: it feeds events to the engine and performs the effects
// the engine returns — spawning, signalling, timers, log pipes — and nothing else
// decides anything here. Events are queued and drained in order, never recursively,
// so every effect of one event is performed before the next event is looked at.
import { mkdirSync, readFileSync } from "node:fs";
import { readConfigText } from "../config/read-file.ts";
import { join } from "node:path";
import type { EmergencyAction, LoadedConfig, MountEntry, ServiceSection, UnitConfig } from "../config/types.ts";
import { Engine } from "../engine/engine.ts";
import type { Effect, EngineEvent, JobResult, JobType, TimerKind } from "../engine/types.ts";
import { spawn, type SpawnRequest } from "../exec/spawner.ts";
import { becomeSubreaper, killProcess, reapChildren, signalName } from "../exec/reaper.ts";
import { findUser, readUserDatabase, resolveCredentials } from "../exec/users.ts";
import { LineSplitter, parsePriorityPrefix } from "../log/lines.ts";
import { LogRing, type LogEntry, type LogRecord } from "../log/ring.ts";
import type { Logger } from "../log/manager-log.ts";
import { RotatingFile } from "../log/file.ts";
import { NotifyServer, type NotifyArrival } from "../notify/server.ts";
import { notifyAllowed } from "../engine/service.ts";
import { SocketActivator, type Passed } from "../sockets/activator.ts";
import { FdStore } from "../sockets/fd-store.ts";
import { announceSystemdProtocols } from "../sockets/booted.ts";
import { getReactor } from "../../ffi/reactor.ts";
import { close as closeFd, devNull, openFile, pipe as makePipe, readNonBlocking as readSome } from "../../ffi/fd.ts";
import { O } from "../../ffi/constants.ts";
import { cgroupLimits, expandCommand, sandboxRequest, serviceEnvironment, workingDirectory } from "./exec-context.ts";
import { discoverCgroups, type CgroupTree } from "../exec/cgroup.ts";
import { processIds } from "./procfs.ts";
import { mainPidGuess } from "./main-pid.ts";
import { emergencyPowerRequest, type PowerAction, type PowerMode } from "../boot/power.ts";

export interface ManagerOptions {
  config: LoadedConfig;
  runDir: string;
  target: string;
  logger: Logger;
  /** Boot progress lines ("[  OK  ] Started x."); the console in system mode. */
  console: (line: string) => void;
  /** Called when the manager decides to end (emergency action in run mode, or shutdown). */
  exit: (code: number, reason: string) => void;
  systemMode: boolean;
  /** Performs the mount units' effects (system mode: src/boot/mounter.ts). */
  mounter?: Mounter;
  /** The way down in system mode (src/boot/shutdown.ts); run mode exits instead. */
  power?: (action: PowerAction, reason: string, mode: PowerMode) => void;
  /** The line printed when the target is reached; system mode splits kernel and userspace time. */
  startupFinished?: (unitsReady: number) => string;
}

export type { PowerAction } from "../boot/power.ts";

export interface Mounter {
  /** Resolves when done; rejects with the reason it failed. */
  mount(entry: MountEntry): Promise<void>;
  unmount(entry: MountEntry): Promise<void>;
}

/** What an emergency action does to `hearth run`: end with a distinct status. */
export const RUN_MODE_EXIT_STATUS: Record<string, number> = {
  "exit": 0, "reboot": 80, "reboot-force": 81, "reboot-immediate": 82,
  "poweroff": 83, "poweroff-force": 84, "poweroff-immediate": 85,
};

// Log lines kept with each unclean exit in the crash record.
const CRASH_LOG_LINES = 50;

interface UnitOutput {
  read: number;
  write: number; // kept open by the manager so a restart never loses the pipe
  splitter: LineSplitter;
  ring: LogRing;
  file: RotatingFile | null;
}

type JobWaiter = (r: { unit: string; job: JobType; result: JobResult; reason: string }) => void;

export class Manager {
  readonly engine: Engine;
  readonly managerRing = new LogRing(5000);
  readonly startedAt = Date.now();
  readonly startedAtMono = performance.now();
  finishedAtMono: number | null = null; // when the target was first reached
  /** Time the kernel took before PID 1 started (system mode only), for analysis. */
  kernelMs: number | null = null;
  private readonly outputs = new Map<string, UnitOutput>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly waiters = new Map<number, JobWaiter>();
  private readonly readinessFds = new Map<string, number>();
  private readonly queue: EngineEvent[] = [];
  private draining = false;
  private nextRequestId = 1;
  private notify: NotifyServer | null = null;
  private devNullFd = -1;
  private ttyFd = -1;
  private startupReported = false;
  private readonly unitLoggers = new Map<string, Logger>();
  private stopping = false;
  private abandoned = false;
  private cgroups: CgroupTree | null = null;
  private readonly cgroupWatch = new Set<string>(); // units to report once when their cgroup empties
  // The last main pid of each unit: its process group, for the final kill without cgroups.
  private readonly lastMainPid = new Map<string, number>();
  /** Every listening socket of the configuration, held from start() to close(). */
  readonly sockets: SocketActivator;
  readonly fdStore: FdStore;

  constructor(private readonly opts: ManagerOptions) {
    this.engine = new Engine(opts.config.units, performance.now(), signalName, process.pid);
    this.sockets = new SocketActivator(opts.config.units.values(), {
      reactor: getReactor(),
      dispatch: (event) => this.dispatch(event),
      log: (unit, level, text) => this.unitLogger(unit)[level](text),
    });
    this.fdStore = new FdStore(getReactor(), (unit, level, text) => this.unitLogger(unit)[level](text));
  }

  get config(): LoadedConfig {
    return this.opts.config;
  }

  get target(): string {
    return this.opts.target;
  }

  get log(): Logger {
    return this.opts.logger;
  }

  /** Set up the sockets and the reaper, then start the target. */
  start() {
    mkdirSync(this.opts.runDir, { recursive: true, mode: 0o755 });
    becomeSubreaper();
    this.trackProcesses();
    this.devNullFd = devNull();
    process.on("SIGCHLD", () => this.reap());
    this.notify = new NotifyServer(join(this.opts.runDir, "notify.sock"), this.opts.logger, (m) => this.onNotify(m));
    for (const unit of this.engine.units.values()) if (unit.service) this.outputFor(unit.cfg);
    if (this.opts.systemMode) {
      try {
        announceSystemdProtocols(); // /run/systemd/system, for sd_booted()
      } catch (e) {
        this.log.warning(`cannot create /run/systemd/system (daemons may ignore passed sockets): ${(e as Error).message}`);
      }
    }
    // Every socket exists before the first job runs: services need no ordering on their
    // clients, who just connect (the built-in sockets target is reached after this).
    this.dispatch(this.sockets.open());
    this.log.info(`Starting ${this.opts.target} (${this.engine.units.size} units loaded)`);
    this.request("start", this.opts.target);
    this.reap(); // children that exited before the handler was installed
  }

  /**
   * One cgroup per service where cgroup v2 is writable (always on the board); else each
   * service's processes are found through the process group its main process leads.
   */
  private trackProcesses() {
    const tree = discoverCgroups(this.opts.systemMode ? "system" : "run");
    if ("unavailable" in tree) {
      this.log.notice(`cgroup v2 not usable (${tree.unavailable}): tracking services by process group instead`);
      return;
    }
    this.cgroups = tree;
    this.log.info(`Tracking services in cgroups under ${tree.dir}`);
  }

  /** Ask the engine for a job; the promise settles when the job finishes. */
  request(job: JobType, unit: string): Promise<{ unit: string; job: JobType; result: JobResult; reason: string }> {
    const requestId = this.nextRequestId++;
    // A start by hand tries again to make the unit's sockets that could not be made.
    const retried = job === "start" || job === "restart" ? this.sockets.retryFor(unit) : null;
    if (retried) this.dispatch(retried);
    const done = new Promise<{ unit: string; job: JobType; result: JobResult; reason: string }>((resolve) => {
      this.waiters.set(requestId, resolve);
    });
    this.dispatch({ type: "request", job, unit, requestId });
    return done;
  }

  resetFailed(unit: string | null) {
    this.dispatch({ type: "reset-failed", unit });
  }

  /** Stop every unit (reverse order, in parallel), then resolve. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    this.sockets.freeze(); // no client may start anything from now on
    const active = [...this.engine.units.keys()].filter((n) => {
      const s = this.engine.activeState(n);
      return s !== "inactive" && s !== "failed";
    });
    await Promise.all(active.map((n) => this.request("stop", n)));
  }

  /**
   * The way down without stopping the units (reboot-force): from now on no event is
   * acted on — no restart, no spawn — while the final stage kills what is left.
   */
  abandon() {
    this.stopping = true;
    this.abandoned = true;
    this.sockets.freeze(); // no client may start anything either
  }

  dispatch(event: EngineEvent) {
    if (this.abandoned) return;
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const ev = this.queue.shift()!;
        let effects: Effect[];
        try {
          effects = this.engine.handle(ev, performance.now());
        } catch (e) {
          // A bug in one unit's handling must not take the manager down.
          this.log.err(`internal error handling ${ev.type} event: ${(e as Error).stack ?? e}`);
          continue;
        }
        for (const effect of effects) {
          try {
            this.perform(effect);
          } catch (e) {
            this.log.err(`internal error performing ${effect.type} for ${"unit" in effect ? effect.unit : "?"}: ${(e as Error).stack ?? e}`);
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private perform(e: Effect) {
    switch (e.type) {
      case "spawn": return this.performSpawn(e);
      case "kill": return this.performKill(e);
      case "set-timer": return this.setTimer(e.unit, e.kind, e.ms, e.id);
      case "clear-timer": return this.clearTimer(e.unit, e.kind);
      case "read-pid-file": return this.readPidFile(e.unit, e.path);
      case "mount": return this.performMount(e.unit, e.op);
      case "log": return this.unitLogger(e.unit)[e.level](e.text);
      case "console": return this.console(e.status, e.text);
      case "state-changed": return this.onStateChanged(e.unit);
      case "job-finished": return this.onJobFinished(e);
      case "emergency-action": return this.emergencyAction(e.unit, e.action, e.reason);
      case "listen": return this.sockets.setWatching(e.unit, e.index, e.on);
      case "close-connection": return this.sockets.closeConnection(e.connection);
      case "instance-removed":
        this.sockets.closeConnection(e.connection);
        this.fdStore.release(e.unit);
        this.unitLoggers.delete(e.unit);
        return;
      case "exit-recorded":
        e.record.logTail = this.logs(e.unit, CRASH_LOG_LINES).map((l) => l.text);
        return;
      case "find-main-pid":
        this.queue.push({ type: "main-pid-guess", unit: e.unit, ...mainPidGuess(this.cgroups, e.unit, process.pid) });
        return;
      case "watch-cgroup":
        if (this.cgroups) this.cgroupWatch.add(e.unit);
        return this.reportEmptyCgroups();
    }
  }

  // ---- spawning --------------------------------------------------------------------------

  private performSpawn(e: Extract<Effect, { type: "spawn" }>) {
    const unit = this.engine.units.get(e.unit)!;
    const cfg = unit.cfg.service!;
    const built = this.spawnRequest(unit.cfg, cfg, e.command.argv, e.role === "main");
    if ("error" in built) {
      this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: built.error });
      return;
    }
    const result = spawn(built.request);
    if (built.readinessWrite !== undefined) closeFd(built.readinessWrite);
    if (!result.ok) {
      if (built.readinessRead !== undefined) this.dropReadinessFd(e.unit);
      const error = result.message.startsWith(result.stage) ? result.message : `${result.stage}: ${result.message}`;
      this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error });
      return;
    }
    if (e.role === "main") this.lastMainPid.set(e.unit, result.pid);
    this.log.debug(`${e.unit}: spawned ${e.role} process ${result.pid}: ${e.command.argv.join(" ")}`);
    this.queue.push({ type: "spawned", unit: e.unit, role: e.role, pid: result.pid });
  }

  private spawnRequest(unit: UnitConfig, cfg: ServiceSection, argv: string[], main: boolean):
    { request: SpawnRequest; readinessRead?: number; readinessWrite?: number } | { error: string } {
    // The user database is read only for units that ask for other ids.
    const wantsIds = cfg.user !== null || cfg.group !== null || cfg.supplementary_groups.length > 0;
    const db = wantsIds ? readUserDatabase() : null;
    const ids = db ? resolveCredentials(db, { user: cfg.user, group: cfg.group, supplementaryGroups: cfg.supplementary_groups }) : {};
    if ("error" in ids) return { error: ids.error };
    const { uid, gid, groups } = ids;
    const entry = db && cfg.user !== null ? findUser(db, cfg.user) : null;
    const user = entry ? { name: entry.name, home: entry.home, shell: entry.shell } : null;
    const rt = this.engine.units.get(unit.name)!.service!;
    const watchdogUsec = main && rt.watchdogMs > 0 ? rt.watchdogMs * 1000 : 0;
    const passed = main ? this.passedTo(unit.name, cfg) : null;
    const { env, errors } = serviceEnvironment({
      unit: unit.name, cfg, user,
      notifySocket: this.notify?.path ?? null,
      managerEnv: this.opts.systemMode ? { LANG: process.env.LANG ?? "C.UTF-8" } : inheritEnv(),
      readFile: readConfigText, // regular files only: a FIFO must not block the manager
      watchdogUsec,
      listenFdNames: passed?.names,
    });
    if (errors.length > 0) return { error: errors.join("; ") };
    // Control processes (exec_reload, exec_stop...) learn the main pid, as in systemd.
    if (!main && rt.mainPid !== null) env.MAINPID = String(rt.mainPid);
    Object.assign(env, passed?.env); // REMOTE_ADDR, REMOTE_PORT of a connection
    argv = expandCommand(argv, env);
    // An instance of an accept = true unit writes to its template's log.
    const template = this.engine.instanceOf(unit.name)?.template;
    const out = this.outputFor(template ? this.engine.units.get(template)!.cfg : unit);
    const fds: number[] = [...(passed?.fds ?? [])];
    const pidEnv: string[] = [];
    if (watchdogUsec > 0) pidEnv.push("WATCHDOG_PID");
    if (fds.length > 0) pidEnv.push("LISTEN_PID");
    let readinessRead: number | undefined, readinessWrite: number | undefined;
    if (main && cfg.notification_fd !== null) {
      if (cfg.notification_fd < 3 + fds.length) {
        return { error: `notification_fd ${cfg.notification_fd} is taken by the ${fds.length} passed fds at 3..${2 + fds.length}` };
      }
      const p = makePipe();
      readinessRead = p.read;
      readinessWrite = p.write;
      while (fds.length < cfg.notification_fd - 3) fds.push(this.devNullFd);
      fds.push(p.write);
      this.watchReadinessFd(unit.name, p.read);
    }
    const tty = cfg.standard_input === "tty" ? this.consoleFd() : null;
    let cgroupProcsFd: number | undefined;
    if (this.cgroups) {
      const joined = this.cgroups.ensureUnit(unit.name, cgroupLimits(cfg));
      if ("error" in joined) this.log.warning(`${unit.name}: no cgroup, tracked by process group: ${joined.error}`);
      else {
        for (const w of joined.warnings) this.log.warning(`${unit.name}: ${w}`);
        cgroupProcsFd = joined.procsFd;
      }
    }
    const request: SpawnRequest = {
      path: argv[0]!, argv, env, pidEnv, fds,
      stdin: passed?.stdio ?? tty ?? this.devNullFd, stdout: passed?.stdio ?? tty ?? out.write, stderr: tty ?? out.write,
      cwd: workingDirectory(cfg.working_directory, user),
      uid, gid, groups, umask: cfg.umask,
      rlimits: Object.entries(cfg.limits).map(([resource, l]) => ({ resource, soft: l.soft, hard: l.hard })),
      nice: cfg.nice ?? undefined, oomScoreAdj: cfg.oom_score_adj ?? undefined,
      noNewPrivileges: cfg.no_new_privileges, newSession: true,
      ...sandboxRequest(cfg),
      cgroupProcsFd,
    };
    return { request, readinessRead, readinessWrite };
  }

  /**
   * What the main process gets besides stdio: its sockets (the listening ones, or its
   * connection), then the fds it stored (FDSTORE=1), with their names.
   */
  private passedTo(unit: string, cfg: ServiceSection): Passed {
    const passed = this.sockets.passedTo(unit, this.engine.instanceOf(unit), cfg.standard_input === "socket");
    for (const stored of this.fdStore.entries(unit)) {
      passed.fds.push(stored.fd);
      passed.names.push(stored.name);
    }
    return passed;
  }

  /** One fd on /dev/console, opened at first use, for units with standard_input = "tty". */
  private consoleFd(): number {
    if (this.ttyFd < 0) this.ttyFd = openFile("/dev/console", O.RDWR | O.NOCTTY);
    return this.ttyFd;
  }

  /** s6-style readiness: the first newline on the pipe means ready. */
  private watchReadinessFd(unit: string, fd: number) {
    this.dropReadinessFd(unit);
    this.readinessFds.set(unit, fd);
    const buf = new Uint8Array(512);
    getReactor().watch(fd, { read: true }, () => {
      for (;;) {
        const n = readSome(fd, buf);
        if (n === "again") return;
        if (n === "eof") return this.dropReadinessFd(unit);
        if (buf.subarray(0, n).includes(10)) {
          this.dropReadinessFd(unit);
          this.dispatch({ type: "readiness-fd", unit });
          return;
        }
      }
    });
  }

  private dropReadinessFd(unit: string) {
    const fd = this.readinessFds.get(unit);
    if (fd === undefined) return;
    this.readinessFds.delete(unit);
    getReactor().unwatch(fd);
    closeFd(fd);
  }

  private performKill(e: Extract<Effect, { type: "kill" }>) {
    if (e.scope === "unit") return this.killUnit(e.unit, e.signal, e.pid);
    killProcess(e.pid, e.signal);
  }

  /**
   * Every process of a unit: its cgroup, however often they forked; without cgroups the
   * process group its main process leads (the spawner makes every process a session
   * leader), which misses only processes that started sessions of their own.
   */
  private killUnit(unit: string, signal: number, leader = this.lastMainPid.get(unit)) {
    if (this.cgroups && this.cgroups.pids(unit).length > 0) {
      this.cgroups.kill(unit, signal);
      return;
    }
    if (leader !== undefined && !killProcess(-leader, signal)) killProcess(leader, signal);
  }

  /** Reap every exited child; statuses of our units' processes go to the engine. */
  private reap() {
    // Messages a process sent before it exited come first (systemd orders them so too):
    // a READY=1 or FDSTORE=1 must not be lost because the exit was seen first.
    this.notify?.drain();
    for (const { pid, status } of reapChildren()) {
      const unit = this.engine.unitOfPid(pid);
      if (unit === null) {
        this.log.debug(`reaped orphan ${pid}`);
        continue;
      }
      this.drainOutput(unit);
      this.dispatch({ type: "exited", pid, status });
    }
    this.reportEmptyCgroups();
  }

  /** watch-cgroup: the last process of a watched cgroup is reaped here (we are its subreaper). */
  private reportEmptyCgroups() {
    for (const unit of this.cgroupWatch) {
      if (!this.cgroups?.isEmpty(unit)) continue;
      this.cgroupWatch.delete(unit);
      // Inside an effect the event waits its turn in the queue; from the reaper it goes now.
      if (this.draining) this.queue.push({ type: "cgroup-empty", unit });
      else this.dispatch({ type: "cgroup-empty", unit });
    }
  }

  private performMount(unit: string, op: "mount" | "unmount") {
    const entry = this.engine.units.get(unit)?.cfg.mount;
    const mounter = this.opts.mounter;
    const done = (error?: string) => this.dispatch({ type: "mount-done", unit, op, error });
    if (!entry || !mounter) return void queueMicrotask(() => done("mounts are handled by PID 1 only"));
    mounter[op](entry).then(() => done(), (e: unknown) => done(e instanceof Error ? e.message : String(e)));
  }

  // ---- timers ----------------------------------------------------------------------------

  private setTimer(unit: string, kind: TimerKind, ms: number, id: number) {
    this.clearTimer(unit, kind);
    const key = `${unit}\0${kind}`;
    // setTimeout caps at 2^31-1 ms; longer timeouts are effectively "never" here.
    const delay = Math.min(Math.max(0, ms), 2 ** 31 - 1);
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.dispatch({ type: "timer", unit, kind, id });
    }, delay));
  }

  private clearTimer(unit: string, kind: TimerKind) {
    const key = `${unit}\0${kind}`;
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(key);
  }

  private readPidFile(unit: string, path: string) {
    let pid: number | null = null;
    let error: string | undefined;
    try {
      const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
      if (Number.isInteger(n) && n > 0) pid = n;
      else error = "no pid in file";
    } catch (e) {
      error = (e as Error).message;
    }
    this.queue.push({ type: "pid-file", unit, pid, error });
  }

  // ---- notify --------------------------------------------------------------------------

  private onNotify(m: NotifyArrival) {
    const unit = this.unitOfProcess(m.pid);
    if (unit === null) {
      this.notify!.refused(m, "belongs to no unit: dropped");
      m.fds.forEach((fd) => closeFd(fd));
      return;
    }
    this.storeFds(unit, m);
    const claimed = m.msg.mainPid;
    const mainPidInUnit = claimed !== undefined && this.unitOfProcess(claimed) === unit;
    this.dispatch({ type: "notify", unit, pid: m.pid, uid: m.uid, msg: m.msg, mainPidInUnit });
  }

  /** FDSTORE=1 and FDSTOREREMOVE=1, from processes notify_access lets talk. */
  private storeFds(unit: string, m: NotifyArrival) {
    const rt = this.engine.units.get(unit)?.service;
    const cfg = this.engine.units.get(unit)?.cfg.service;
    if (!rt || !cfg || !notifyAllowed(rt, cfg, m.pid)) {
      m.fds.forEach((fd) => closeFd(fd)); // the engine logs the refusal of the message
      return;
    }
    if (m.msg.fdStoreRemove && m.msg.fdName !== undefined) this.fdStore.remove(unit, m.msg.fdName);
    if (m.fds.length > 0) {
      this.fdStore.add(unit, cfg.fd_store_max ?? 0, m.fds, m.msg.fdName ?? "stored", m.msg.fdPoll ?? true);
    }
  }

  /** The unit a process belongs to: its main/control pid, or their session. */
  unitOfProcess(pid: number): string | null {
    const direct = this.engine.unitOfPid(pid);
    if (direct !== null) return direct;
    if (this.cgroups) {
      const unit = this.cgroups.unitOfPid(pid);
      if (unit !== null) return unit;
    }
    const ids = processIds(pid);
    if (ids === null) return null;
    return this.engine.unitOfPid(ids.sid) ?? this.engine.unitOfPid(ids.pgid);
  }

  // ---- logs ----------------------------------------------------------------------------

  private outputFor(unit: UnitConfig): UnitOutput {
    let out = this.outputs.get(unit.name);
    if (out) return out;
    const cfg = unit.service!;
    const p = makePipe();
    out = {
      read: p.read, write: p.write, splitter: new LineSplitter(),
      ring: new LogRing(Math.max(1, cfg.log_buffer_lines)),
      file: cfg.log_file ? new RotatingFile({ path: cfg.log_file, maxBytes: cfg.log_file_max_bytes, onError: (e: unknown) => this.log.warning(`${unit.name}: log file: ${e}`) }) : null,
    };
    this.outputs.set(unit.name, out);
    // One read (16 KiB) per wake-up: a chatty service is slowed by its pipe filling up,
    // never by starving the loop (timers and the watchdog run between wake-ups).
    getReactor().watch(out.read, { read: true }, () => this.drainOutput(unit.name, 1));
    return out;
  }

  private readonly readBuffer = new Uint8Array(16384);

  /** Move what a unit wrote into its ring (before its exit is handled: nothing is lost). */
  private drainOutput(unit: string, maxReads = 64) {
    const out = this.outputs.get(unit);
    if (!out) return;
    for (let i = 0; i < maxReads; i++) {
      const n = readSome(out.read, this.readBuffer);
      if (n === "again" || n === "eof") return;
      for (const line of out.splitter.push(this.readBuffer.subarray(0, n))) this.recordLine(unit, out, line);
    }
  }

  private recordLine(unit: string, out: UnitOutput, line: string) {
    const { priority, text } = parsePriorityPrefix(line, 6);
    const rec: LogRecord = { time: Date.now(), unit, priority, stream: "stdout", text, pid: this.engine.units.get(unit)?.service?.mainPid ?? undefined };
    out.ring.push(rec);
    out.file?.write(`${new Date(rec.time).toISOString()} ${unit}: ${text}\n`);
    if (this.opts.logger.enabled("debug")) this.log.debug(`${unit}: ${text}`);
  }

  /** The last n log entries of a unit (or of everything, merged by time). */
  logs(unit: string | null, n: number): LogEntry[] {
    if (unit !== null) {
      // A unit's log is its own output and what the manager said about it, by time.
      const own = this.outputs.get(unit)?.ring.last(n) ?? [];
      const about = this.managerRing.last(n, { unit });
      return [...own, ...about].sort((a, b) => a.time - b.time).slice(-n);
    }
    const all = [this.managerRing, ...[...this.outputs.values()].map((o) => o.ring)].flatMap((r) => r.last(n));
    return all.sort((a, b) => a.time - b.time).slice(-n);
  }

  /** Follow new log entries; returns the unsubscribe function. */
  follow(unit: string | null, fn: (e: LogEntry) => void): () => void {
    const rings = unit === null ? [this.managerRing, ...[...this.outputs.values()].map((o) => o.ring)]
      : [this.managerRing, this.outputs.get(unit)?.ring].filter((r): r is LogRing => !!r);
    const offs = rings.map((r) => r.subscribe((e) => {
      if (unit === null || e.unit === unit) fn(e);
    }));
    return () => offs.forEach((off) => off());
  }

  private unitLogger(unit: string): Logger {
    let l = this.unitLoggers.get(unit);
    if (!l) this.unitLoggers.set(unit, (l = this.opts.logger.unit(unit)));
    return l;
  }

  // ---- state reporting --------------------------------------------------------------------

  private console(status: "ok" | "failed" | "info", text: string) {
    const tag = status === "ok" ? "[  OK  ]" : status === "failed" ? "[FAILED]" : "         ";
    this.opts.console(`${tag} ${text}`);
  }

  private onStateChanged(unit: string) {
    const state = this.engine.activeState(unit);
    const sub = this.engine.subState(unit);
    if (state === "inactive" || state === "failed" || sub === "auto-restart") this.killLeftovers(unit);
    if (state === "inactive" || state === "failed") {
      if (this.readinessFds.has(unit)) this.dropReadinessFd(unit);
      // The fd store outlives restarts (auto-restart, or a restart job), not a real stop.
      if (!this.engine.units.get(unit)?.job) this.fdStore.release(unit);
    }
  }

  /**
   * The main process is gone: what it left behind goes too (systemd's control-group and
   * mixed kill modes), so a restart starts clean and a stop leaves nothing running.
   */
  private killLeftovers(unit: string) {
    const cfg = this.engine.units.get(unit)?.cfg.service;
    if (!cfg || cfg.kill_mode === "process") return;
    if (cfg.type === "oneshot" && cfg.remain_after_exit) return;
    this.killUnit(unit, 9);
    this.lastMainPid.delete(unit); // never signal a process group whose pid may be reused
    if (this.cgroups?.isEmpty(unit)) this.cgroups.removeUnit(unit);
  }

  private onJobFinished(e: Extract<Effect, { type: "job-finished" }>) {
    if (e.requestId !== undefined) {
      const w = this.waiters.get(e.requestId);
      this.waiters.delete(e.requestId);
      w?.({ unit: e.unit, job: e.job, result: e.result, reason: e.reason });
    }
    if (e.unit === this.opts.target && e.job === "start" && !this.startupReported) {
      this.startupReported = true;
      this.finishedAtMono = performance.now();
      const ready = [...this.engine.units.keys()].filter((n) => this.engine.activeState(n) === "active").length;
      const ms = Math.round(Date.now() - this.startedAt);
      this.console("info", this.opts.startupFinished?.(ready) ?? `Startup finished in ${ms} ms (userspace); ${ready} units active`);
    }
  }

  private emergencyAction(unit: string, action: EmergencyAction, reason: string) {
    if (this.stopping) return;
    if (!this.opts.systemMode) {
      const code = RUN_MODE_EXIT_STATUS[action] ?? 1;
      this.log.err(`${unit}: ${reason}: start_limit_action=${action}; in run mode this ends the manager with status ${code} instead of touching the host`);
      this.opts.exit(code, `${action} requested by ${unit}`);
      return;
    }
    // System mode: the way down, as far as the action says (orderly, -force, -immediate).
    const request = emergencyPowerRequest(action);
    if (request === null) return;
    this.log.err(`${unit}: ${reason}: start_limit_action=${action}`);
    this.power(request.action, `${action} requested by ${unit}`, request.mode);
  }

  /** poweroff, reboot or halt asked for (hearth ctl, a signal, an emergency action). */
  power(action: PowerAction, reason: string, mode: PowerMode = "orderly") {
    if (this.opts.power) return this.opts.power(action, reason, mode);
    // Run mode: end the manager with a status that says what was asked for.
    this.opts.exit(RUN_MODE_EXIT_STATUS[action] ?? 0, `${action} requested: ${reason}`);
  }

  /** Release every fd the manager holds (used when the manager ends). */
  close() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const out of this.outputs.values()) {
      getReactor().unwatch(out.read);
      closeFd(out.read);
      closeFd(out.write);
    }
    this.outputs.clear();
    this.notify?.close();
    this.sockets.close();
    this.fdStore.closeAll();
    this.cgroups?.close();
  }
}

/** In run mode services inherit the caller's environment, less what is ours to set. */
function inheritEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("LISTEN_") || k === "NOTIFY_SOCKET" || k.startsWith("WATCHDOG_")) continue;
    env[k] = v;
  }
  return env;
}
