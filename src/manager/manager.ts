// The manager's effectful shell: it feeds events to the engine and performs the effects
// the engine returns — spawning, signalling, timers, log pipes — from their payloads
// alone: it never reads the engine's records (only handle() and snapshot()), so every
// decision is the engine's. Events are queued and drained in order, never recursively,
// so every effect of one event is performed before the next event is looked at. Every
// system call goes through the host port (./host.ts).
import { homedir } from "node:os";
import { join } from "node:path";
import type { LoadedConfig, MountEntry, UnitConfig } from "../config/types.ts";
import { Engine } from "../engine/engine.ts";
import { testCondition } from "../engine/conditions.ts";
import type { Effect, EngineEvent, JobResult, JobType, SpawnContext, TimerKind, UnitSnapshot } from "../engine/types.ts";
import { signalName } from "../exec/reaper.ts";
import { cgroupBpfOptions, requiresCgroupBpf, wantsCgroupBpf } from "../exec/cgroup-bpf-options.ts";
import { delegation } from "../exec/delegate.ts";
import { resolveCredentials } from "../exec/users.ts";
import { LogRing, type LogEntry, type LogRecord } from "../log/ring.ts";
import type { Logger } from "../log/manager-log.ts";
import type { NotifyArrival } from "../notify/server.ts";
import type { Passed } from "../sockets/activator.ts";
import type { PowerAction, PowerMode } from "../engine/power.ts";
import type { ManagerHandover } from "./reexec.ts";
import { realHost, type FdStorePort, type ManagerHost, type NotifyPort, type SocketPort } from "./host.ts";
import { cgroupLimits } from "./exec-context.ts";
import { buildSpawnRequest, type BuiltRequest } from "./spawn-request.ts";
import { directoryBases, type DirectoryBases } from "./unit-directories.ts";
import type { PrivateTmp } from "../exec/private-tmp.ts";
import type { SpawnRequest, SpawnResult } from "../exec/spawner.ts";
import type { JoinableNamespace } from "../../ffi/spawn-layout.ts";
import { stdioPlan } from "./stdio.ts";
import { openStdio } from "./stdio-open.ts";
import { UnitOutputs } from "./unit-output.ts";
import { SYSTEM_UTMP_FILES, UtmpWriter } from "./utmp.ts";
import { credentialsDirectory, removeCredentials } from "./credentials.ts";
import { setPassedNonBlocking } from "./non-blocking.ts";
import { UnitProcesses } from "./unit-processes.ts";
import { emergencyAction, powerRequest, type PowerOptions } from "./power.ts";
import { mainPidGuess } from "./main-pid.ts";
import type { StartupPhases } from "../control/startup-phases.ts";
import { unsupportedDirectives } from "../exec/kernel-support.ts";
import { makeWatchers, type Watchers } from "./watchers.ts";

// Loaded by the first unit that needs them (each a chunk of its own in the executable, read
// synchronously by require): a system without such units never holds their code.
const cgroupBpf = (): typeof import("../exec/cgroup-bpf.ts") => require("../exec/cgroup-bpf.ts");
const reexec = (): typeof import("./reexec.ts") => require("./reexec.ts"); // daemon-reexec's handover
const serialize = (): typeof import("../engine/serialize.ts") => require("../engine/serialize.ts");

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
  /** The line printed when the target is reached; system mode splits it by phase. */
  startupFinished?: (phases: StartupPhases | null, unitsReady: number) => string;
  /** Every line a unit wrote, as it is stored (the persistent log, src/log/persistent.ts). */
  unitLogTap?: (record: LogRecord) => void;
  /**
   * The start-up phases reached before the manager (src/boot/phase-marks.ts), and the
   * offset from host.now() to CLOCK_BOOTTIME; the manager adds first spawn and target reached.
   */
  startup?: { phases: StartupPhases; offsetMs: number };
  /** The system underneath (tests pass a fake one). */
  host?: ManagerHost;
  /** Where runtime_directory and the like go; by default systemd's, for the mode (./unit-directories.ts). */
  directoryBases?: DirectoryBases;
  /** Read the kernel's log (/dev/kmsg) into the "kernel" unit: by default in system mode only. */
  readKmsg?: boolean;
  /** daemon-reexec: what the process before the exec handed over (./reexec.ts); its units are adopted, not started. */
  restore?: ManagerHandover;
}

export type { PowerAction } from "../engine/power.ts";
export { RUN_MODE_EXIT_STATUS } from "./power.ts";

export interface Mounter {
  /** Resolves when done; rejects with the reason it failed. */
  mount(entry: MountEntry): Promise<void>;
  unmount(entry: MountEntry): Promise<void>;
}

// How long stopAll waits for the cgroups of SIGKILLed leftovers to empty.
const LEFTOVER_WAIT_MS = 2000;

// Log lines kept with each unclean exit in the crash record.
const CRASH_LOG_LINES = 50;

type JobWaiter = (r: { unit: string; job: JobType; result: JobResult; reason: string }) => void;

export class Manager {
  private readonly engine: Engine; // read through unit()/units() only: snapshots
  readonly managerRing = new LogRing(5000);
  readonly host: ManagerHost;
  readonly startedAt: number;
  readonly startedAtMono: number;
  finishedAtMono: number | null = null; // when the target was first reached
  private firstSpawnAtMono: number | null = null;
  /** Time the kernel took before PID 1 started (system mode only), for analysis. */
  private readonly outputs: UnitOutputs;
  private readonly utmp: UtmpWriter;
  private readonly timers = new Map<string, unknown>();
  private readonly waiters = new Map<number, JobWaiter>();
  private readonly readinessFds = new Map<string, number>();
  // Processes this shell spawned and has not reaped: their unit, and the output pipe that
  // is drained before their exit goes to the engine.
  private readonly spawned = new Map<number, { unit: string; output: string }>();
  private readonly queue: EngineEvent[] = [];
  private draining = false;
  private nextRequestId = 1;
  private notify: NotifyPort | null = null;
  private devNullFd = -1;
  private ttyFd = -1;
  private readonly unitLoggers = new Map<string, Logger>();
  private abandoned = false;
  private processes: UnitProcesses | null = null;
  private readonly cgroupWatch = new Set<string>(); // units to report once when their cgroup empties
  private readonly directoryBases: DirectoryBases;
  private readonly fileLimit: { soft: number; hard: number }; // see host.fileLimits
  private readonly privateTmps = new Map<string, PrivateTmp>(); // by unit, while it runs
  /** By unit, while it runs: the namespaces its first process got, and the sandbox they were made for. */
  private readonly namespaces = new Map<string, { sandbox: string; fds: Partial<Record<JoinableNamespace, number>> }>();
  /** Every listening socket of the configuration, held from start() to close(). */
  readonly sockets: SocketPort;
  /** daemon-reexec: what the restored engine asked of the shell (its timers, its watches), performed at start(). */
  private restoredEffects: Effect[] | null = null;
  readonly fdStore: FdStorePort;
  /** Syslog and kmsg, bus names, devices, timers and paths: what is followed outside the engine (./watchers.ts). */
  private readonly watchers: Watchers;

  constructor(private readonly opts: ManagerOptions) {
    this.host = opts.host ?? realHost();
    this.startedAt = this.host.wallNow();
    this.startedAtMono = this.host.now();
    this.directoryBases = opts.directoryBases ?? directoryBases(opts.systemMode, opts.runDir, process.env, homedir());
    this.fileLimit = this.host.fileLimits();
    if (opts.restore) continueClock(this.host, opts.restore);
    const now = this.host.now();
    const monotonicOffsetMs = (this.host.monotonicNow?.() ?? now) - now;
    const engine = (units: Map<string, UnitConfig>) => new Engine(units, now, signalName, opts.target, this.host.pid, opts.config.notFound, opts.config.catalog, monotonicOffsetMs);
    this.engine = engine(opts.config.units);
    if (opts.restore) {
      // A state this binary cannot read: a fresh start that adopts nothing (its fds are closed).
      const { decodeState, configsOf } = serialize();
      const decoded = decodeState(opts.restore.engine);
      try {
        if ("error" in decoded) throw new Error(decoded.error);
        const restored = engine(configsOf(decoded.state));
        this.restoredEffects = restored.importState(decoded.state, now);
        this.engine = restored;
      } catch (e) {
        opts.logger.err(`Re-exec: the state of the manager before cannot be read (${(e as Error).message}): starting afresh, adopting nothing`);
        for (const fd of reexec().handedFds(opts.restore)) this.host.close(fd);
        opts.restore = undefined;
      }
    }
    this.outputs = new UnitOutputs(this.host, opts.logger, this.managerRing, opts.unitLogTap, (line) => opts.console(line));
    const utmpFiles = opts.systemMode ? SYSTEM_UTMP_FILES : { utmp: join(opts.runDir, "utmp"), wtmp: join(opts.runDir, "wtmp") };
    this.utmp = new UtmpWriter(utmpFiles, () => this.host.wallNow(), (text) => this.log.warning(text));
    this.sockets = this.host.sockets(opts.config.units.values(), {
      reactor: this.host.reactor,
      dispatch: (event) => this.dispatch(event),
      log: (unit, level, text) => this.unitLogger(unit)[level](text),
    });
    this.fdStore = this.host.fdStore((unit, level, text) => this.unitLogger(unit)[level](text));
    this.watchers = makeWatchers({
      host: this.host, log: opts.logger, dispatch: (e) => this.dispatch(e), outputs: this.outputs,
      unitLogger: (unit) => this.unitLogger(unit), unitOf: (pid) => this.unitOfPid(pid),
      systemMode: opts.systemMode, runDir: opts.runDir, readKmsg: opts.readKmsg ?? opts.systemMode,
      stateDir: this.directoryBases.state, units: opts.config.units,
    });
  }

  get config(): LoadedConfig {
    return this.opts.config;
  }

  /**
   * daemon-reload: a configuration read again and validated whole replaces this one; the
   * engine decides what that does to each unit (src/engine/reload.ts).
   */
  replaceConfiguration(config: LoadedConfig): void {
    this.opts.config = config;
    this.dispatch({ type: "configuration-replaced", units: config.units, notFound: config.notFound, catalog: config.catalog ?? null });
    this.watchers.reconfigure(config.units); // the bus names and devices followed are the configuration's
  }

  get target(): string {
    return this.opts.target;
  }

  get log(): Logger {
    return this.opts.logger;
  }

  /** A unit as the engine sees it (read-only), or null if there is no such unit. */
  unit(name: string): UnitSnapshot | null {
    return this.engine.snapshot(name);
  }

  /**
   * The unit a name stands for (an alias's unit; an instance of a template, made now as
   * systemd loads it when named), or null. Not a job: the engine drops an instance made
   * this way once it is idle again.
   */
  resolve(name: string): string | null {
    return this.engine.resolve(name);
  }

  /** Every unit as the engine sees it, by name. */
  units(): UnitSnapshot[] {
    return this.engine.snapshots();
  }

  /** Set up the sockets and the reaper, then start the target. */
  start() {
    this.host.mkdir(this.opts.runDir);
    this.host.becomeSubreaper();
    this.processes = new UnitProcesses(this.host, this.log, this.trackProcesses());
    this.devNullFd = this.host.devNull();
    this.host.onChildExit(() => this.reap());
    const restore = this.opts.restore;
    this.notify = this.host.notifyServer(join(this.opts.runDir, "notify.sock"), this.opts.logger, (m) => this.onNotify(m), restore?.notify);
    if (restore) this.adopt(restore);
    for (const cfg of this.opts.config.units.values()) if (cfg.service) this.outputs.writeFd(cfg);
    this.watchers.start("logs");
    if (this.opts.systemMode) {
      try {
        this.host.announceSystemd();
      } catch (e) {
        this.log.warning(`cannot create /run/systemd/system (daemons may ignore passed sockets): ${(e as Error).message}`);
      }
    }
    // Every socket exists before the first job runs: services need no ordering on their
    // clients, who just connect (the built-in sockets target is reached after this).
    if (!restore) this.dispatch(this.sockets.open());
    this.watchers.start("jobs"); // the first clock event among them: before any timer starts
    if (restore) {
      this.performAll(this.restoredEffects ?? []);
      this.restoredEffects = null;
      // The configuration is read again on a re-exec (systemd's too): what changed is a reload's.
      this.dispatch({ type: "configuration-replaced", units: this.opts.config.units, notFound: this.opts.config.notFound, catalog: this.opts.config.catalog ?? null });
      const running = this.units().filter((u) => u.mainPid !== null).length;
      this.log.notice(`Re-executed: ${this.units().length} units taken over as they were, ${running} main processes kept`);
    } else {
      this.warnUnsupportedSandbox();
      this.log.info(`Starting ${this.opts.target} (${this.opts.config.units.size} units loaded)`);
      void this.request("start", this.opts.target);
    }
    // The devices there now, after the target's jobs: what they pull in is ordered with the boot.
    this.watchers.start("devices");
    this.reap(); // children that exited before the handler was installed
  }

  /** daemon-reexec: the pipes, sockets and log lines handed over, and the processes the engine knows, taken up again. */
  private adopt(h: ManagerHandover) {
    const unused = [
      ...this.outputs.adopt(h.outputs, (unit) => this.engine.snapshot(unit)?.config ?? null),
      ...this.sockets.adopt(h.sockets),
      ...this.fdStore.adopt(h.fdStore, (unit) => this.engine.snapshot(unit)?.config.service != null),
    ];
    for (const fd of unused) this.host.close(fd);
    for (const s of h.sandboxes ?? []) {
      const running = this.engine.snapshot(s.unit)?.active;
      if (running !== undefined && running !== "inactive" && running !== "failed") {
        if (s.privateTmp) this.privateTmps.set(s.unit, s.privateTmp);
        if (s.namespaces) this.namespaces.set(s.unit, s.namespaces);
      } else {
        for (const fd of Object.values(s.namespaces?.fds ?? {})) this.host.close(fd);
        if (s.privateTmp) this.removePrivateTmp(s.unit, s.privateTmp);
      }
    }
    for (const u of this.units()) {
      const output = this.engine.instanceOf(u.name)?.template ?? u.name;
      for (const pid of [u.mainPid, u.controlPid]) if (pid !== null) this.spawned.set(pid, { unit: u.name, output });
    }
  }

  /** Taking over from the process before a re-exec (its state could be read). */
  get restoring(): boolean {
    return this.opts.restore !== undefined;
  }

  /** daemon-reexec: what to carry across the exec (the fds it names are to be kept open). */
  handover(): ManagerHandover {
    return {
      format: "hearth-reexec", version: reexec().HANDOVER_VERSION,
      engine: serialize().encodeState(this.engine.exportState()), engineNow: this.host.now(), monoMs: this.host.monotonicNow?.() ?? this.host.now(),
      outputs: this.outputs.handover(), sockets: this.sockets.handover(), fdStore: this.fdStore.handover(),
      ...(this.notify ? { notify: this.notify.fd } : {}),
      sandboxes: [...new Set([...this.privateTmps.keys(), ...this.namespaces.keys()])].map((unit) => ({
        unit, privateTmp: this.privateTmps.get(unit), namespaces: this.namespaces.get(unit),
      })),
    };
  }

  private performAll(effects: Effect[]) {
    for (const e of effects) {
      try {
        this.perform(e);
      } catch (err) {
        this.log.err(`internal error performing ${e.type} after the re-exec: ${(err as Error).message}`);
      }
    }
  }

  /** Once at start: the sandbox directives this kernel cannot honour (those units will fail to start). */
  private warnUnsupportedSandbox() {
    const kernel = this.host.kernelSupport();
    for (const cfg of this.opts.config.units.values()) {
      for (const problem of cfg.service ? unsupportedDirectives(cfg.service, kernel) : []) this.log.warning(`${cfg.name}: ${problem}`);
    }
  }

  /**
   * One cgroup per service where cgroup v2 is writable (always on the board); else each
   * service's processes are found through the process group its main process leads.
   */
  private trackProcesses() {
    const tree = this.host.cgroups(this.opts.systemMode ? "system" : "run");
    if ("unavailable" in tree) {
      this.log.notice(`cgroup v2 not usable (${tree.unavailable}): tracking services by process group instead`);
      return null;
    }
    this.log.info(`Tracking services in cgroups under ${tree.dir}`);
    return tree;
  }

  /** Ask the engine for a job; the promise settles when the job finishes. */
  request(job: JobType, unit: string): Promise<{ unit: string; job: JobType; result: JobResult; reason: string }> {
    const requestId = this.nextRequestId++;
    const done = new Promise<{ unit: string; job: JobType; result: JobResult; reason: string }>((resolve) => {
      this.waiters.set(requestId, resolve);
    });
    this.dispatch({ type: "request", job, unit, requestId });
    return done;
  }

  resetFailed(unit: string | null) {
    this.dispatch({ type: "reset-failed", unit });
  }

  /**
   * Stop every unit (reverse order, in parallel), then give their SIGKILLed leftovers a
   * moment to die, so that their cgroups go too; then resolve.
   */
  async stopAll(): Promise<void> {
    this.dispatch({ type: "going-down" }); // no client may start anything from now on
    const up = this.units().filter((u) => u.active !== "inactive" && u.active !== "failed");
    await Promise.all(up.map((u) => this.request("stop", u.name)));
    // Reaping (SIGCHLD) removes each cgroup once empty; a SIGKILLed process is gone in
    // milliseconds unless stuck in the kernel, which this bound leaves to the caller.
    for (let waited = 0; (this.processes?.cgroupsToRemove ?? 0) > 0 && waited < LEFTOVER_WAIT_MS; waited += 10) {
      await new Promise((resolve) => this.host.setTimer(10, () => resolve(undefined)));
      this.reap();
    }
  }

  /**
   * The way down without stopping the units (reboot-force): from now on no event is
   * acted on — no restart, no spawn — while the final stage kills what is left.
   */
  abandon() {
    this.dispatch({ type: "going-down" }); // no client may start anything either
    this.abandoned = true;
  }

  dispatch(event: EngineEvent) {
    if (this.abandoned) return;
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const ev = this.queue.shift()!;
        // handle() never throws: a bug comes back as a manager-log effect after what was
        // emitted before it, which still holds.
        for (const effect of this.engine.handle(ev, this.host.now())) {
          try {
            this.perform(effect);
          } catch (e) {
            this.log.err(`internal error performing ${effect.type} for ${"unit" in effect ? effect.unit : "?"}: ${(e as Error).stack ?? e}`);
            // A spawn that never happened must not leave its unit waiting for it forever.
            if (effect.type === "spawn") this.queue.push({ type: "spawn-failed", unit: effect.unit, role: effect.role, error: `internal error: ${(e as Error).message}` });
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
      case "kill":
        if (e.scope === "unit") return this.processes!.kill(e.unit, e.signal, e.pid);
        return void this.host.kill(e.pid, e.signal);
      case "kill-leftovers": {
        const survivors = this.processes!.killLeftovers(e.unit, e.processGroup);
        if (survivors.length > 0) this.queue.push({ type: "leftovers-survived", unit: e.unit, processes: survivors });
        return;
      }
      case "remove-cgroup": return this.processes!.removeCgroup(e.unit);
      case "remove-ipc": return this.removeIpcOf(e.unit, e.user, e.group);
      case "remove-credentials": {
        const problem = removeCredentials(credentialsDirectory(this.directoryBases.runtime, e.unit));
        if (problem) this.unitLogger(e.unit).warning(problem);
        return;
      }
      case "set-timer": return this.setTimer(e.unit, e.kind, e.ms, e.id);
      case "arm-timer": case "disarm-timer": case "timer-stamp": case "watch-paths": case "unwatch-paths":
        return this.watchers.perform(e);
      case "clear-timer": return this.clearTimer(e.unit, e.kind);
      case "read-pid-file": return this.readPidFile(e.unit, e.path);
      case "mount": return this.performMount(e.unit, e.op, e.entry);
      case "log": return this.unitLogger(e.unit)[e.level](e.text);
      case "manager-log": return this.log[e.level](e.text);
      case "console": return this.console(e.status, e.text);
      case "state-changed":
        // A unit up may be the bus (./watchers.ts); what follows from it comes as effects of its own.
        return this.watchers.perform(e);
      case "job-finished": return this.onJobFinished(e);
      case "startup-finished": return this.onStartupFinished(e.activeUnits);
      case "emergency-action":
        return emergencyAction(this.powerOptions(), e.unit, e.action, e.reason);
      case "listen": return this.sockets.setWatching(e.unit, e.index, e.on);
      case "retry-sockets": return void this.queue.push(this.sockets.open(e.units));
      case "remake-sockets":
        this.sockets.replaceUnit(e.unit, e.config);
        return void this.queue.push(this.sockets.open([e.unit]));
      case "unit-removed":
        this.outputs.remove(e.unit);
        this.unitLoggers.delete(e.unit);
        return;
      case "close-connection": return this.sockets.closeConnection(e.connection);
      case "instance-removed":
        if (e.connection !== null) this.sockets.closeConnection(e.connection);
        this.outputs.retire(e.unit); // an accept = true instance has none: it writes to its socket unit's
        this.unitLoggers.delete(e.unit);
        return;
      case "release-fd-store": return this.fdStore.release(e.unit);
      case "store-fds": return this.fdStore.add(e.unit, e.max, e.fds, e.name, e.poll);
      case "remove-stored-fds": return this.fdStore.remove(e.unit, e.name);
      case "close-fds": return e.fds.forEach((fd) => this.host.close(fd));
      case "close-readiness-fd": return this.dropReadinessFd(e.unit);
      case "reset-terminal":
        try {
          return this.host.resetTerminal?.(e);
        } catch (err) {
          return this.unitLogger(e.unit).warning(`Cannot reset its terminal ${e.path}: ${(err as Error).message}`);
        }
      case "remove-runtime-directories": return this.removeRuntimeDirectories(e.unit, e.directories);
      case "release-sandbox": return this.releaseSandbox(e.unit);
      case "notify-refused": {
        const log = e.unit === null ? undefined : (text: string) => this.unitLogger(e.unit!).warning(text);
        return this.notify?.refused(e, e.reason, log);
      }
      case "find-main-pid": {
        const guess = mainPidGuess(this.processes!.cgroups, e.unit, this.host.pid, (pid) => this.host.processIds(pid)?.ppid ?? null);
        return void this.queue.push({ type: "main-pid-guess", unit: e.unit, ...guess });
      }
      case "watch-cgroup":
        if (this.processes!.cgroups) this.cgroupWatch.add(e.unit);
        return this.reportEmptyCgroups();
      case "check-conditions": {
        const results = e.conditions.map((c) => testCondition(c, this.host.conditionFacts));
        return void this.queue.push({ type: "conditions-checked", unit: e.unit, id: e.id, results });
      }
      case "exit-recorded": {
        this.outputs.drain(e.unit);
        const lines = this.outputs.logs(e.unit, CRASH_LOG_LINES).map((l) => l.text);
        this.queue.push({ type: "exit-log", unit: e.unit, time: e.record.time, lines });
        return;
      }
    }
  }

  // ---- spawning --------------------------------------------------------------------------

  private performSpawn(e: Extract<Effect, { type: "spawn" }>) {
    if (!e.context) throw new Error(`spawn effect for ${e.unit} without its context`);
    const ctx: SpawnContext = e.context;
    const cfg = ctx.config.service!;
    let cgroupFd: number | undefined;
    let cgroupJoin = false;
    const cgroups = this.processes!.cgroups;
    // The cgroup BPF directives need the unit's cgroup: without it the unit does not start
    // (private_devices' implied device program is only warned about, see requiresCgroupBpf).
    const bpf = cgroupBpfOptions(cfg);
    let attach = wantsCgroupBpf(bpf) ? { key: JSON.stringify(bpf), make: (fd: number) => cgroupBpf().attachCgroupBpf(fd, bpf) } : undefined;
    const bpfRequired = requiresCgroupBpf(bpf);
    if (attach && !cgroups) {
      const why = "cgroup v2 is not usable";
      if (bpfRequired) {
        this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: `device_policy, device_allow, ip_address_* and socket_bind_* need the unit's cgroup: ${why}` });
        return;
      }
      this.log.warning(`${e.unit}: private_devices: no device program on the cgroup (${why}); the private /dev remains`);
    }
    if (cgroups) {
      this.processes!.keepCgroup(e.unit);
      let joined = cgroups.ensureUnit(e.unit, cgroupLimits(cfg), attach);
      if ("error" in joined && attach) {
        if (bpfRequired) {
          this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: joined.error });
          return;
        }
        this.log.warning(`${e.unit}: private_devices: no device program on the cgroup (${joined.error}); the private /dev remains`);
        attach = undefined;
        joined = cgroups.ensureUnit(e.unit, cgroupLimits(cfg));
      }
      if ("error" in joined) this.log.warning(`${e.unit}: no cgroup, tracked by process group: ${joined.error}`);
      else {
        for (const w of joined.warnings) this.log.warning(`${e.unit}: ${w}`);
        cgroupFd = joined.cgroupFd;
        cgroupJoin = joined.join;
      }
    }
    const main = e.role === "main";
    const plan = stdioPlan(cfg, { hasConnection: ctx.connection !== null, systemMode: this.opts.systemMode });
    // An instance's other processes (exec_start_pre...) get its connection too when it is
    // their stdio, as in systemd; only the main process gets sockets and stored fds.
    const passed = main ? this.passedTo(e.unit, ctx, plan.connection)
      : plan.connection ? this.sockets.passedTo(e.unit, ctx.connection, true) : null;
    const stdio = openStdio(plan, this.host, {
      devNull: this.devNullFd, tty: () => this.ttyFds(), log: () => this.outputs.writeFd(ctx.logConfig),
      connection: passed?.stdio ?? null, fileMode: 0o666 & ~cfg.umask,
    });
    if ("error" in stdio) {
      this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: stdio.error });
      return;
    }
    try {
      const privateTmp = cfg.private_tmp ? this.privateTmpOf(e.unit) : undefined;
      if (typeof privateTmp === "string") {
        this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: privateTmp });
        return;
      }
      this.spawnProcess(e, ctx, buildSpawnRequest({
        effect: { ...e, context: ctx }, host: this.host, notifySocket: this.notify?.path ?? null,
        systemMode: this.opts.systemMode, devNull: this.devNullFd, passed, stdio: stdio.fds, cgroupFd, cgroupJoin, directoryBases: this.directoryBases,
        fileLimit: this.fileLimit,
        privateTmp,
      }));
    } finally {
      for (const fd of stdio.opened) this.host.close(fd); // the child has its copies
    }
  }

  private spawnProcess(e: Extract<Effect, { type: "spawn" }>, ctx: SpawnContext, built: BuiltRequest) {
    if ("error" in built) {
      this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: built.error });
      return;
    }
    for (const w of built.warnings) this.unitLogger(e.unit).warning(w);
    const delegated = delegation(ctx.config.service!.delegate);
    const cgroups = this.processes?.cgroups;
    if (cgroups && (delegated === "all" || Array.isArray(delegated)) && built.request.cgroupFd !== undefined) {
      const owner = { uid: built.request.uid ?? 0, gid: built.request.gid ?? 0 };
      for (const w of cgroups.delegate(e.unit, delegated, owner)) this.unitLogger(e.unit).warning(w);
    }
    if (built.readiness) this.watchReadinessFd(e.unit, built.readiness.read);
    const result = this.spawnInUnitNamespaces(e.unit, built.request);
    if (built.readiness) this.host.close(built.readiness.write);
    if (!result.ok) {
      if (built.readiness) this.dropReadinessFd(e.unit);
      const error = result.message.startsWith(result.stage) ? result.message : `${result.stage}: ${result.message}`;
      this.queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error });
      return;
    }
    this.firstSpawnAtMono ??= this.host.now();
    this.spawned.set(result.pid, { unit: e.unit, output: ctx.logUnit });
    if (e.role === "main") this.outputs.setPid(ctx.logUnit, result.pid);
    if (e.role === "main") this.utmp.started(e.unit, result.pid, ctx.config.service!);
    this.log.debug(`${e.unit}: spawned ${e.role} process ${result.pid}: ${e.command.argv.join(" ")}`);
    this.queue.push({ type: "spawned", unit: e.unit, role: e.role, pid: result.pid });
  }

  /**
   * Every process of a unit with namespaces of its own joins those the first one got, as
   * in systemd, where a unit's processes share its network, IPC and UTS namespaces (and the
   * same plan gives the same mount namespace, which costs about a spawn more to make).
   * Namespaces that could not be joined are let go, and the next process makes new ones.
   */
  private spawnInUnitNamespaces(unit: string, request: SpawnRequest): SpawnResult {
    const wanted: JoinableNamespace[] = [
      ...(request.sandbox ? ["mnt" as const] : []), ...(request.privateNetwork ? ["net" as const] : []),
      ...(request.privateIpc ? ["ipc" as const] : []), ...(request.privateUts ? ["uts" as const] : []),
    ];
    if (wanted.length === 0) return this.host.spawn(request);
    const sandbox = JSON.stringify([request.sandbox, wanted]);
    const kept = this.namespaces.get(unit);
    const joins = kept?.sandbox === sandbox;
    const result = this.host.spawn(joins ? { ...request, joinNamespaces: kept.fds } : request);
    if (joins && result.ok) return result;
    this.letGoNamespaces(unit);
    if (!result.ok) return result;
    const fds: Partial<Record<JoinableNamespace, number>> = {};
    for (const type of wanted) {
      const fd = this.host.openNamespace(result.pid, type);
      if (fd === null) { // gone already: nothing to keep
        for (const opened of Object.values(fds)) this.host.close(opened);
        return result;
      }
      fds[type] = fd;
    }
    this.namespaces.set(unit, { sandbox, fds });
    return result;
  }

  private letGoNamespaces(unit: string) {
    const kept = this.namespaces.get(unit);
    if (!kept) return;
    this.namespaces.delete(unit);
    for (const fd of Object.values(kept.fds)) this.host.close(fd);
  }

  /** remove_ipc: the user's and group's IPC objects go (src/exec/ipc-cleanup.ts); root's never. */
  private removeIpcOf(unit: string, user: string | null, group: string | null) {
    // Read as the spawn reads them (a numeric user missing from passwd included).
    const ids = resolveCredentials(this.host.userDatabase(), { user, group });
    if ("error" in ids) return this.unitLogger(unit).warning(`remove_ipc: ${ids.error}`);
    const owner = { uid: ids.uid ?? null, gid: ids.gid ?? null };
    const { removed, failed } = this.host.removeIpc(owner);
    if (removed > 0) this.unitLogger(unit).info(`remove_ipc: ${removed} IPC object(s) of ${user ?? `group ${group}`} removed`);
    for (const f of failed) this.unitLogger(unit).warning(`remove_ipc: ${f} not removed`);
  }

  /** The unit's private /tmp, made at its first process after a stop; or why it cannot be made. */
  private privateTmpOf(unit: string): PrivateTmp | string {
    const made = this.privateTmps.get(unit);
    if (made) return made;
    try {
      const dirs = this.host.makePrivateTmp(unit);
      this.privateTmps.set(unit, dirs);
      return dirs;
    } catch (err) {
      return `private_tmp: ${(err as Error).message}`;
    }
  }

  /** The unit is down: its kept mount namespace is let go, its private /tmp removed. */
  private releaseSandbox(unit: string) {
    this.letGoNamespaces(unit);
    const dirs = this.privateTmps.get(unit);
    if (!dirs) return;
    this.privateTmps.delete(unit);
    this.removePrivateTmp(unit, dirs);
  }

  private removePrivateTmp(unit: string, dirs: PrivateTmp) {
    try {
      this.host.removePrivateTmp(dirs);
    } catch (err) {
      this.unitLogger(unit).warning(`private_tmp ${dirs.roots.join(", ")} not removed: ${(err as Error).message}`);
    }
  }

  /** Each one apart: one that cannot go (a symlink put in its place) leaves the others to go. */
  private removeRuntimeDirectories(unit: string, directories: string[]) {
    for (const relative of directories) {
      try {
        this.host.removeUnitDirectory(this.directoryBases.runtime, relative);
      } catch (err) {
        this.unitLogger(unit).warning(`runtime_directory ${relative} not removed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * What the main process gets besides stdio: its sockets (the listening ones, or its
   * connection), then the fds it stored (FDSTORE=1), with their names.
   */
  private passedTo(unit: string, ctx: SpawnContext, inetd: boolean): Passed {
    const passed = this.sockets.passedTo(unit, ctx.connection, inetd);
    if (ctx.config.service?.non_blocking) setPassedNonBlocking(passed.fds, (text) => this.unitLogger(unit).warning(text));
    for (const stored of this.fdStore.entries(unit)) {
      passed.fds.push(stored.fd);
      passed.names.push(stored.name);
    }
    return passed;
  }

  /**
   * The terminal of standard_* = "tty": one fd on /dev/console, opened at first use, in
   * system mode; under `hearth run`, the manager's own stdin and stdout.
   */
  private ttyFds(): { input: number; output: number } {
    if (!this.opts.systemMode) return { input: 0, output: 1 };
    if (this.ttyFd < 0) this.ttyFd = this.host.openConsole();
    return { input: this.ttyFd, output: this.ttyFd };
  }

  /** s6-style readiness: the first newline on the pipe means ready. */
  private watchReadinessFd(unit: string, fd: number) {
    this.dropReadinessFd(unit);
    this.readinessFds.set(unit, fd);
    const buf = new Uint8Array(512);
    this.host.reactor.watch(fd, { read: true }, () => {
      for (;;) {
        const n = this.host.read(fd, buf);
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
    this.host.reactor.unwatch(fd);
    this.host.close(fd);
  }

  /** Reap every exited child; the engine tells which were its units' processes. */
  private reap() {
    // Messages a process sent before it exited come first (systemd orders them so too):
    // a READY=1 or FDSTORE=1 must not be lost because the exit was seen first.
    this.notify?.drain();
    this.watchers.drain(); // and what it logged (syslog), while its pid still names its unit
    for (const { pid, status } of this.host.reap()) {
      const spawned = this.spawned.get(pid);
      this.spawned.delete(pid);
      if (spawned) this.outputs.drain(spawned.output); // what it wrote comes before its exit
      if (spawned) this.utmp.exited(spawned.unit, pid, status);
      this.dispatch({ type: "exited", pid, status });
    }
    this.processes?.removeEmptyCgroups();
    this.reportEmptyCgroups();
  }

  /** watch-cgroup: the last process of a watched cgroup is reaped here (we are its subreaper). */
  private reportEmptyCgroups() {
    for (const unit of this.cgroupWatch) {
      if (!this.processes?.cgroups?.isEmpty(unit)) continue;
      this.cgroupWatch.delete(unit);
      // Inside an effect the event waits its turn in the queue; from the reaper it goes now.
      if (this.draining) this.queue.push({ type: "cgroup-empty", unit });
      else this.dispatch({ type: "cgroup-empty", unit });
    }
  }

  private performMount(unit: string, op: "mount" | "unmount", entry: MountEntry) {
    const mounter = this.opts.mounter;
    const done = (error?: string) => this.dispatch({ type: "mount-done", unit, op, error });
    if (!mounter) return void queueMicrotask(() => done("mounts are handled by PID 1 only"));
    mounter[op](entry).then(() => done(), (e: unknown) => done(e instanceof Error ? e.message : String(e)));
  }

  // ---- timers ----------------------------------------------------------------------------

  private setTimer(unit: string, kind: TimerKind, ms: number, id: number) {
    this.clearTimer(unit, kind);
    const key = `${unit}\0${kind}`;
    // setTimeout caps at 2^31-1 ms; longer timeouts are effectively "never" here.
    const delay = Math.min(Math.max(0, ms), 2 ** 31 - 1);
    this.timers.set(key, this.host.setTimer(delay, () => {
      this.timers.delete(key);
      this.dispatch({ type: "timer", unit, kind, id });
    }));
  }

  private clearTimer(unit: string, kind: TimerKind) {
    const key = `${unit}\0${kind}`;
    const t = this.timers.get(key);
    if (t !== undefined) this.host.clearTimer(t);
    this.timers.delete(key);
  }

  private readPidFile(unit: string, path: string) {
    let pid: number | null = null;
    let error: string | undefined;
    try {
      const n = Number.parseInt(this.host.readFile(path).trim(), 10);
      if (Number.isInteger(n) && n > 0) pid = n;
      else error = "no pid in file";
    } catch (e) {
      error = (e as Error).message;
    }
    this.queue.push({ type: "pid-file", unit, pid, error });
  }

  // ---- notify --------------------------------------------------------------------------

  /**
   * A datagram: the engine matches its sender to a unit from where the process stands
   * (a process this shell spawned is where it was spawned: no need to read /proc).
   */
  private onNotify(m: NotifyArrival) {
    const claimed = m.msg.mainPid;
    const origin = (pid: number) => this.processes!.origin(pid, this.spawned.get(pid)?.unit ?? null);
    this.dispatch({
      type: "notify", pid: m.pid, uid: m.uid, msg: m.msg, fds: m.fds,
      origin: origin(m.pid), claimed: claimed === undefined ? null : origin(claimed),
    });
  }

  // ---- logs ----------------------------------------------------------------------------

  /**
   * The unit of a syslog sender, by its kernel credentials: a process this shell spawned
   * (until reaped), its cgroup or session (./unit-processes.ts), else a main or control
   * pid the engine knows (one that has exited but is not yet reaped).
   */
  private unitOfPid(pid: number): string | null {
    if (pid === this.host.pid) return null;
    const spawned = this.spawned.get(pid);
    if (spawned) return spawned.output;
    const origin = this.processes!.origin(pid, null);
    // An instance writes to its template's log, as its output does.
    const logOf = (unit: UnitSnapshot | null) => unit === null ? null : unit.instance?.template ?? unit.name;
    if (origin.cgroupUnit !== null) return logOf(this.unit(origin.cgroupUnit)) ?? origin.cgroupUnit;
    if (origin.alive && this.processes!.cgroups) return null; // alive and in no unit's cgroup
    const leader = (u: UnitSnapshot) => u.mainPid !== null && (u.mainPid === origin.sid || u.mainPid === origin.pgid);
    return logOf(this.units().find((u) => u.mainPid === pid || u.controlPid === pid || (origin.alive && leader(u))) ?? null);
  }

  /** The last n log entries of a unit (or of everything, merged by time). */
  logs(unit: string | null, n: number): LogEntry[] {
    return this.outputs.logs(unit, n);
  }

  /** Follow new log entries; returns the unsubscribe function. */
  follow(unit: string | null, fn: (e: LogEntry) => void): () => void {
    return this.outputs.follow(unit, fn);
  }

  private unitLogger(unit: string): Logger {
    let l = this.unitLoggers.get(unit);
    if (!l) this.unitLoggers.set(unit, (l = this.opts.logger.unit(unit)));
    return l;
  }

  // ---- state reporting --------------------------------------------------------------------

  private console(status: "ok" | "failed" | "warning" | "info", text: string) {
    const tag = status === "ok" ? "[  OK  ]" : status === "failed" ? "[FAILED]" : status === "warning" ? "[ WARN ]" : "         ";
    this.opts.console(`${tag} ${text}`);
  }

  private onJobFinished(e: Extract<Effect, { type: "job-finished" }>) {
    if (e.requestId === undefined) return;
    const w = this.waiters.get(e.requestId);
    this.waiters.delete(e.requestId);
    w?.({ unit: e.unit, job: e.job, result: e.result, reason: e.reason });
  }

  private onStartupFinished(activeUnits: number) {
    this.finishedAtMono = this.host.now();
    const ms = Math.round(this.host.wallNow() - this.startedAt);
    this.console("info", this.opts.startupFinished?.(this.startupPhases(), activeUnits) ?? `Startup finished in ${ms} ms (userspace); ${activeUnits} units active`);
  }

  /** The phases of the start so far, on CLOCK_BOOTTIME (src/control/startup-phases.ts); null when not told them. */
  startupPhases(): StartupPhases | null {
    const s = this.opts.startup;
    if (!s) return null;
    const marks = [...s.phases.marks];
    if (this.firstSpawnAtMono !== null) marks.push({ phase: "first-spawn", atMs: this.firstSpawnAtMono + s.offsetMs });
    if (this.finishedAtMono !== null) marks.push({ phase: "target-reached", atMs: this.finishedAtMono + s.offsetMs });
    return { origin: s.phases.origin, marks };
  }

  /** As PID 1: when the kernel ran hearth, on the manager's clock, and the kernel's ms before it; else null. */
  kernelHandover(): { atMono: number; kernelMs: number } | null {
    const s = this.opts.startup;
    const handover = s?.phases.origin === "kernel" ? s.phases.marks.find((m) => m.phase === "handover") : undefined;
    return s && handover ? { atMono: handover.atMs - s.offsetMs, kernelMs: handover.atMs } : null;
  }

  private powerOptions(): PowerOptions {
    return { systemMode: this.opts.systemMode, log: this.log, exit: this.opts.exit, power: this.opts.power };
  }

  /** poweroff, reboot or halt asked for (hearth ctl, a signal, an emergency action). */
  power(action: PowerAction, reason: string, mode: PowerMode = "orderly") {
    powerRequest(this.powerOptions(), action, reason, mode);
  }

  /** Release every fd the manager holds (used when the manager ends). */
  close() {
    for (const t of this.timers.values()) this.host.clearTimer(t);
    this.timers.clear();
    this.outputs.close();
    this.notify?.close();
    this.watchers.close();
    this.sockets.close();
    this.fdStore.closeAll();
    this.processes?.close();
  }
}

/** The engine clock of the process before the exec, continued: host.now() goes on from it as CLOCK_MONOTONIC went on. */
function continueClock(host: ManagerHost, h: ManagerHandover) {
  const mono = host.monotonicNow?.();
  if (mono === undefined) return;
  const base = host.now.bind(host);
  const offset = h.engineNow + Math.max(0, mono - h.monoMs) - base();
  host.now = () => base() + offset;
}
