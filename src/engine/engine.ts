// The engine: units, their jobs, and the dispatch of events. Deterministic and free of
// I/O: handle(event, now) mutates plain records and returns the effects the shell must
// perform. A job runs the moment the units it is ordered after have finished theirs —
// there are no global phases — which is what makes the start parallel.
import type { ServiceSection, UnitCatalog, UnitConfig } from "../config/types.ts";
import { unitOutcome, type UnitState } from "./outcome.ts";
import { requisiteVerdict } from "./requisite.ts";
import { manualJobRefusal } from "./manual-jobs.ts";
import { addToGraph, buildGraph, removeFromGraph, type UnitGraph, type UnitNode } from "./graph.ts";
import { SocketActivation, type ActivationHost } from "./activation.ts";
import * as svc from "./service.ts";
import { judgeConditions } from "./conditions.ts";
import { Triggers, type TriggerHost } from "./triggers.ts";
import { usesNamespaces } from "../config/sandbox-keys.ts";
import type { ReloadPort } from "./reload.ts";
import type { EngineState } from "./serialize.ts";
import type {
  ActiveState, Effect, TimerKind, EngineEvent, JobResult, JobType, ProcessOrigin, SpawnContext, UnitResult, UnitSnapshot,
} from "./types.ts";

// daemon-reload's and daemon-reexec's parts (./reload.ts, ./serialize.ts) are loaded by
// their first use (require: each a chunk of its own in the executable).
const reload = (): typeof import("./reload.ts") => require("./reload.ts");
const serialize = (): typeof import("./serialize.ts") => require("./serialize.ts");

const MOUNT_SUB_STATE: Record<ActiveState, string> = {
  inactive: "dead", activating: "mounting", active: "mounted", reloading: "mounted",
  deactivating: "unmounting", failed: "failed",
};

export interface Job {
  id: number;
  type: "start" | "stop" | "reload";
  unit: string;
  running: boolean;
  requestIds: number[]; // control requests waiting for this job
  thenStart?: boolean; // a restart: start again once stopped
  // Not the operator's own (a socket trigger, a connection, a unit pulled in or restarted
  // with the one asked for): the crash-loop counters stay (src/engine/service.ts owns them).
  automatic?: boolean;
  reportAs?: JobType; // the start half of a restart answers as "restart"
  irreversible?: boolean; // on_failure_job_mode = "replace-irreversibly": no later job replaces it
}

function kindOf(cfg: UnitConfig): UnitKindName {
  return Triggers.kindOf(cfg) ?? (cfg.mount ? "mount" : cfg.device ? "device" : cfg.sockets.some((s) => s.accept) ? "template" : cfg.service !== null ? "service" : "target");
}

/** No templates, no aliases. */
const NO_CATALOG: UnitCatalog = { instantiate: () => null, aliasOf: () => null };

/** The most instances made at run time by names (hearth ctl, hearth.wants=) that exist at once. */
const MAX_MADE_INSTANCES = 4096;

/** What a unit is; each kind's behaviour is in Engine.kinds. */
export type UnitKindName = "service" | "target" | "mount" | "template" | "device" | "timer" | "path";

/** How long a start job of a device unit waits for the device (systemd's DefaultDeviceTimeoutSec). */
export const DEVICE_TIMEOUT_MS = 90_000;

/** How one kind of unit reports its state and runs its jobs. */
interface UnitKind {
  active(u: UnitRuntime): ActiveState;
  sub(u: UnitRuntime): string;
  /** Run a start job (the unit is not broken; activatingAt is set). */
  start(u: UnitRuntime): void;
  stop(u: UnitRuntime): void;
  words: { started: string; failedTo: string; stopped: string | null }; // console lines; null: none on stop
}

export interface UnitRuntime {
  kind: UnitKindName;
  cfg: UnitConfig;
  service: svc.ServiceRuntime | null; // null for targets
  targetActive: boolean; // for targets
  targetSince: number;
  job: Job | null;
  activeAt: number | null; // when the unit last became active (for analysis)
  activatingAt: number | null;
  /** The first activation (analyze: the boot chart is drawn from these, restarts aside). */
  firstActivatingAt: number | null;
  firstActiveAt: number | null;
  mountState: ActiveState; // for mount units: their own state, driven by mount-done events
  mountError: string | null; // why the last mount failed
  processGroup: number | null; // led by the unit's first main process: its leftovers without cgroups
  conditionCheck: number | null; // the check-conditions effect a start waits for
  restartCheck: number | null; // the check-conditions effect an automatic restart waits for
  // runtime_directory_preserve = "restart" kept the runtime directories for a start that
  // has not begun: if it never does (skipped, failed before it ran), they go then.
  runtimeDirsKept: boolean;
  unmet: UnitSnapshot["unmet"]; // the last start skipped by a condition or failed by an assert
  deviceTimer: number | null; // a device unit's start job waiting for the device: its timer
  last: UnitState; // the state before a change (./outcome.ts)
}

export class Engine {
  readonly units = new Map<string, UnitRuntime>();
  readonly graph: UnitGraph;
  readonly activation: SocketActivation;
  readonly triggers: Triggers; // timer and path units (./triggers.ts)
  private nextJobId = 1;
  private nextTimer = 1;
  private nextConditionCheck = 1;
  private effects: Effect[] = [];
  private now = 0;
  private readonly runQueue = new Set<string>(); // units whose job may run: see wake()
  private readonly idleUnits: string[] = []; // type = "idle" services (see releaseIdle)
  private startupReported = false;
  private goingDown = false; // see the going-down event
  private readonly made = new Set<string>(); // instances made at run time (see resolve)
  private readonly pending = new Map<string, UnitConfig>(); // changed on disk while up (./reload.ts)
  private readonly removing = new Set<string>(); // gone from the configuration, stopping (./reload.ts)

  /**
   * `target`: the unit whose first start job ends the start-up ("startup-finished").
   * `notFound`: names that match no unit at all (systemd's "not-found"), as opposed to
   * units whose files have errors: both are missing from `configs`, the reasons differ.
   */
  constructor(configs: Map<string, UnitConfig>, now: number,
    private readonly signalName: (n: number) => string = (n) => String(n),
    private readonly target: string | null = null,
    private readonly managerPid: number | null = null,
    private notFound: { has(name: string): boolean } = new Set<string>(),
    private catalog: UnitCatalog = NO_CATALOG,
    /** CLOCK_MONOTONIC ms minus `now`'s clock: MONOTONIC_USEC (notify-reload) is on CLOCK_MONOTONIC. */
    private readonly monotonicOffsetMs = 0) {
    this.graph = buildGraph(configs);
    this.activation = new SocketActivation(configs);
    this.triggers = new Triggers(configs.values(), now);
    for (const cfg of configs.values()) this.addRuntime(cfg, now);
  }

  /** A unit's runtime record. A unit with accept = true sockets runs nothing itself (its
   * template's instances are the services): it behaves as a target. */
  private addRuntime(cfg: UnitConfig, now: number) {
    const kind = kindOf(cfg);
    this.units.set(cfg.name, {
      kind, cfg, service: kind === "service" ? svc.newServiceRuntime(cfg.service!, now) : null,
      targetActive: false, targetSince: now, job: null, activeAt: null, activatingAt: null,
      firstActivatingAt: null, firstActiveAt: null, mountState: "inactive", mountError: null, processGroup: null,
      conditionCheck: null, restartCheck: null, unmet: null, runtimeDirsKept: false, deviceTimer: null, last: { active: "inactive", sub: "dead" },
    });
    if (cfg.service?.type === "idle") this.idleUnits.push(cfg.name);
  }

  // ---- names: aliases, and instances of templates made when named ---------------------

  /**
   * The loaded unit `name` stands for: itself, the unit it is an alias of, or an instance
   * of a template, made now (with the instances it names in requires, binds_to and wants:
   * systemd loads them with it). Null: no such unit. Instances made here go again once
   * they are inactive with no job and nothing pulls them in (collectInstances).
   */
  resolve(name: string): string | null {
    if (this.units.has(name)) return name;
    const alias = this.catalog.aliasOf(name);
    if (alias !== null) return this.units.has(alias) ? alias : null;
    if (this.made.size >= MAX_MADE_INSTANCES) this.collectInstances(); // names that were only looked at
    const made = new Map<string, UnitConfig>();
    const make = (n: string) => {
      if (this.units.has(n) || made.has(n) || this.made.size + made.size >= MAX_MADE_INSTANCES) return;
      const cfg = this.catalog.instantiate(n);
      if (cfg === null) return;
      made.set(n, cfg);
      for (const d of [...cfg.unit.requires, ...cfg.unit.binds_to, ...cfg.unit.wants]) make(d);
    };
    make(name);
    for (const cfg of made.values()) this.addRuntime(cfg, this.now);
    for (const cfg of made.values()) {
      addToGraph(this.graph, cfg, (n) => this.units.has(n));
      this.made.add(cfg.name);
    }
    return made.has(name) ? name : null;
  }

  /** Instances made at run time that are done: they go, as systemd collects unneeded units. */
  private collectInstances() {
    for (const name of this.made) {
      const u = this.units.get(name);
      const node = this.graph.get(name);
      if (u && (u.job || this.activeState(name) !== "inactive")) continue;
      if (node && (node.requiredBy.size > 0 || [...this.graph.values()].some((n) => n.wants.has(name)))) continue;
      this.made.delete(name);
      this.units.delete(name);
      removeFromGraph(this.graph, name);
      this.effects.push({ type: "instance-removed", unit: name, connection: null });
    }
  }

  // ---- queries ------------------------------------------------------------------------

  activeState(name: string): ActiveState | null {
    const u = this.units.get(name);
    return u ? this.kinds[u.kind].active(u) : null;
  }

  subState(name: string): string {
    const u = this.units.get(name)!;
    return this.kinds[u.kind].sub(u);
  }

  // ---- kinds of units -----------------------------------------------------------------

  private readonly kinds: Record<UnitKindName, UnitKind> = (() => {
    const target: UnitKind = {
      active: (u) => (u.targetActive ? "active" : "inactive"),
      sub: (u) => (u.targetActive ? "active" : "dead"),
      start: (u) => this.setTargetActive(u, true),
      stop: (u) => this.setTargetActive(u, false),
      words: { started: "Reached target", failedTo: "Failed to start", stopped: null },
    };
    const trigger: UnitKind = {
      active: (u) => this.triggers.active(u.cfg.name),
      sub: (u) => this.triggers.sub(u.cfg.name),
      start: (u) => {
        if (this.activeState(u.cfg.name) === "active") return this.completeJob(u, "done", "already active");
        this.triggers.start(u.cfg.name, this.triggerHost);
      },
      stop: (u) => this.triggers.stop(u.cfg.name, this.triggerHost),
      words: { started: "Started", failedTo: "Failed to start", stopped: "Stopped" },
    };
    return {
      target,
      // A device unit is active ("plugged") while the kernel has the device: the device
      // event sets it. A start waits for it (up to DEVICE_TIMEOUT_MS); a stop changes nothing.
      device: {
        active: (u) => (u.targetActive ? "active" : "inactive"),
        sub: (u) => (u.targetActive ? "plugged" : "dead"),
        start: (u) => {
          if (u.targetActive) return this.completeJob(u, "done", "plugged");
          u.deviceTimer = this.nextTimer++;
          this.emit({ type: "set-timer", unit: u.cfg.name, kind: "device", ms: DEVICE_TIMEOUT_MS, id: u.deviceTimer });
        },
        stop: (u) => this.completeJob(u, "done", "a device unit follows the kernel", false),
        words: { started: "Found device", failedTo: "Timed out waiting for device", stopped: null },
      },
      timer: trigger,
      path: trigger,
      // An accept = true unit behaves as a target (its instances are the services); it is
      // active while it accepts: "listening", as a systemd socket unit.
      template: { ...target, sub: (u) => (u.targetActive ? "listening" : "dead") },
      service: {
        active: (u) => svc.serviceActiveState(u.service!.sub, u.cfg.service!),
        sub: (u) => u.service!.sub,
        start: (u) => {
          if (this.activeState(u.cfg.name) === "active") return this.completeJob(u, "done", "already active");
          svc.startService(u.service!, this.port(u.cfg.name, u.cfg.service!), u.job?.automatic ?? false);
        },
        stop: (u) => {
          const state = this.activeState(u.cfg.name);
          if (state === "inactive" || state === "failed") return this.completeJob(u, "done", "inactive");
          svc.stopService(u.service!, this.port(u.cfg.name, u.cfg.service!), u.job?.thenStart === true);
        },
        words: { started: "Started", failedTo: "Failed to start", stopped: "Stopped" },
      },
      mount: {
        active: (u) => u.mountState,
        sub: (u) => MOUNT_SUB_STATE[u.mountState],
        start: (u) => {
          if (u.mountState === "active") return this.completeJob(u, "done", "already mounted");
          this.setMountState(u, "activating");
          this.emit({ type: "mount", unit: u.cfg.name, op: "mount", entry: u.cfg.mount! });
        },
        stop: (u) => {
          if (u.mountState !== "active") {
            u.mountState = "inactive";
            return this.completeJob(u, "done", "not mounted");
          }
          this.setMountState(u, "deactivating");
          this.emit({ type: "mount", unit: u.cfg.name, op: "unmount", entry: u.cfg.mount! });
        },
        words: { started: "Mounted", failedTo: "Failed to mount", stopped: "Unmounted" },
      },
    };
  })();

  private setTargetActive(u: UnitRuntime, on: boolean) {
    u.targetActive = on;
    u.targetSince = this.now;
    this.emit({ type: "state-changed", unit: u.cfg.name, active: on ? "active" : "inactive", sub: this.kinds[u.kind].sub(u) });
  }

  /** Which unit a pid belongs to, by its main or control pid. */
  unitOfPid(pid: number): string | null {
    for (const u of this.units.values()) {
      if (u.service && (u.service.mainPid === pid || u.service.controlPid === pid)) return u.cfg.name;
    }
    return null;
  }

  /** The unit a process belongs to: its main/control pid, its cgroup, or the session or group it is in. */
  private unitOfOrigin(o: ProcessOrigin): string | null {
    const direct = this.unitOfPid(o.pid);
    if (direct !== null) return direct;
    if (o.cgroupUnit !== null && this.units.has(o.cgroupUnit)) return o.cgroupUnit;
    if (o.sid !== null) {
      const bySession = this.unitOfPid(o.sid);
      if (bySession !== null) return bySession;
    }
    return o.pgid === null ? null : this.unitOfPid(o.pgid);
  }

  /** A read-only copy of what the engine knows of a unit, for readers outside it. */
  snapshot(name: string): UnitSnapshot | null {
    const u = this.units.get(name);
    if (!u) return null;
    const s = u.service;
    const node = this.graph.get(name);
    const snap: UnitSnapshot = {
      name, config: u.cfg,
      kind: u.kind,
      active: this.activeState(name)!, sub: this.subState(name),
      result: s?.result ?? "success",
      job: u.job ? { type: u.job.thenStart ? "restart" : u.job.reportAs ?? u.job.type, running: u.job.running } : null,
      mainPid: s?.mainPid ?? null, controlPid: s?.controlPid ?? null,
      since: s ? s.since : this.triggers.since(name) ?? u.targetSince,
      activatingAt: u.activatingAt, activeAt: u.activeAt,
      firstActivatingAt: u.firstActivatingAt, firstActiveAt: u.firstActiveAt,
      statusText: s?.statusText ?? "", errno: s?.errno ?? null,
      restarts: s?.restartTimes.length ?? 0, nRestarts: s?.restartsTotal ?? 0,
      unmet: u.unmet === null ? null : { ...u.unmet },
      exits: (s?.exits ?? []).map((e) => ({ ...e, logTail: e.logTail ? [...e.logTail] : undefined })),
      after: [...(node?.after ?? [])].sort(), requires: [...(node?.requires ?? [])].sort(), wants: [...(node?.wants ?? [])].sort(),
    };
    if (this.pending.has(name)) snap.changedOnDisk = true;
    if (this.isTemplate(name)) {
      const connected = [...this.activation.instances.values()].filter((i) => i.template === name).length;
      snap.template = { accepted: this.activation.acceptedCount(name), connected };
    }
    const trigger = this.triggers.snapshot(name, this.now);
    if (trigger) snap.trigger = trigger;
    if (trigger && trigger.result !== "success") snap.result = trigger.result as UnitResult;
    const instance = this.instanceOf(name);
    if (instance) snap.instance = { template: instance.template, connection: instance.connection };
    return snap;
  }

  /** Every unit's snapshot, by name. */
  snapshots(): UnitSnapshot[] {
    return [...this.units.keys()].sort().map((n) => this.snapshot(n)!);
  }

  // ---- dispatch -------------------------------------------------------------------------

  /**
   * Apply one event; returns the effects for the shell, in order. A bug while handling it
   * is caught: what was emitted before it still holds (a process spawned is real) and is
   * returned, with the error as a manager-log effect.
   */
  handle(event: EngineEvent, now: number): Effect[] {
    this.now = now;
    this.activationHost.now = now;
    this.triggerHost.now = now;
    this.effects = [];
    try {
      this.apply(event);
      this.runJobs();
      this.releaseIdle();
      this.activation.collectInstances(this.activationHost);
      if (this.made.size > 0) this.collectInstances();
      if (this.removing.size > 0) reload().collectRemoved(this.reloadPort);
      this.activation.syncListening(this.activationHost);
    } catch (e) {
      this.effects.push({ type: "manager-log", level: "err", text: `internal error handling ${event.type} event: ${(e as Error).stack ?? e}` });
    }
    return this.effects;
  }

  private apply(ev: EngineEvent) {
    switch (ev.type) {
      case "request": return this.request(ev.job, ev.unit, ev.requestId);
      case "reset-failed": return this.resetFailed(ev.unit);
      case "going-down":
        this.goingDown = true;
        this.triggerHost.goingDown = true;
        return this.activation.freeze();
      case "spawned": {
        const u = this.units.get(ev.unit);
        if (u && ev.role === "main") u.processGroup = ev.pid; // the spawner makes it a session leader
        return this.withService(ev.unit, (rt, p) => svc.onSpawned(rt, p, ev.role, ev.pid));
      }
      case "spawn-failed": return this.withService(ev.unit, (rt, p) => svc.onSpawnFailed(rt, p, ev.role, ev.error));
      case "exited": {
        const unit = this.unitOfPid(ev.pid);
        if (unit) this.withService(unit, (rt, p) => svc.onExited(rt, p, ev.pid, ev.status, this.signalName));
        return;
      }
      case "notify": return this.onNotify(ev);
      case "timer":
        if (ev.kind === "accept") return this.activation.acceptPauseOver(ev.unit);
        if (ev.kind === "device") return this.deviceTimedOut(ev.unit, ev.id);
        if (ev.kind === "restart" && this.checkBeforeRestart(ev.unit, ev.id)) return;
        return this.withService(ev.unit, (rt, p) => svc.onTimer(rt, p, ev.kind, ev.id));
      case "pid-file": return this.withService(ev.unit, (rt, p) => svc.onPidFile(rt, p, ev.pid, ev.error));
      case "readiness-fd": return this.withService(ev.unit, (rt, p) => svc.onReadinessFd(rt, p));
      case "mount-done": return this.onMountDone(ev.unit, ev.op, ev.error);
      case "sockets-opened": return this.socketsOpened(ev.units, ev.failed);
      case "socket-triggered": return this.activation.triggered(ev.unit, ev.index, this.activationHost);
      case "connection":
        return this.activation.connection(ev.unit, ev.index, ev.connection, ev.source, ev.ends, this.activationHost);
      case "main-pid-guess": return this.withService(ev.unit, (rt, p) => svc.onMainPidGuess(rt, p, ev.candidates, ev.populated));
      case "cgroup-empty": return this.withService(ev.unit, (rt, p) => svc.onCgroupEmpty(rt, p));
      case "accept-failed":
        return this.activation.acceptFailed(ev.unit, ev.index, ev.error, this.nextTimer++, this.activationHost);
      case "exit-log": {
        const rec = this.units.get(ev.unit)?.service?.exits.find((r) => r.time === ev.time && r.logTail === undefined);
        if (rec) rec.logTail = ev.lines;
        return;
      }
      case "leftovers-survived": return this.leftoversSurvived(ev.unit, ev.processes);
      case "conditions-checked": return this.onConditionsChecked(ev.unit, ev.id, ev.results);
      case "device": return this.devicePlugged(ev.unit, ev.plugged);
      case "configuration-replaced": return reload().replaceConfiguration(this.reloadPort, ev.units, ev.notFound, ev.catalog);
      case "bus-name-owner":
        for (const u of this.units.values()) {
          if (u.cfg.service?.bus_name === ev.name) this.withService(u.cfg.name, (rt, p) => svc.onBusNameOwner(rt, p, ev.owner));
        }
        return;
      case "clock": case "timer-elapsed": case "path-triggered": return this.triggers.handle(ev, this.triggerHost);
    }
  }

  /**
   * A notification: matched to its unit here; the fds it carried are kept in the unit's
   * fd store if notify_access lets the sender talk, else closed.
   */
  private onNotify(ev: Extract<EngineEvent, { type: "notify" }>) {
    const unit = this.unitOfOrigin(ev.origin);
    const u = unit === null ? undefined : this.units.get(unit);
    if (unit === null || !u?.service || !u.cfg.service) {
      if (ev.fds.length > 0) this.emit({ type: "close-fds", fds: ev.fds });
      this.emit({ type: "notify-refused", unit: null, pid: ev.pid, uid: ev.uid, reason: "belongs to no unit: dropped" });
      return;
    }
    const cfg = u.cfg.service;
    if (svc.notifyAllowed(u.service, cfg, ev.pid)) {
      if (ev.msg.fdStoreRemove && ev.msg.fdName !== undefined) this.emit({ type: "remove-stored-fds", unit, name: ev.msg.fdName });
      if (ev.fds.length > 0) {
        this.emit({ type: "store-fds", unit, fds: ev.fds, max: cfg.fd_store_max ?? 0, name: ev.msg.fdName ?? "stored", poll: ev.msg.fdPoll ?? true });
      }
    } else if (ev.fds.length > 0) {
      this.emit({ type: "close-fds", fds: ev.fds }); // the refusal of the message is logged below
    }
    const claim = ev.claimed === null ? null : { inUnit: this.unitOfOrigin(ev.claimed) === unit, alive: ev.claimed.alive };
    this.withService(unit, (rt, p) => {
      const verdict = svc.onNotify(rt, p, ev.pid, ev.uid, ev.msg, claim);
      if (!verdict.accepted) this.emit({ type: "notify-refused", unit, pid: ev.pid, uid: ev.uid, reason: verdict.reason });
    });
  }

  /**
   * The kernel has a device unit's device, or no longer has it. A change no job asked for
   * starts what the device wants and requires (systemd's retroactively_start_dependencies:
   * wanted_by = ["dev-ttyUSB0.device"] starts with the device); a device gone stops the
   * units bound to it (onStateChanged).
   */
  private devicePlugged(name: string, plugged: boolean) {
    const u = this.units.get(name);
    if (u?.kind !== "device" || u.targetActive === plugged) return;
    this.clearDeviceTimer(u);
    const expected = u.job !== null; // a start job waiting for it: its dependencies are pulled in already
    this.setTargetActive(u, plugged);
    if (!plugged || expected) return; // the waiting job says "Found device" as it completes
    this.emit({ type: "console", unit: name, status: "ok", text: `Found device ${this.label(u)}.` });
    if (!this.goingDown) this.startTransaction(name, undefined, false);
  }

  private deviceTimedOut(name: string, id: number) {
    const u = this.units.get(name);
    if (!u || u.deviceTimer !== id) return;
    u.deviceTimer = null;
    if (u.job?.type !== "start" || !u.job.running || u.targetActive) return;
    this.completeJob(u, "timeout", `the kernel did not announce it within ${DEVICE_TIMEOUT_MS / 1000}s`);
    // Units bound to it that started without waiting for it (binds_to without after) cannot
    // stay up without it (systemd's unit_check_binds_to stops them).
    this.stopBoundUnits(name);
  }

  private clearDeviceTimer(u: UnitRuntime) {
    if (u.deviceTimer === null) return;
    u.deviceTimer = null;
    this.emit({ type: "clear-timer", unit: u.cfg.name, kind: "device" });
  }

  /** Without cgroups a stop cannot reach processes that left the unit's process group: say so. */
  private leftoversSurvived(name: string, processes: { pid: number; name: string }[]) {
    const u = this.units.get(name);
    if (!u || processes.length === 0) return;
    const shown = processes.slice(0, 10).map((p) => `${p.pid} (${p.name})`).join(", ");
    const more = processes.length > 10 ? ` and ${processes.length - 10} more` : "";
    const text = `${processes.length} process(es) left its process group and survived its stop (no cgroups to find them): ${shown}${more}`;
    this.emit({ type: "log", unit: name, level: "warning", text });
    this.emit({ type: "console", unit: name, status: "warning", text: `${this.label(u)}: ${text}` });
  }

  /** A mount unit's effect finished: mounted (or not), or unmounted (a failure is logged, the unit goes down all the same). */
  private onMountDone(name: string, op: "mount" | "unmount", error?: string) {
    const u = this.units.get(name);
    if (!u?.cfg.mount) return;
    if (op === "mount" && u.mountState === "activating") {
      if (error !== undefined) this.emit({ type: "log", unit: name, level: "err", text: `Mounting ${u.cfg.mount.where} failed: ${error}` });
      u.mountError = error ?? null;
      this.setMountState(u, error === undefined ? "active" : "failed");
    } else if (op === "unmount" && u.mountState === "deactivating") {
      if (error !== undefined) this.emit({ type: "log", unit: name, level: "warning", text: `Unmounting ${u.cfg.mount.where} failed: ${error}` });
      this.setMountState(u, "inactive");
    }
  }

  private setMountState(u: UnitRuntime, state: ActiveState) {
    u.mountState = state;
    this.emit({ type: "state-changed", unit: u.cfg.name, active: state, sub: MOUNT_SUB_STATE[state] });
  }

  private readonly triggerHost: TriggerHost = {
    now: 0, // set on every event: see handle()
    goingDown: false,
    state: (name) => {
      const u = this.units.get(name);
      return u ? { active: this.activeState(name)!, job: u.job !== null } : null;
    },
    start: (name) => this.startTransaction(name, undefined, false),
    emit: (e) => this.emit(e),
  };

  // ---- socket activation (src/engine/activation.ts) -------------------------------------

  private readonly activationHost: ActivationHost = {
    now: 0, // set on every event: see handle()
    state: (name) => {
      const u = this.units.get(name);
      if (!u) return null;
      return { active: this.activeState(name)!, result: u.service?.result ?? null, job: u.job !== null };
    },
    config: (name) => this.units.get(name)?.cfg ?? null,
    instantiate: (name) => this.units.has(name) ? null : this.catalog.instantiate(name),
    missingReason: (name) => this.missingReason(name),
    start: (name) => { if (!this.goingDown) this.startTransaction(name, undefined, false); },
    addUnit: (cfg) => {
      // The instances it names (db@%i) are made first, so that its edges reach them.
      for (const d of [...cfg.unit.requires, ...cfg.unit.binds_to, ...cfg.unit.wants]) this.resolve(d);
      this.addRuntime(cfg, this.now);
      addToGraph(this.graph, cfg, (n) => this.units.has(n));
    },
    removeUnit: (name) => {
      this.units.delete(name);
      const idle = this.idleUnits.indexOf(name);
      if (idle >= 0) this.idleUnits.splice(idle, 1); // an instance of an idle template
      removeFromGraph(this.graph, name);
    },
    emit: (e) => this.emit(e),
  };

  /**
   * The shell made the sockets of `units`; a unit whose socket failed fails with it. An
   * accept = true unit whose sockets are all made is active: it accepts from now on
   * (stopping it pauses the accepting, starting it resumes).
   */
  private socketsOpened(units: string[], failed: { unit: string; index: number; error: string }[]) {
    this.activation.opened(units, failed);
    for (const u of this.units.values()) if (u.job) this.wake(u.cfg.name); // starts that waited for a retry
    for (const name of this.activation.templatesOf(units)) {
      const u = this.units.get(name);
      if (!u || u.targetActive || u.job || this.activation.brokenReason(name) !== null) continue;
      this.setTargetActive(u, true);
    }
    for (const f of failed) {
      const service = this.units.get(f.unit)?.cfg.sockets[f.index]?.service ?? f.unit;
      for (const name of new Set([f.unit, service])) {
        this.withService(name, (rt, p) => svc.failWithoutRunning(rt, p, `Socket failed: ${f.error}`));
      }
    }
  }

  /** The accept = true instance a unit is, if it is one. */
  instanceOf(name: string) {
    return this.activation.instances.get(name);
  }

  isTemplate(name: string): boolean {
    return this.activation.templates.has(name);
  }

  // ---- daemon-reexec (./serialize.ts) --------------------------------------------------

  private static readonly STATE_FIELDS = [
    "units", "graph", "nextJobId", "nextTimer", "nextConditionCheck", "runQueue", "idleUnits",
    "startupReported", "goingDown", "made", "pending", "removing",
  ];

  /** Everything the engine knows, for the binary execed next (encodeState makes it text). */
  exportState(): EngineState {
    return {
      format: "hearth-engine-state", version: serialize().ENGINE_STATE_VERSION, now: this.now,
      engine: serialize().pick(this, Engine.STATE_FIELDS), activation: this.activation.exportState(), triggers: this.triggers.exportState(),
    };
  }

  /**
   * The state of the process before the exec, into an engine built on its configurations
   * (configsOf). Nothing is spawned: the processes run on. The shell's timers, cgroup
   * watches and socket watches are the old process's: the effects returned ask for them
   * again. A condition check under way is asked again. Throws on a malformed state.
   */
  importState(state: EngineState, now: number): Effect[] {
    this.now = now;
    this.activationHost.now = now;
    this.triggerHost.now = now;
    this.effects = [];
    serialize().place(this, state.engine, Engine.STATE_FIELDS, "engine");
    this.triggerHost.goingDown = this.goingDown;
    for (const [name, u] of this.units) {
      if (u.job) u.job.requestIds = []; // their connections were the old process's
      const s = u.service;
      if (s) {
        for (const kind of Object.keys(s.timerIds) as TimerKind[]) {
          this.emit({ type: "set-timer", unit: name, kind, ms: Math.max(0, (s.deadlines[kind] ?? now) - now), id: s.timerIds[kind]! });
        }
        if (s.cgroupTracked) this.emit({ type: "watch-cgroup", unit: name });
      }
      if (u.deviceTimer !== null) this.emit({ type: "set-timer", unit: name, kind: "device", ms: DEVICE_TIMEOUT_MS, id: u.deviceTimer });
      if (u.conditionCheck !== null) this.emit({ type: "check-conditions", unit: name, id: u.conditionCheck, conditions: u.cfg.conditions ?? [] });
      u.restartCheck ??= null; // a state from before restart checks
      if (u.restartCheck !== null) this.emit({ type: "check-conditions", unit: name, id: u.restartCheck, conditions: u.cfg.conditions ?? [] });
    }
    this.activation.importState(state.activation, () => this.nextTimer++, this.activationHost);
    this.triggers.importState(state.triggers, this.triggerHost);
    this.activation.syncListening(this.activationHost);
    return this.effects;
  }

  private emit(e: Effect) {
    // On the way down a unit's failure asks for nothing more: the way down is under way.
    if (e.type === "emergency-action" && this.goingDown) return;
    if (e.type === "spawn") e = { ...e, context: this.spawnContext(e.unit, e.role === "main") };
    // A console line per connection would drown the console: instances log instead.
    if (e.type === "console" && this.activation.instances.has(e.unit)) {
      e = { type: "log", unit: e.unit, level: e.status === "ok" || e.status === "info" ? "debug" : "warning", text: e.text };
    }
    if (e.type !== "state-changed") return void this.effects.push(e);
    this.onStateChanged(e.unit, e.active, e.sub);
    this.effects.push(e);
    this.cleanUpAfter(e.unit, e.active, e.sub);
    if (this.pending.size > 0) reload().settleChanged(this.reloadPort, e.unit, e.active, e.sub);
  }

  /** daemon-reload's view of the engine (./reload.ts decides). */
  private readonly reloadPort: ReloadPort = {
    configured: () => {
      const out = new Map<string, UnitConfig>();
      for (const [name, u] of this.units) {
        if (!this.made.has(name) && !this.activation.instances.has(name)) out.set(name, this.pending.get(name) ?? u.cfg);
      }
      return out;
    },
    current: (name) => this.units.get(name)!.cfg,
    pending: this.pending,
    removing: this.removing,
    state: (name) => ({ active: this.activeState(name) ?? "inactive", job: this.units.get(name)?.job != null }),
    runsNothing: (name, next) => {
      const kind = this.units.get(name)?.kind;
      return (kind === "target" || kind === "device" || kind === "template") && kindOf(next) === kind;
    },
    add: (cfg) => {
      this.addRuntime(cfg, this.now);
      if (cfg.sockets.length > 0) this.remakeSockets(cfg.name, cfg);
    },
    apply: (name, cfg) => {
      const u = this.units.get(name)!;
      const socketsChanged = JSON.stringify(u.cfg.sockets) !== JSON.stringify(cfg.sockets);
      if (kindOf(cfg) !== u.kind) this.addRuntime(cfg, this.now);
      else {
        u.cfg = cfg;
        if (u.service && cfg.service) u.service.watchdogMs = cfg.service.watchdog_sec * 1000;
      }
      if (socketsChanged) this.remakeSockets(name, cfg);
    },
    forget: (name) => {
      const cfg = this.units.get(name)?.cfg;
      this.units.delete(name);
      removeFromGraph(this.graph, name);
      if (cfg && cfg.sockets.length > 0) this.remakeSockets(name, null);
      this.effects.push({ type: "unit-removed", unit: name });
    },
    rebuildGraph: () => {
      const configs = new Map([...this.units].map(([name, u]) => [name, this.pending.get(name) ?? u.cfg]));
      const rebuilt = buildGraph(configs);
      this.graph.clear();
      for (const [name, node] of rebuilt) this.graph.set(name, node);
    },
    pulledInByActive: (name) => {
      for (const [other, node] of this.graph) {
        if (!node.wants.has(name) && !node.requires.has(name) && !node.bindsTo.has(name)) continue;
        const active = this.activeState(other);
        if (active === "active" || active === "activating" || active === "reloading") return true;
      }
      return false;
    },
    start: (name) => { if (!this.goingDown) this.startTransaction(name, undefined, false); },
    stop: (name) => this.stopTransaction(name, undefined, false),
    setLookups: (notFound, catalog) => {
      this.notFound = notFound;
      this.catalog = catalog ?? NO_CATALOG;
    },
    emit: (e) => this.effects.push(e),
  };

  /** The unit's sockets as `cfg` has them (null: none): the engine's entries now, the shell's with remake-sockets. */
  private remakeSockets(name: string, cfg: UnitConfig | null) {
    this.activation.replaceUnit(name, cfg);
    this.effects.push({ type: "remake-sockets", unit: name, config: cfg });
  }

  /** Everything the shell needs to spawn a process of the unit (it reads no engine state). */
  private spawnContext(name: string, main: boolean): SpawnContext {
    const u = this.units.get(name)!;
    const instance = this.activation.instances.get(name);
    const logUnit = instance?.template ?? name;
    const watchdogMs = u.service?.watchdogMs ?? 0;
    return {
      config: u.cfg, logUnit, logConfig: this.units.get(logUnit)?.cfg ?? u.cfg,
      watchdogUsec: main && watchdogMs > 0 ? watchdogMs * 1000 : 0,
      mainPid: main ? null : u.service?.mainPid ?? null,
      connection: instance?.connection ?? null,
    };
  }

  /**
   * A service went down (or its main process is gone and a restart is due): what it left
   * behind goes (systemd's control-group and mixed kill modes), so a restart starts clean
   * and a stop leaves nothing running; its runtime directories go as preserve says; then,
   * unless it comes back at once, its fd store, readiness pipe and cgroup go too. Emitted
   * right after the state change, before any spawn of a start that follows (a restart), so
   * no leftover of the old run survives it.
   */
  private cleanUpAfter(name: string, active: ActiveState, sub: string) {
    const u = this.units.get(name);
    const cfg = u?.cfg.service;
    if (!u?.service || !cfg) return;
    const down = active === "inactive" || active === "failed";
    if (!down && sub !== "auto-restart") return;
    const keepsLeftovers = cfg.kill_mode === "process" || (cfg.type === "oneshot" && cfg.remain_after_exit);
    // send_sigkill = false: what is left runs on; its cgroup goes once it is empty.
    if (!keepsLeftovers && cfg.send_sigkill !== false && cfg.kill_mode !== "none") {
      this.effects.push({ type: "kill-leftovers", unit: name, processGroup: u.processGroup });
      u.processGroup = null; // never signal a process group whose pid may be reused
    }
    // systemd's unit_destroy_runtime_directory: "restart" keeps them while a start follows
    // (an automatic restart, or the start half of a restart job).
    const runtimeDirs = cfg.runtime_directory ?? [];
    const preserve = cfg.runtime_directory_preserve ?? "no";
    if (runtimeDirs.length > 0 && (preserve === "no" || (preserve === "restart" && down && !u.job))) {
      this.effects.push({ type: "remove-runtime-directories", unit: name, directories: runtimeDirs });
    } else if (runtimeDirs.length > 0 && preserve === "restart") {
      u.runtimeDirsKept = true;
    }
    if (!down) return;
    if (usesNamespaces(cfg)) this.effects.push({ type: "release-sandbox", unit: name });
    if (cfg.remove_ipc && (cfg.user !== null || cfg.group !== null) && !this.ipcOwnerStillRuns(name, cfg)) {
      this.effects.push({ type: "remove-ipc", unit: name, user: cfg.user, group: cfg.group });
    }
    if (cfg.load_credential?.length || cfg.set_credential?.length) this.effects.push({ type: "remove-credentials", unit: name });
    if (cfg.notification_fd !== null) this.effects.push({ type: "close-readiness-fd", unit: name });
    // systemd resets the terminal after the unit too (exec_context_revert_tty).
    if (cfg.tty_reset || cfg.tty_vhangup || cfg.tty_vt_disallocate) {
      this.effects.push({
        type: "reset-terminal", unit: name, path: cfg.tty_path ?? "/dev/console",
        reset: cfg.tty_reset ?? false, vhangup: cfg.tty_vhangup ?? false, vtDisallocate: cfg.tty_vt_disallocate ?? false,
      });
    }
    // The fd store outlives restarts (auto-restart, or a restart job), not a real stop.
    if (!u.job) this.effects.push({ type: "release-fd-store", unit: name });
    if (!keepsLeftovers) this.effects.push({ type: "remove-cgroup", unit: name });
  }

  /**
   * remove_ipc waits for the last unit of its user or group, as systemd's reference count
   * on them: true while another unit running as the same user (or group) is not down.
   */
  private ipcOwnerStillRuns(name: string, cfg: ServiceSection): boolean {
    for (const [other, u] of this.units) {
      const o = u.cfg.service;
      if (other === name || !o || !u.service) continue;
      const same = (cfg.user !== null && o.user === cfg.user) || (cfg.group !== null && o.group === cfg.group);
      const state = this.activeState(other);
      if (same && state !== "inactive" && state !== "failed") return true;
    }
    return false;
  }

  private port(name: string, cfg: ServiceSection): svc.ServicePort {
    return {
      unit: name, cfg, now: this.now, nextTimerId: () => this.nextTimer++, emit: (e) => this.emit(e),
      managerPid: this.managerPid, monotonicOffsetMs: this.monotonicOffsetMs,
    };
  }

  private withService(name: string, fn: (rt: svc.ServiceRuntime, p: svc.ServicePort) => void) {
    const u = this.units.get(name);
    if (!u?.service || !u.cfg.service) return;
    fn(u.service, this.port(name, u.cfg.service));
  }

  // ---- jobs -----------------------------------------------------------------------------

  private request(type: JobType, asked: string, requestId?: number) {
    const name = this.resolve(asked) ?? asked;
    const u = this.units.get(name);
    if (!u) {
      this.finish({ unit: name, job: type, result: "failed", requestId, reason: `unit ${name} not found` });
      return;
    }
    const refused = manualJobRefusal(u.cfg.unit, type);
    if (refused !== null) return this.finish({ unit: name, job: type, result: "failed", requestId, reason: refused });
    switch (type) {
      case "start": return this.startTransaction(name, requestId);
      case "isolate": return this.isolate(u, requestId);
      case "stop": return this.stopTransaction(name, requestId, false);
      case "restart": return this.stopTransaction(name, requestId, true);
      case "reload": {
        this.propagateReload(name, new Set([name]));
        if (!u.service) return this.finish({ unit: name, job: "reload", result: "unsupported", requestId, reason: "targets cannot be reloaded" });
        const verdict = svc.reloadService(u.service, this.port(name, u.cfg.service!));
        if (verdict === "started") {
          u.job = { id: this.nextJobId++, type: "reload", unit: name, running: true, requestIds: requestId ? [requestId] : [] };
        } else {
          const reason = verdict === "unsupported" ? "unit has no exec_reload" : "unit is not active";
          this.finish({ unit: name, job: "reload", result: verdict === "unsupported" ? "unsupported" : "failed", requestId, reason });
        }
        return;
      }
    }
  }

  /**
   * Pull in the unit and, recursively, what it requires and wants; stop what conflicts.
   * `manual`: the operator's start, which clears the crash-loop counters of the unit;
   * `as`: what the request asked for (a start, or an isolate), as the answer names it.
   */
  private startTransaction(name: string, requestId?: number, manual = true, as: JobType = "start") {
    this.walk(name, (node) => [...node.requires, ...node.wants], (u, node, anchor) => {
      const n = u.cfg.name;
      const state = this.activeState(n);
      const rid = anchor ? requestId : undefined;
      if (state === "active" || state === "reloading") {
        if (anchor) this.finish({ unit: n, job: as, result: "done", requestId: rid, reason: "already active" });
      } else if (u.job?.type === "start") {
        if (rid) u.job.requestIds.push(rid);
      } else {
        // The operator's start of this very unit clears its crash loop (the service does,
        // at its start); units pulled in with it keep theirs.
        if (anchor && manual) this.activation.clearTriggerLimit(n);
        if (anchor && manual) this.retrySockets(n);
        this.replaceJob(u, {
          id: this.nextJobId++, type: "start", unit: n, running: false, requestIds: rid ? [rid] : [],
          automatic: !(anchor && manual), ...(anchor && as !== "start" ? { reportAs: as } : {}),
        });
      }
      for (const c of node.conflicts) this.stopTransaction(c, undefined, false);
    });
  }

  /**
   * `hearth ctl isolate`: start the unit with everything it pulls in (requires, binds_to,
   * wants, recursively) and stop every other unit, as systemd's isolate job mode. Only a
   * unit with allow_isolate (systemd's AllowIsolate=); units with ignore_on_isolate, and
   * mount units (systemd's mount units ignore isolation), are left as they are.
   */
  private isolate(u: UnitRuntime, requestId?: number) {
    const name = u.cfg.name;
    if (!u.cfg.unit.allow_isolate) {
      return this.finish({ unit: name, job: "isolate", result: "failed", requestId, reason: `${name} may not be isolated: it has no allow_isolate = true` });
    }
    const kept = new Set<string>();
    this.walk(name, (node) => [...node.requires, ...node.wants], (v) => kept.add(v.cfg.name));
    for (const v of this.units.values()) {
      const n = v.cfg.name;
      if (kept.has(n) || v.cfg.unit.ignore_on_isolate || v.kind === "mount") continue;
      const state = this.activeState(n);
      if ((state === "inactive" || state === "failed") && v.job === null) continue;
      this.stopTransaction(n, undefined, false);
    }
    this.startTransaction(name, requestId, true, "isolate");
  }

  /** A start by hand makes again the sockets the unit needs that could not be made. */
  private retrySockets(name: string) {
    const units = this.activation.retry(name);
    if (units.length > 0) this.emit({ type: "retry-sockets", units });
  }

  /**
   * Stop the unit and, recursively, every unit that requires it or is part of it. A restart
   * (thenStart) restarts those that were up (systemd's try-restart of the units that
   * Requires=, BindsTo= or PartOf= it): they stop first and start again after it.
   */
  private stopTransaction(name: string, requestId: number | undefined, thenStart: boolean) {
    this.walk(name, (node) => [...node.requiredBy, ...node.consistsOf], (u, _node, anchor) => {
      const n = u.cfg.name;
      const state = this.activeState(n);
      const rid = anchor ? requestId : undefined;
      const idle = state === "inactive" || state === "failed";
      if (idle && !u.job && !(anchor && thenStart)) {
        if (anchor) this.finish({ unit: n, job: thenStart ? "restart" : "stop", result: "done", requestId: rid, reason: "already inactive" });
      } else if (u.job?.type === "stop") {
        if (rid) u.job.requestIds.push(rid);
        if (anchor && thenStart) u.job.thenStart = true;
      } else if (!anchor && thenStart && u.job?.type === "start" && !u.job.running) {
        // A dependent still waiting to start has nothing to restart: it starts after this one.
      } else {
        if (anchor && thenStart) this.retrySockets(n); // a restart by hand, as a start
        this.replaceJob(u, {
          id: this.nextJobId++, type: "stop", unit: n, running: false,
          requestIds: rid ? [rid] : [], thenStart, automatic: !anchor,
        });
      }
    });
  }

  /** Visit `name`, then what `next` leads to, each loaded unit once; `anchor` marks the first. */
  private walk(name: string, next: (node: UnitNode) => Iterable<string>,
    visit: (u: UnitRuntime, node: UnitNode, anchor: boolean) => void) {
    const seen = new Set<string>();
    const go = (n: string, anchor: boolean) => {
      if (seen.has(n)) return;
      seen.add(n);
      const u = this.units.get(n);
      const node = this.graph.get(n);
      if (!u || !node) return;
      visit(u, node, anchor);
      for (const d of next(node)) go(d, false);
    };
    go(name, true);
  }

  private replaceJob(u: UnitRuntime, job: Job) {
    const old = u.job;
    if (old?.irreversible && old.type !== job.type) {
      for (const rid of job.requestIds) {
        this.finish({ unit: u.cfg.name, job: job.type, result: "failed", requestId: rid, reason: `an irreversible ${old.type} job is queued` });
      }
      return;
    }
    if (old) {
      // The new job supersedes the old one; its waiters learn that it was canceled.
      for (const rid of old.requestIds) {
        this.finish({ unit: u.cfg.name, job: old.type, result: "canceled", requestId: rid, reason: `superseded by a ${job.type} job` });
      }
    }
    u.job = job;
    this.wake(u.cfg.name);
  }

  // ---- the run queue (systemd's run queue, dinit's process_queues) ----------------------

  /** The job of `name` may be able to run now (it is new, or what it waits for changed). */
  private wake(name: string) {
    this.runQueue.add(name);
  }

  /**
   * `name` changed its job or state: wake it, the units ordered after it (their starts
   * wait for its job and state) and those ordered before it (their stops wait for its).
   */
  private wakeNeighbours(name: string) {
    this.wake(name);
    const node = this.graph.get(name);
    if (!node) return;
    for (const d of node.before) this.wake(d);
    for (const d of node.after) this.wake(d);
  }

  /** Run every job the queue woke whose ordering allows it; a job that runs wakes others. */
  private runJobs() {
    for (const name of this.runQueue) {
      this.runQueue.delete(name);
      const u = this.units.get(name);
      const job = u?.job;
      if (!u || !job || job.running) continue;
      const verdict = job.type === "start" ? this.startVerdict(u) : this.stopVerdict(u);
      if (verdict === "wait") continue; // woken again when what it waits for changes
      if (verdict !== "run") {
        this.completeJob(u, "dependency", verdict.reason);
        continue;
      }
      job.running = true;
      if (job.type === "start") this.runStart(u);
      else this.runStop(u);
    }
  }

  private startVerdict(u: UnitRuntime): "wait" | "run" | { reason: string } {
    const node = this.graph.get(u.cfg.name)!;
    // A requirement that is not there fails the start at once, whatever the ordering: no
    // job could ever bring it up (systemd refuses the start with "Unit X not found").
    for (const d of node.requires) if (!this.units.has(d)) return { reason: this.missingReason(d) };
    const requisite = requisiteVerdict((u.cfg.unit.requisite ?? []).map((d) => ({
      name: d, state: this.activeState(d), starting: this.units.get(d)?.job?.type === "start", orderedAfter: node.after.has(d),
    })));
    if (requisite !== "run") return requisite;
    const state = this.activeState(u.cfg.name);
    if (state === "deactivating") return "wait";
    if (this.activation.retrying(u.cfg.name)) return "wait"; // its sockets are being made again
    // Ordering is between jobs (as in systemd): a unit that is busy without a job —
    // restarting on its own, say — does not hold up the units ordered after it.
    for (const d of node.after) if (this.units.get(d)?.job) return "wait";
    for (const d of node.requires) {
      const dep = this.units.get(d)!;
      if (!node.after.has(d)) continue; // no ordering: started side by side, its outcome does not matter
      const s = this.activeState(d);
      // A dependency skipped by its condition did not fail: units that require it start;
      // units bound to it do not, as they could not stay up without it (systemd).
      if (s === "inactive" && dep.unmet !== null && !dep.unmet.assert && !node.bindsTo.has(d)) continue;
      if (s !== "active" && s !== "reloading") {
        // A dependency whose own start was refused ran nothing: its result is still "success".
        const result = dep.service?.result ?? "success";
        const what = result !== "success" ? `failed (${result})` : s === "failed" ? "failed" : `was not started (${s})`;
        return { reason: `dependency ${d} ${what}` };
      }
    }
    return "run";
  }

  /** Why a unit required but not loaded cannot be started. */
  private missingReason(name: string): string {
    return this.notFound.has(name) ? `unit ${name} not found` : `unit ${name} has errors and is not loaded`;
  }

  private stopVerdict(u: UnitRuntime): "wait" | "run" {
    const node = this.graph.get(u.cfg.name)!;
    // Stop runs in reverse order: units ordered after this one stop first.
    for (const d of node.before) {
      const dep = this.units.get(d);
      if (dep?.job?.type === "stop") return "wait";
      if (dep?.job === null && this.activeState(d) === "deactivating") return "wait";
    }
    return "run";
  }

  private runStart(u: UnitRuntime) {
    const broken = this.activation.brokenReason(u.cfg.name);
    if (broken !== null) return this.completeJob(u, "failed", broken);
    const conditions = u.cfg.conditions ?? [];
    // Checked just before the start (systemd's unit_test_condition): the shell reads the
    // facts and answers with conditions-checked. An active unit has nothing to start.
    if (conditions.length > 0 && this.activeState(u.cfg.name) !== "active") {
      u.conditionCheck = this.nextConditionCheck++;
      this.emit({ type: "check-conditions", unit: u.cfg.name, id: u.conditionCheck, conditions });
      return;
    }
    this.beginStart(u);
  }

  /**
   * The answer to a unit's check-conditions. All hold: the start goes on. A condition does
   * not: the start is skipped, its job done, the unit left as it is (systemd's "start
   * condition unmet"). An assert does not: the start fails with it (job result "assert").
   */
  private onConditionsChecked(name: string, id: number, results: boolean[]) {
    const u = this.units.get(name);
    if (u && u.restartCheck === id) return this.onRestartConditionsChecked(u, results);
    if (!u || u.conditionCheck !== id) return; // an answer to a check no start waits for any more
    u.conditionCheck = null;
    if (u.job?.type !== "start" || !u.job.running) return;
    const verdict = judgeConditions(u.cfg.conditions ?? [], results);
    if (verdict.met) {
      u.unmet = null;
      return this.beginStart(u);
    }
    u.unmet = { assert: verdict.assert, text: verdict.text, at: this.now };
    if (verdict.assert) {
      this.emit({ type: "log", unit: name, level: "err", text: `Assertion failed: ${verdict.text}` });
      return this.completeJob(u, "assert", `assertion failed: ${verdict.text}`);
    }
    const text = `Condition check resulted in ${this.label(u)} being skipped: ${verdict.text}`;
    this.emit({ type: "log", unit: name, level: "info", text }); // the log only, as systemd: no console line
    this.completeJob(u, "done", `skipped: start condition unmet: ${verdict.text}`, false);
  }

  /**
   * A service with conditions whose restart delay is over: its conditions and asserts are
   * checked again first, as systemd's restart job does. False: no check (none to make, or
   * a stale timer), the timer goes to the service as usual.
   */
  private checkBeforeRestart(name: string, timerId: number): boolean {
    const u = this.units.get(name);
    const conditions = u?.cfg.conditions ?? [];
    if (!u?.service || conditions.length === 0 || !svc.takeRestartTimer(u.service, timerId)) return false;
    u.restartCheck = this.nextConditionCheck++;
    this.emit({ type: "check-conditions", unit: name, id: u.restartCheck, conditions });
    return true;
  }

  /** The answer for an automatic restart: all hold, it restarts; else it stays down, inactive, saying why. */
  private onRestartConditionsChecked(u: UnitRuntime, results: boolean[]) {
    u.restartCheck = null;
    const verdict = judgeConditions(u.cfg.conditions ?? [], results);
    const name = u.cfg.name;
    if (verdict.met) {
      u.unmet = null;
      return this.withService(name, (rt, p) => svc.autoRestart(rt, p));
    }
    if (u.service?.sub !== "auto-restart") return; // stopped or started meanwhile
    u.unmet = { assert: verdict.assert, text: verdict.text, at: this.now };
    const text = verdict.assert ? `Assertion failed: ${verdict.text}` : `Condition check resulted in ${this.label(u)} being skipped: ${verdict.text}`;
    this.emit({ type: "log", unit: name, level: verdict.assert ? "err" : "info", text: `${text}; no automatic restart` });
    this.withService(name, (rt, p) => svc.skipAutoRestart(rt, p));
  }

  /**
   * type = "idle" services wait until no other job is left (systemd closes its idle pipe
   * when the job queue is empty); their own start jobs are done already (they are active).
   */
  private releaseIdle() {
    if (this.idleUnits.length === 0) return;
    const waiting = this.idleUnits.filter((n) => this.units.get(n)?.service?.idleWait);
    if (waiting.length === 0) return;
    for (const u of this.units.values()) if (u.job) return;
    for (const name of waiting) this.withService(name, (rt, p) => svc.releaseIdle(rt, p));
  }

  private beginStart(u: UnitRuntime) {
    u.unmet = null; // its conditions hold (an exec_condition may still skip this start)
    u.runtimeDirsKept = false;
    u.activatingAt = this.now;
    u.firstActivatingAt ??= this.now;
    this.kinds[u.kind].start(u);
  }

  private runStop(u: UnitRuntime) {
    this.kinds[u.kind].stop(u);
  }

  /** Called for every active-state change: completes jobs, propagates binds_to. */
  private onStateChanged(name: string, active: ActiveState, sub: string) {
    const u = this.units.get(name)!;
    this.wakeNeighbours(name);
    this.triggers.targetChanged(name, this.triggerHost);
    if (active === "active" && u.activeAt === null) u.activeAt = this.now;
    if (active === "active") u.firstActiveAt ??= this.now;
    if (active === "activating") u.activeAt = null;
    const job = u.job;
    if (job?.running) {
      if (job.type === "start") {
        if (active === "active") this.completeJob(u, "done", "started");
        // A start that fails fails its job even when an automatic restart follows (systemd).
        else if (active === "failed" || sub === "auto-restart") this.completeJob(u, "failed", this.resultText(u));
        else if (active === "inactive" && u.service?.skipped) {
          // exec_condition said no: skipped as by a condition (the start did not fail).
          u.unmet = { assert: false, text: u.service.skipped, at: this.now };
          this.completeJob(u, "done", `skipped: ${u.service.skipped}`, false);
        } else if (active === "inactive") {
          // A oneshot without remain_after_exit ends inactive after success.
          const ok = (u.service?.result ?? "success") === "success"; // a timer with nothing to wait for too
          this.completeJob(u, ok ? "done" : "failed", ok ? "finished" : this.resultText(u));
        }
      } else if (job.type === "stop" && (active === "inactive" || active === "failed")) {
        this.completeJob(u, "done", "stopped");
      } else if (job.type === "reload" && active === "active") {
        const failure = u.service?.reloadFailure ?? null;
        this.completeJob(u, failure === null ? "done" : "failed", failure ?? "reloaded");
      } else if (job.type === "reload" && (active === "inactive" || active === "failed")) {
        this.completeJob(u, "failed", "stopped while reloading");
      }
    }
    // binds_to: units bound to this one go down with it.
    if (active === "inactive" || active === "failed") this.stopBoundUnits(name);
    const outcome = unitOutcome(u.cfg.unit, u.last, { active, sub }, u.service?.result ?? "success");
    u.last = { active, sub };
    if (outcome.startOnFailure && !this.goingDown) this.startOnFailure(u);
    if (outcome.action) this.emit({ type: "emergency-action", unit: name, ...outcome.action });
  }

  /**
   * reload_propagated_from: the active units that name `from` are reloaded with it (and
   * those that name them, each once), as systemd's ReloadPropagatedFrom=.
   */
  private propagateReload(from: string, seen: Set<string>) {
    for (const v of this.units.values()) {
      const n = v.cfg.name;
      if (seen.has(n) || !(v.cfg.unit.reload_propagated_from ?? []).includes(from)) continue;
      seen.add(n);
      const state = this.activeState(n);
      if (!v.service || (state !== "active" && state !== "reloading") || v.job) continue;
      this.emit({ type: "log", unit: n, level: "info", text: `Reloading with ${from} (reload_propagated_from)` });
      if (svc.reloadService(v.service, this.port(n, v.cfg.service!)) === "started") {
        v.job = { id: this.nextJobId++, type: "reload", unit: n, running: true, requestIds: [] };
      }
      this.propagateReload(n, seen);
    }
  }

  /** on_failure: start the units, by on_failure_job_mode (systemd's job modes). */
  private startOnFailure(u: UnitRuntime) {
    const mode = u.cfg.unit.on_failure_job_mode ?? "replace";
    for (const asked of u.cfg.unit.on_failure ?? []) {
      const name = this.resolve(asked);
      const target = name === null ? undefined : this.units.get(name);
      if (name === null || !target) {
        this.emit({ type: "log", unit: u.cfg.name, level: "warning", text: `on_failure: unit ${asked} not found` });
        continue;
      }
      if (mode === "isolate") {
        this.isolate(target);
        continue;
      }
      const affected: UnitRuntime[] = [];
      this.walk(name, (node) => [...node.requires, ...node.wants], (v) => affected.push(v));
      if (mode === "fail" && affected.some((v) => v.job?.type === "stop")) {
        this.emit({ type: "log", unit: u.cfg.name, level: "warning", text: `on_failure: ${name} not started: a stop job is queued (on_failure_job_mode = "fail")` });
        continue;
      }
      this.emit({ type: "log", unit: u.cfg.name, level: "info", text: `Triggering on_failure unit ${name}` });
      this.startTransaction(name, undefined, false);
      if (mode === "replace-irreversibly") for (const v of affected) if (v.job?.type === "start") v.job.irreversible = true;
    }
  }

  /** Stop the units bound to `name` that are up and not already stopping. */
  private stopBoundUnits(name: string) {
    for (const b of this.graph.get(name)?.boundBy ?? []) {
      const s = this.activeState(b);
      if (s !== "inactive" && s !== "failed" && this.units.get(b)?.job?.type !== "stop") this.stopTransaction(b, undefined, false);
    }
  }

  private resultText(u: UnitRuntime): string {
    if (u.mountError !== null) return u.mountError;
    const r: UnitResult | undefined = u.service?.result;
    return r && r !== "success" ? r : "failed";
  }

  /** `console`: say on the console how the job ended (not for a start skipped by a condition). */
  private completeJob(u: UnitRuntime, result: JobResult, reason: string, console = true) {
    const job = u.job;
    if (!job) return;
    u.job = null;
    this.wakeNeighbours(u.cfg.name);
    const name = u.cfg.name;
    const jobType: JobType = job.thenStart ? "restart" : job.reportAs ?? job.type;
    const { started, failedTo, stopped } = this.kinds[u.kind].words;
    if (job.type === "start" && console) {
      if (result === "done") {
        this.emit({ type: "console", unit: name, status: "ok", text: `${started} ${this.label(u)}.` });
      } else if (result === "dependency") {
        // Recorded under the unit too (systemd's journal line), so its status shows why.
        this.emit({ type: "log", unit: name, level: "warning", text: `Dependency failed: ${reason}` });
        if (!this.activation.instances.has(name)) {
          this.emit({ type: "console", unit: name, status: "failed", text: `Dependency failed for ${this.label(u)}: ${reason}` });
        }
      } else {
        this.emit({ type: "console", unit: name, status: "failed", text: `${failedTo} ${this.label(u)}: ${reason}` });
      }
    } else if (job.type === "stop" && result === "done" && stopped !== null) {
      this.emit({ type: "console", unit: name, status: "ok", text: `${stopped} ${this.label(u)}.` });
    }
    if (job.thenStart && result === "done") {
      // The stop half of a restart is done: the start half carries the waiters (and
      // clears the crash loop if it is the operator's restart of this unit).
      u.job = {
        id: this.nextJobId++, type: "start", unit: name, running: false, requestIds: job.requestIds,
        reportAs: "restart", automatic: job.automatic,
      };
      return;
    }
    // systemd's unit_release_resources: kept for a restart whose start never began.
    const idle = this.activeState(name) === "inactive" || this.activeState(name) === "failed";
    if (u.runtimeDirsKept && idle && !u.job) {
      u.runtimeDirsKept = false;
      this.effects.push({ type: "remove-runtime-directories", unit: name, directories: u.cfg.service?.runtime_directory ?? [] });
    }
    for (const rid of job.requestIds) this.finish({ unit: name, job: jobType, result, requestId: rid, reason });
    if (job.requestIds.length === 0) this.finish({ unit: name, job: jobType, result, reason });
    this.triggers.targetChanged(name, this.triggerHost); // a start that ran nothing: its timer waits again
  }

  private label(u: UnitRuntime): string {
    return u.cfg.unit.description || u.cfg.name;
  }

  private finish(f: { unit: string; job: JobType; result: JobResult; requestId?: number; reason: string }) {
    this.effects.push({ type: "job-finished", ...f });
    if (f.unit !== this.target || f.job !== "start" || this.startupReported) return;
    this.startupReported = true;
    let activeUnits = 0;
    for (const n of this.units.keys()) if (this.activeState(n) === "active") activeUnits++;
    this.effects.push({ type: "startup-finished", unit: f.unit, result: f.result, activeUnits });
  }

  private resetFailed(name: string | null) {
    for (const u of this.units.values()) {
      if (name !== null && u.cfg.name !== name) continue;
      this.activation.clearTriggerLimit(u.cfg.name);
      if (u.service) svc.resetFailed(u.service, this.port(u.cfg.name, u.cfg.service!));
      if (u.cfg.mount && u.mountState === "failed") this.setMountState(u, "inactive");
      if (u.kind === "timer" || u.kind === "path") this.triggers.resetFailed(u.cfg.name, this.triggerHost);
    }
  }

  /** True while any job is queued or running (used by tests and "startup finished"). */
  busy(): boolean {
    for (const u of this.units.values()) if (u.job) return true;
    return false;
  }
}
