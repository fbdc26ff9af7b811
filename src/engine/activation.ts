// Socket activation, the engine's half (pure): which sockets the shell watches, what a
// trigger or a connection starts, and the instances of accept = true units.
//
// A socket is named by the unit whose file declares it and its position among that
// file's [[socket]] entries; it activates its `service` (that unit unless it says
// otherwise).
//
//   accept = false  The service gets the listening fds. The shell watches them only while
//                   the service is down (inactive, or failed for another reason than the
//                   start limit) with no job pending: the first connection or datagram
//                   starts it, and the manager never accepts or reads on its behalf.
//                   While the service runs, or restarts, clients queue in the kernel.
//   accept = true   The service is a template NAME@ (the socket unit NAME is made of its
//                   file): the shell accepts each connection and the engine makes an
//                   instance of the template that gets the connection, named as systemd
//                   does, NAME@N-LOCAL:PORT-REMOTE:PORT (NAME@N-PID-UID for a unix socket),
//                   N counting the connections from 0; the instance is removed once it is
//                   inactive or failed. The socket unit runs nothing: it is active
//                   ("listening") once its sockets are made,
//                   and stopping it pauses the accepting. Accepting also pauses while
//                   max_connections instances of the socket exist (clients wait in the
//                   backlog); max_connections_per_source refuses the extra ones.
//
// A trigger that starts nothing would come back at once (the data is still queued), so
// triggers are rate limited like systemd's TriggerLimit (by default 20 per 2 s, the
// socket's trigger_limit_*): past that, the service's sockets are no longer watched
// until the unit is started by hand or reset-failed.
import type { UnitConfig } from "../config/types.ts";
import type { ActiveState, Effect, UnitResult } from "./types.ts";

/** What daemon-reexec carries (./serialize.ts): loaded by the first export or import of the state (require, a chunk of its own). */
const serialize = (): typeof import("./serialize.ts") => require("./serialize.ts");

/** systemd's MaxConnections= default. */
const DEFAULT_MAX_CONNECTIONS = 64;
// After accept(2) fails for want of fds or memory, the socket rests this long (the
// pending connection would wake the loop again at once).
const ACCEPT_PAUSE_MS = 100;

export interface SocketEntry {
  unit: string; // the unit whose file declares the [[socket]]
  index: number; // its position among them
  service: string; // the unit it activates
  accept: boolean;
  maxConnections: number;
  maxPerSource: number; // 0: no limit
  triggerLimit: { intervalMs: number; burst: number }; // intervalMs 0: no limit
  opened: boolean; // the shell has the socket
  broken: string | null; // why the shell could not make it
  refused: string | null; // why an activation was refused (its service is not loaded): it failed, and is not watched
  retrying: boolean; // the shell was asked to make it again (a start by hand)
  pausedUntil: number; // accept(2) failed: not watched before then
  listening: boolean; // what the shell was last told
}

/** What an accept = true instance was made for. */
export interface Instance {
  template: string; // the socket unit that accepted it (its output goes there)
  socket: { unit: string; index: number };
  connection: number; // the shell's handle of the connected socket
  source: string; // the peer, for max_connections_per_source
}

/** The engine as this module sees it. */
export interface ActivationHost {
  now: number;
  state(unit: string): { active: ActiveState; result: UnitResult | null; job: boolean } | null;
  config(unit: string): UnitConfig | null;
  /** An instance of a template, not yet a unit; null: no such template. */
  instantiate(name: string): UnitConfig | null;
  /** Why a unit that is not loaded is not ("unit X not found", or its file has errors). */
  missingReason(unit: string): string;
  /** Queue a start that is not the operator's (the crash-loop counters are kept). */
  start(unit: string): void;
  addUnit(config: UnitConfig): void;
  removeUnit(name: string): void;
  emit(effect: Effect): void;
}

export class SocketActivation {
  readonly entries: SocketEntry[] = [];
  /** Units with accept = true sockets: each connection gets an instance of their template. */
  readonly templates = new Set<string>();
  readonly instances = new Map<string, Instance>();
  private readonly triggers = new Map<string, number[]>(); // service -> recent trigger times
  private readonly limited = new Set<string>(); // services past the trigger limit
  private readonly accepted = new Map<string, number>(); // socket unit -> connections so far
  private frozen = false; // the manager is going down

  constructor(configs: Map<string, UnitConfig>) {
    for (const cfg of configs.values()) this.addEntries(cfg);
  }

  /** A reload replaced the unit's sockets (null: the unit is gone): its entries go, the new ones are not made yet. */
  replaceUnit(name: string, cfg: UnitConfig | null): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.unit === name) this.entries.splice(i, 1);
    this.templates.delete(name);
    if (cfg) this.addEntries(cfg);
  }

  private addEntries(cfg: UnitConfig): void {
    cfg.sockets.forEach((socket, index) => {
      const entry: SocketEntry = {
        unit: cfg.name, index, service: socket.service ?? cfg.name, accept: socket.accept,
        maxConnections: socket.max_connections ?? DEFAULT_MAX_CONNECTIONS,
        maxPerSource: socket.max_connections_per_source ?? 0,
        triggerLimit: {
          intervalMs: (socket.trigger_limit_interval_sec ?? 2) * 1000,
          burst: socket.trigger_limit_burst ?? 20,
        },
        opened: false, broken: null, refused: null, retrying: false, pausedUntil: 0, listening: false,
      };
      this.entries.push(entry);
      if (entry.accept) this.templates.add(entry.unit);
    });
  }

  private entry(unit: string, index: number): SocketEntry | undefined {
    return this.entries.find((e) => e.unit === unit && e.index === index);
  }

  /** Why the unit cannot start: a socket it declares or is activated by could not be made, or failed. */
  brokenReason(unit: string): string | null {
    const broken = this.entries.find((e) => e.broken !== null && (e.unit === unit || e.service === unit));
    if (broken) return `its socket could not be made: ${broken.broken}`;
    const refused = this.entries.find((e) => e.refused !== null && e.unit === unit);
    return refused ? `its socket failed: ${refused.refused}` : null;
  }

  /** Those of `units` that have accept = true sockets. */
  templatesOf(units: string[]): string[] {
    return [...new Set(this.entries.filter((e) => e.accept && units.includes(e.unit)).map((e) => e.unit))];
  }

  /**
   * A start by hand: the sockets that concern `unit` and could not be made are to be
   * made again. Returns the units that declare them (the shell's "retry-sockets"); the
   * start waits (see retrying) until the shell says how it went.
   */
  retry(unit: string): string[] {
    const again = this.entries.filter((e) => e.broken !== null && !e.retrying && (e.unit === unit || e.service === unit));
    for (const e of again) e.retrying = true;
    return [...new Set(again.map((e) => e.unit))];
  }

  /** True while a socket the unit needs is being made again. */
  retrying(unit: string): boolean {
    return this.entries.some((e) => e.retrying && (e.unit === unit || e.service === unit));
  }

  /** Connections a socket unit accepted since the manager started. */
  acceptedCount(unit: string): number {
    return this.accepted.get(unit) ?? 0;
  }

  // ---- events ------------------------------------------------------------------------

  /** The shell made (or failed to make) the sockets of `units`. */
  opened(units: string[], failed: { unit: string; index: number; error: string }[]): void {
    for (const e of this.entries) {
      if (!units.includes(e.unit)) continue;
      const failure = failed.find((f) => f.unit === e.unit && f.index === e.index);
      e.opened = failure === undefined;
      e.broken = failure?.error ?? null;
      e.retrying = false;
    }
  }

  /**
   * A connection or datagram is waiting on an accept = false socket. The shell has stopped
   * watching that socket; syncListening tells it whether to watch again.
   */
  triggered(unit: string, index: number, host: ActivationHost): void {
    const e = this.entry(unit, index);
    if (!e || e.accept) return;
    e.listening = false;
    if (!this.wantsListening(e, host)) return;
    if (host.config(e.service) === null) return this.refuse(e, host);
    const { intervalMs, burst } = e.triggerLimit;
    const window = (this.triggers.get(e.service) ?? []).filter((t) => host.now - t < intervalMs);
    window.push(host.now);
    this.triggers.set(e.service, window);
    if (intervalMs > 0 && window.length > burst) {
      this.limited.add(e.service);
      host.emit({
        type: "log", unit: e.service, level: "err",
        text: `Trigger limit hit (${burst} in ${intervalMs / 1000}s): its sockets are no longer watched until it is started by hand or reset-failed`,
      });
      return;
    }
    host.start(e.service);
  }

  /** The shell accepted a connection on an accept = true socket. */
  connection(unit: string, index: number, connection: number, source: string, ends: string, host: ActivationHost): void {
    const e = this.entry(unit, index);
    if (!e?.accept || this.frozen) {
      host.emit({ type: "close-connection", unit, connection });
      return;
    }
    const fromSource = [...this.instances.values()].filter((i) => sameSocket(i, e) && i.source === source).length;
    if (e.maxPerSource > 0 && fromSource >= e.maxPerSource) {
      host.emit({ type: "log", unit, level: "warning", text: `Too many connections from ${source} (${fromSource}): connection refused` });
      host.emit({ type: "close-connection", unit, connection });
      return;
    }
    const n = this.acceptedCount(unit);
    const name = `${e.service}${n}-${ends}`;
    const config = host.instantiate(name);
    if (!config?.service) {
      // No such template (systemd's "not loaded, refusing"): the socket fails.
      if (host.config(e.service) === null) this.refuse(e, host);
      else host.emit({ type: "log", unit, level: "err", text: `Cannot make the instance ${name} of '${e.service}': connection refused` });
      host.emit({ type: "close-connection", unit, connection });
      return;
    }
    this.accepted.set(unit, n + 1);
    this.instances.set(name, { template: unit, socket: { unit, index }, connection, source });
    host.addUnit(config);
    host.start(name);
  }

  /**
   * systemd's "Socket service X not loaded, refusing": the service to activate is not
   * there (no such unit, or its file has errors). The socket fails: it is no longer
   * watched until its unit is started by hand or reset-failed.
   */
  private refuse(e: SocketEntry, host: ActivationHost): void {
    e.refused = `${host.missingReason(e.service)}: activation refused`;
    const text = `socket[${e.index}] activates '${e.service}', which is not loaded (${host.missingReason(e.service)}): activation refused, the socket is no longer watched`;
    host.emit({ type: "log", unit: e.unit, level: "err", text });
    host.emit({ type: "console", unit: e.unit, status: "failed", text: `Failed to activate ${e.service} for ${e.unit}: ${host.missingReason(e.service)}` });
  }

  /**
   * accept(2) failed on an accept = true socket: it is not watched for a while, then the
   * "accept" timer of its unit brings it back (if it is still wanted then).
   */
  acceptFailed(unit: string, index: number, error: string, timerId: number, host: ActivationHost): void {
    const e = this.entry(unit, index);
    if (!e?.accept) return;
    e.pausedUntil = host.now + ACCEPT_PAUSE_MS;
    host.emit({ type: "log", unit, level: "warning", text: `accepting failed: ${error}; pausing ${ACCEPT_PAUSE_MS} ms` });
    host.emit({ type: "set-timer", unit, kind: "accept", ms: ACCEPT_PAUSE_MS, id: timerId });
  }

  /**
   * The "accept" timer of `unit` (one per unit: the shell keeps the last one set, so it
   * ends the latest rest): its sockets may be watched again.
   */
  acceptPauseOver(unit: string): void {
    for (const e of this.entries) if (e.unit === unit) e.pausedUntil = 0;
  }

  /** A start by the operator, or reset-failed: triggers count from zero again, a failed socket is watched again. */
  clearTriggerLimit(service: string): void {
    this.triggers.delete(service);
    this.limited.delete(service);
    for (const e of this.entries) if (e.unit === service) e.refused = null;
  }

  // ---- daemon-reexec (./serialize.ts) ------------------------------------------------

  private static readonly STATE_FIELDS = ["entries", "templates", "instances", "triggers", "limited", "accepted", "frozen"];

  exportState(): Record<string, unknown> {
    return serialize().pick(this, SocketActivation.STATE_FIELDS);
  }

  /**
   * The state of the process before the exec. The shell watches nothing yet: every socket
   * is told again (syncListening); a rest after a failed accept(2) is timed again.
   */
  importState(part: Record<string, unknown>, timerId: () => number, host: ActivationHost): void {
    serialize().place(this, part, SocketActivation.STATE_FIELDS, "activation");
    const resting = new Set<string>();
    for (const e of this.entries) {
      e.listening = false;
      if (e.pausedUntil > host.now && !resting.has(e.unit)) {
        resting.add(e.unit);
        host.emit({ type: "set-timer", unit: e.unit, kind: "accept", ms: e.pausedUntil - host.now, id: timerId() });
      }
    }
  }

  // ---- after every event --------------------------------------------------------------

  /** Removes instances that are done; their connections are closed by the shell. */
  collectInstances(host: ActivationHost): void {
    for (const [name, instance] of this.instances) {
      const s = host.state(name);
      if (s && (s.job || (s.active !== "inactive" && s.active !== "failed"))) continue;
      this.instances.delete(name);
      host.removeUnit(name);
      host.emit({ type: "instance-removed", unit: name, connection: instance.connection });
    }
  }

  /** Tells the shell about every socket whose watching should change. */
  syncListening(host: ActivationHost): void {
    for (const e of this.entries) {
      const want = this.wantsListening(e, host);
      if (want === e.listening) continue;
      e.listening = want;
      host.emit({ type: "listen", unit: e.unit, index: e.index, on: want });
    }
  }

  /** The manager is going down: no socket is watched again, no connection taken. */
  freeze(): void {
    this.frozen = true;
  }

  private wantsListening(e: SocketEntry, host: ActivationHost): boolean {
    if (this.frozen || !e.opened || e.refused !== null || this.brokenReason(e.service) !== null) return false;
    if (e.pausedUntil > 0) return false;
    if (e.accept) return host.state(e.unit)?.active === "active" && this.liveInstances(e) < e.maxConnections;
    // Its service is not loaded: watched, so that the first activation fails the socket (refuse).
    if (host.config(e.service) === null) return true;
    if (this.limited.has(e.service)) return false;
    const s = host.state(e.service);
    if (!s || s.job) return false;
    return s.active === "inactive" || (s.active === "failed" && s.result !== "start-limit-hit");
  }

  private liveInstances(e: SocketEntry): number {
    let n = 0;
    for (const i of this.instances.values()) if (sameSocket(i, e)) n++;
    return n;
  }
}

function sameSocket(i: Instance, e: SocketEntry): boolean {
  return i.socket.unit === e.unit && i.socket.index === e.index;
}
