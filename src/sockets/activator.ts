// Socket activation, the manager's half: it holds every listening socket from start-up to
// the end (across every restart and crash of the services behind them), watches the ones
// the engine asks it to, accepts connections for accept = true units, and says which fds
// a process gets. It decides nothing: triggers and connections go to the engine as
// events, and the engine's "listen" effects come back here.
//
// It never accepts or reads on an accept = false socket: readiness only tells the engine
// that a client is waiting, and the client stays queued in the kernel for the service.
import type { SocketSection, UnitConfig } from "../config/types.ts";
import type { EngineEvent } from "../engine/types.ts";
import type { UserDatabase } from "../exec/users.ts";
import { close } from "../../ffi/fd.ts";
import { acceptWithPeer, localAddress, type SocketAddress } from "../../ffi/net.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import { peerCredentials } from "../../ffi/socket.ts";
import { describeListen, formatAddress, formatHost, remoteEnvironment } from "../config/socket-address.ts";
import { listenSpecOf, openListener, removeSocketFile, type OpenedSocket } from "./listen.ts";

type Level = "debug" | "info" | "notice" | "warning" | "err";

export interface ActivatorOptions {
  reactor: Reactor;
  dispatch: (event: EngineEvent) => void;
  log: (unit: string, level: Level, text: string) => void;
  users?: () => UserDatabase;
}

/** One [[socket]] entry and what became of it. */
interface Socket {
  unit: string;
  index: number;
  config: SocketSection;
  service: string;
  label: string; // "/run/foo.sk (Stream)"
  opened: OpenedSocket | null;
  error: string | null;
  watching: boolean;
}

interface Connection {
  fd: number;
  peer: SocketAddress | null;
}

/** The sockets across daemon-reexec. */
export interface SocketsHandover {
  listening: { unit: string; index: number; fd: number }[];
  // The peer's ip as numbers (JSON has no byte arrays).
  connections: { id: number; fd: number; peer: { family: "unix"; path: string } | { family: "inet" | "inet6"; ip: number[]; port: number; scopeId?: number } | null }[];
  nextConnection: number;
}

/** What a process of a unit gets from its sockets. */
export interface Passed {
  fds: number[]; // placed at 3, 4, ...
  names: string[]; // LISTEN_FDNAMES, one per fd
  stdio: number | null; // standard_input = "socket": the connection on stdin and stdout
  env: Record<string, string>; // REMOTE_ADDR, REMOTE_PORT
}

/** A socket as `hearth ctl status` shows it. */
export interface SocketStatus {
  listen: string; // "/run/foo.sk (Stream)"
  unit: string; // the unit that declares it
  service: string; // the unit it activates
  name: string; // its fd name
  accept: boolean;
  /** listening: watched for clients; running: its service has it (or accept is paused); failed: not made. */
  state: "listening" | "running" | "failed";
  error: string | null;
}

// Connections accepted per wake-up, so that one busy socket cannot starve the rest.
const ACCEPT_BATCH = 64;

export class SocketActivator {
  private readonly sockets: Socket[] = [];
  private readonly connections = new Map<number, Connection>();
  private nextConnection = 1;

  constructor(units: Iterable<UnitConfig>, private readonly opts: ActivatorOptions) {
    for (const cfg of units) this.add(cfg);
  }

  private add(cfg: UnitConfig): void {
    cfg.sockets.forEach((config, index) => {
      const spec = listenSpecOf(config);
      this.sockets.push({
        unit: cfg.name, index, config, service: config.service ?? cfg.name,
        label: typeof spec === "string" ? "[[socket]]" : describeListen(spec),
        opened: null, error: null, watching: false,
      });
    });
  }

  /**
   * Makes every socket not made yet (of `units`, or of all units): the event to hand the
   * engine, which fails the units whose socket could not be made.
   */
  open(units?: string[]): Extract<EngineEvent, { type: "sockets-opened" }> {
    const failed: { unit: string; index: number; error: string }[] = [];
    const wanted = this.sockets.filter((s) => (units ? units.includes(s.unit) : true));
    for (const s of wanted) {
      if (s.opened) continue;
      try {
        s.opened = openListener(s.config, s.config.accept, this.opts.users);
        s.error = null;
        for (const w of s.opened.warnings) this.opts.log(s.unit, "warning", `socket ${s.label}: ${w}`);
        this.opts.log(s.unit, "debug", `listening on ${s.label}`);
      } catch (error) {
        s.error = (error as Error).message;
        this.opts.log(s.unit, "err", `cannot listen: ${s.error}`);
        failed.push({ unit: s.unit, index: s.index, error: s.error });
      }
    }
    return { type: "sockets-opened", units: [...new Set(wanted.map((s) => s.unit))], failed };
  }

  // ---- watching ----------------------------------------------------------------------

  /** The engine's "listen" effect. */
  setWatching(unit: string, index: number, on: boolean): void {
    const s = this.find(unit, index);
    if (!s?.opened || on === s.watching) return;
    s.watching = on;
    const fd = s.opened.fd;
    if (!on) return this.opts.reactor.unwatch(fd);
    this.opts.reactor.watch(fd, { read: true }, () => (s.config.accept ? this.acceptAll(s) : this.triggered(s)));
  }

  private triggered(s: Socket): void {
    this.setWatching(s.unit, s.index, false);
    this.opts.log(s.service, "info", `Incoming traffic on ${s.label}: activating`);
    this.opts.dispatch({ type: "socket-triggered", unit: s.unit, index: s.index });
  }

  private acceptAll(s: Socket): void {
    for (let n = 0; n < ACCEPT_BATCH && s.watching; n++) {
      let accepted;
      try {
        accepted = acceptWithPeer(s.opened!.fd);
      } catch (error) {
        // The engine decides how long the socket rests (its "listen" effect stops the loop).
        this.opts.dispatch({ type: "accept-failed", unit: s.unit, index: s.index, error: `on ${s.label}: ${(error as Error).message}` });
        return;
      }
      if (accepted === null) return;
      const id = this.nextConnection++;
      this.connections.set(id, { fd: accepted.fd, peer: accepted.peer });
      this.opts.dispatch({
        type: "connection", unit: s.unit, index: s.index, connection: id,
        source: this.source(accepted.fd, accepted.peer), ends: this.ends(accepted.fd, accepted.peer),
      });
    }
  }

  /**
   * The connection's ends as systemd names its instance after them (socket.c,
   * instance_from_socket): "LOCAL:PORT-REMOTE:PORT" for IP (IPv4-mapped shown as IPv4),
   * "PID-UID" of the peer for a unix socket.
   */
  private ends(fd: number, peer: SocketAddress | null): string {
    try {
      if (peer === null || peer.family === "unix") {
        const cred = peerCredentials(fd);
        return `${cred.pid}-${cred.uid}`;
      }
      const local = localAddress(fd);
      if (local === null || local.family === "unix") return "unknown";
      const host = (a: SocketAddress) => formatHost(a, true).replace(/%.*/, ""); // no scope: not in a unit name
      return `${host(local)}:${local.port}-${host(peer)}:${peer.port}`;
    } catch {
      return "unknown";
    }
  }

  /** Who a connection comes from, for max_connections_per_source: its IP, or its uid. */
  private source(fd: number, peer: SocketAddress | null): string {
    if (peer && peer.family !== "unix") return formatHost(peer, true);
    try {
      return `uid ${peerCredentials(fd).uid}`;
    } catch {
      return "unknown";
    }
  }

  /** Closes an accepted connection: refused by the engine, or its instance is gone. */
  closeConnection(id: number): void {
    const c = this.connections.get(id);
    if (!c) return;
    this.connections.delete(id);
    close(c.fd);
  }

  // ---- what a process gets ---------------------------------------------------------------

  /**
   * The fds for the main process of `unit`: an instance's connection (at fd 3, or on
   * stdin/stdout inetd style), or the listening sockets of the accept = false entries that
   * activate the unit — its own first, then other units' by name.
   */
  passedTo(unit: string, connection: number | null, inetd: boolean): Passed {
    if (connection !== null) {
      const c = this.connections.get(connection);
      if (!c) return { fds: [], names: [], stdio: null, env: {} };
      const env = remoteEnvironment(c.peer);
      return inetd ? { fds: [], names: [], stdio: c.fd, env } : { fds: [c.fd], names: ["connection"], stdio: null, env };
    }
    const mine = this.sockets
      .filter((s) => s.service === unit && !s.config.accept && s.opened)
      .sort((a, b) => rank(a, unit) - rank(b, unit) || a.unit.localeCompare(b.unit) || a.index - b.index);
    return {
      fds: mine.map((s) => s.opened!.fd),
      names: mine.map((s) => s.config.fd_name ?? s.unit),
      stdio: null,
      env: {},
    };
  }

  /** The sockets a unit declares or is activated by. */
  status(unit: string): SocketStatus[] {
    return this.sockets
      .filter((s) => s.unit === unit || s.service === unit)
      .map((s) => ({
        listen: s.label,
        unit: s.unit, service: s.service, name: s.config.fd_name ?? s.unit, accept: s.config.accept,
        state: s.error !== null ? "failed" : s.watching ? "listening" : "running",
        error: s.error,
      }));
  }

  /** Connected peers, for logs: "10.0.0.2:51000". */
  peerOf(id: number): string | null {
    const peer = this.connections.get(id)?.peer;
    return peer ? formatAddress(peer, true) : null;
  }

  /**
   * A reload changed the unit's [[socket]] entries (config null: the unit is gone): its
   * listening sockets are closed (connections already accepted stay with their instances),
   * the new ones wait for open().
   */
  replaceUnit(unit: string, config: UnitConfig | null): void {
    for (const s of this.sockets.filter((x) => x.unit === unit)) {
      this.setWatching(s.unit, s.index, false);
      if (s.opened) {
        close(s.opened.fd);
        try {
          // A unix socket's path is bound again by the new one; its links go with the old file.
          for (const w of removeSocketFile(s.opened.spec, s.config.symlinks)) this.opts.log(unit, "warning", `socket ${s.label}: ${w}`);
        } catch (error) {
          this.opts.log(unit, "warning", `socket ${s.label}: ${(error as Error).message}`);
        }
      }
    }
    for (let i = this.sockets.length - 1; i >= 0; i--) if (this.sockets[i]!.unit === unit) this.sockets.splice(i, 1);
    if (config) this.add(config);
  }

  // ---- daemon-reexec (src/manager/reexec.ts) ----------------------------------------

  /** The listening sockets and the accepted connections, to keep across the exec. */
  handover(): SocketsHandover {
    return {
      listening: this.sockets.filter((s) => s.opened).map((s) => ({ unit: s.unit, index: s.index, fd: s.opened!.fd })),
      connections: [...this.connections].map(([id, c]) => ({
        id, fd: c.fd, peer: c.peer && c.peer.family !== "unix" ? { ...c.peer, ip: [...c.peer.ip] } : c.peer,
      })),
      nextConnection: this.nextConnection,
    };
  }

  /** What handover() gave the process before the exec; the fds of sockets this configuration no longer has are returned. */
  adopt(h: SocketsHandover): number[] {
    const unused: number[] = [];
    for (const l of h.listening) {
      const s = this.find(l.unit, l.index);
      const spec = s ? listenSpecOf(s.config) : null;
      if (!s || s.opened || spec === null || typeof spec === "string") {
        unused.push(l.fd);
        continue;
      }
      s.opened = { fd: l.fd, spec, label: s.label, warnings: [] };
    }
    for (const c of h.connections) {
      const peer = c.peer && c.peer.family !== "unix" ? { ...c.peer, ip: Uint8Array.from(c.peer.ip) } as SocketAddress : c.peer;
      this.connections.set(c.id, { fd: c.fd, peer });
    }
    this.nextConnection = Math.max(this.nextConnection, h.nextConnection);
    return unused;
  }

  /** Closes every socket and connection; removes the files (and symlinks) of remove_on_stop sockets. */
  close(): void {
    for (const s of this.sockets) this.setWatching(s.unit, s.index, false);
    for (const id of [...this.connections.keys()]) this.closeConnection(id);
    for (const s of this.sockets) {
      if (!s.opened) continue;
      close(s.opened.fd);
      const spec = s.opened.spec;
      s.opened = null;
      if (!s.config.remove_on_stop) continue;
      for (const w of removeSocketFile(spec, s.config.symlinks)) this.opts.log(s.unit, "warning", `socket ${s.label}: ${w}`);
    }
  }

  private find(unit: string, index: number): Socket | undefined {
    return this.sockets.find((s) => s.unit === unit && s.index === index);
  }
}

/** The unit's own sockets come first. */
function rank(s: Socket, unit: string): number {
  return s.unit === unit ? 0 : 1;
}
