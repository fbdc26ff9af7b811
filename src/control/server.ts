// The control socket: RUNDIR/control.sock, JSON lines, the peer's uid from SO_PEERCRED.
// The socket is for everyone (mode 0666, as systemd's bus): anyone may look, only root or
// the manager's own user may change anything (checked per request). So every connection
// is bounded, and a slow or hostile client can only hurt itself:
// - requests are answered one at a time, in order; the next one is not even read while
//   the replies wait for a client that does not read them (backpressure);
// - a request line is bounded; a longer one gets an error and the connection closes;
// - a connection without a request for IDLE_MS is closed, and when MAX_CONNECTIONS are
//   open the one idle the longest makes room for the newcomer: no one is locked out;
// - a `logs -f` follower that does not read is dropped past MAX_FOLLOWER_BACKLOG;
// - a client that half-closes after its requests gets its replies, then the close.
import { unlinkSync } from "node:fs";
import { getReactor, type Interest, type Readiness } from "../../ffi/reactor.ts";
import { close as closeFd, readNonBlocking as readSome, writeSome } from "../../ffi/fd.ts";
import { acceptConnection, listenUnixStream, peerCredentials, type Credentials } from "../../ffi/socket.ts";
import type { Manager } from "../manager/manager.ts";
import { KERNEL_UNIT, SYSLOG_UNIT } from "../manager/system-logs.ts";
import type { Logger } from "../log/manager-log.ts";
import type { WatchdogState } from "../watchdog/hardware.ts";
import { freezeLoop } from "./debug.ts";
import { EXIT, isMutating, MAX_REQUEST_BYTES, parseRequest, UNIT_FILE_VERBS, type ControlRequest } from "./protocol.ts";
import type { UnitLayers } from "../config/layers.ts";
import type { ReloadOutcome } from "./daemon-reload.ts";
import { maskedStatus, notFoundStatus, notLoadedStatus, timeline, unitStatus, type UnitStatus } from "./status.ts";

// What only a verb needs (analyze security, enable/disable/cat/mask) is loaded by its first
// request: each a chunk of its own in the executable, read synchronously by require.
const securityReport: typeof import("./security.ts").securityReport = (units) => require("./security.ts").securityReport(units);
const unitFileVerb: typeof import("./unit-file-verbs.ts").unitFileVerb = (...a) => require("./unit-file-verbs.ts").unitFileVerb(...a);

const MAX_CONNECTIONS = 64;
/** A connection with no request and no reply read for this long is closed. */
const IDLE_MS = 30_000;
/** Replies waiting for the client past this: its next request is not read until they drain. */
const OUTPUT_HIGH_WATER = 256 * 1024;
/** Logs that are no unit's, asked for by name: the manager's own, the kernel's, syslog from no unit. */
const LOG_SOURCES = new Set(["hearth", KERNEL_UNIT, SYSLOG_UNIT]);

/** Log lines waiting for a `logs -f` follower past its backlog: it is dropped. */
const MAX_FOLLOWER_BACKLOG = 1024 * 1024;
const READ_CHUNK = 16 * 1024;

const ENCODER = new TextEncoder();

type Reply = Record<string, unknown> & { ok: boolean; exit: number };

class Connection {
  private inbuf = "";
  private inpos = 0; // where the unanswered part of inbuf begins
  private eof = false; // the client will send nothing more (or may not: a too-long line)
  private busy = false; // a request is being answered
  private hungUp = false; // the client closed both ways (EPOLLHUP): what it sent is still answered
  private outbuf: Uint8Array[] = [];
  private outBytes = 0;
  private closed = false;
  private unfollow: (() => void) | null = null;
  private followBase = 0; // the backlog when following began (the replayed lines)
  private interest = "";
  private idleTimer: ReturnType<typeof setTimeout>;
  /** performance.now() of the last request taken or reply byte written. */
  lastActivity = performance.now();
  private readonly decoder = new TextDecoder();
  private readonly buf = new Uint8Array(READ_CHUNK);

  constructor(
    readonly fd: number,
    readonly peer: Credentials,
    private readonly server: ControlServer,
  ) {
    this.idleTimer = setTimeout(() => this.checkIdle(), IDLE_MS);
    this.rearm();
  }

  /** Waits for nothing from the client and owes it nothing: a connection that may go first. */
  get idle(): boolean {
    return !this.busy && this.unfollow === null;
  }

  get following(): boolean {
    return this.unfollow !== null;
  }

  private onReady(ev: Readiness) {
    if (ev.hangup) this.hungUp = true;
    if (ev.writable || ev.hangup) this.flush();
    if ((ev.readable || ev.hangup) && this.wantsInput()) this.readInput();
    if (this.hungUp && this.following) return this.close();
    this.pump();
  }

  /** Read only while nothing is waiting to be answered and the replies are read. */
  private wantsInput(): boolean {
    if (this.closed || this.eof) return false;
    if (this.following) return true; // only to learn that the client went away
    return !this.busy && this.outBytes <= OUTPUT_HIGH_WATER && this.inbuf.indexOf("\n", this.inpos) < 0;
  }

  private readInput() {
    this.inbuf = this.inbuf.slice(this.inpos);
    this.inpos = 0;
    while (this.inbuf.indexOf("\n") < 0) {
      let n: number | "again" | "eof";
      try {
        n = readSome(this.fd, this.buf);
      } catch {
        return this.close(); // ECONNRESET and friends
      }
      if (n === "again") return;
      if (n === "eof") {
        this.eof = true;
        this.inbuf += this.decoder.decode();
        return;
      }
      if (this.following) continue; // a follower has nothing more to ask
      this.inbuf += this.decoder.decode(this.buf.subarray(0, n), { stream: true });
      if (this.inbuf.length > MAX_REQUEST_BYTES && this.inbuf.indexOf("\n") < 0) {
        this.send({ ok: false, exit: EXIT.usage, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
        this.inbuf = "";
        this.eof = true; // nothing more is read: the reply goes out, then the connection closes
        return;
      }
    }
  }

  /** The next request line; at the end of input, what is left counts as one. */
  private nextLine(): string | null {
    const nl = this.inbuf.indexOf("\n", this.inpos);
    if (nl < 0) {
      if (!this.eof || this.inpos >= this.inbuf.length) return null;
      const rest = this.inbuf.slice(this.inpos);
      this.inbuf = "";
      this.inpos = 0;
      return rest;
    }
    const line = this.inbuf.slice(this.inpos, nl);
    this.inpos = nl + 1;
    return line;
  }

  /** Answers the waiting requests, one at a time, while the client reads the replies. */
  private pump() {
    while (!this.closed && !this.busy && !this.following && this.outBytes <= OUTPUT_HIGH_WATER) {
      let line = this.nextLine();
      if (line === null && this.hungUp && this.wantsInput()) {
        this.readInput(); // no more wake-ups come: read on here, up to the end
        line = this.nextLine();
      }
      if (line === null) break;
      if (line.trim() === "") continue;
      this.busy = true;
      this.lastActivity = performance.now();
      const done = () => {
        this.busy = false;
        this.pump();
      };
      this.server.handle(this, line).then(done, done);
    }
    // Half-closed and all answered: the loop above ended for want of a line.
    if (this.eof && !this.busy && !this.following && this.outBytes === 0) return this.close();
    this.rearm();
  }

  send(obj: unknown) {
    if (this.closed) return;
    const bytes = ENCODER.encode(JSON.stringify(obj) + "\n");
    this.outbuf.push(bytes);
    this.outBytes += bytes.length;
    if (this.following && this.outBytes > this.followBase + MAX_FOLLOWER_BACKLOG) {
      this.server.note(`control: dropped a logs -f follower (PID ${this.peer.pid}) that does not read: ${this.outBytes} bytes waiting`);
      return this.close();
    }
    this.flush();
    this.rearm();
  }

  private flush() {
    while (this.outbuf.length > 0 && !this.closed) {
      const head = this.outbuf[0]!;
      let n: number | "again";
      try {
        n = writeSome(this.fd, head);
      } catch {
        return this.close(); // the client went away (EPIPE)
      }
      if (n === "again") return;
      this.lastActivity = performance.now();
      this.outBytes -= n;
      if (n < head.length) this.outbuf[0] = head.subarray(n);
      else this.outbuf.shift();
    }
    if (this.following) this.followBase = Math.min(this.followBase, this.outBytes);
  }

  /**
   * Watches what the connection waits for; with neither, still for the client closing
   * (EPOLLHUP is always reported), so that a gone follower or waiter is let go. Once it
   * hung up, nothing: EPOLLHUP would wake the loop again and again; a write tells the rest.
   */
  private rearm() {
    if (this.closed) return;
    const interest: Interest = { read: this.wantsInput(), write: this.outBytes > 0 };
    const key = this.hungUp ? "gone" : `${interest.read}${interest.write}`;
    if (key === this.interest) return;
    this.interest = key;
    if (this.hungUp) getReactor().unwatch(this.fd);
    else getReactor().watch(this.fd, interest, (ev) => this.onReady(ev));
  }

  private checkIdle() {
    if (this.closed) return;
    const quiet = performance.now() - this.lastActivity;
    const stuck = this.idle || (this.following && this.outBytes > 0);
    if (stuck && quiet >= IDLE_MS) {
      this.server.note(`control: closed a connection from PID ${this.peer.pid} (uid ${this.peer.uid}) idle for ${Math.round(quiet / 1000)}s`, "debug");
      return this.close();
    }
    this.idleTimer = setTimeout(() => this.checkIdle(), Math.max(1000, IDLE_MS - (stuck ? quiet : 0)));
  }

  follow(off: () => void) {
    if (this.closed) return off(); // went away while the backlog was sent
    this.unfollow = off;
    this.followBase = this.outBytes;
    this.inbuf = "";
    this.inpos = 0;
    this.rearm();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.unfollow?.();
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    this.outbuf = [];
    this.outBytes = 0;
    this.server.forget(this);
  }
}

/** Units that did not load, with the problems that disabled them. */
function brokenUnits(m: Manager): { name: string; file: string; errors: string[] }[] {
  const broken = new Map<string, { name: string; file: string; errors: string[] }>();
  for (const d of m.config.diagnostics) {
    if (d.severity !== "error" || !d.unit || m.unit(d.unit) !== null) continue;
    const b = broken.get(d.unit) ?? { name: d.unit, file: d.file, errors: [] };
    b.errors.push(`${d.file}:${d.line}:${d.col}: ${d.message}`);
    broken.set(d.unit, b);
  }
  return [...broken.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The hardware watchdog as the control socket sees it (src/watchdog/hardware.ts). */
export interface WatchdogControl {
  state(): WatchdogState;
  /** A new runtime timeout (0 disarms); an error text, or null. */
  setRuntimeTimeout(sec: number): string | null;
}

/** What only PID 1 offers through the control socket. */
export interface SystemControls {
  watchdog: WatchdogControl | null;
  /** The kernel command line has hearth.debug=1: the debug verbs are accepted. */
  debugAllowed: boolean;
  /** The unit layers, for cat, enable, disable, mask and unmask (absent: those verbs are refused). */
  layers?: UnitLayers;
  /** daemon-reload (./daemon-reload.ts); absent: refused. */
  reload?: (reason: string) => ReloadOutcome;
  /** daemon-reexec (src/manager/reexec.ts): done once the reply is out; returns why it cannot be, or null. Absent: refused. */
  reexec?: (reason: string) => string | null;
}

/** At most this many control messages per window go to the log; the rest are counted. */
const LOG_BURST = 10;
const LOG_WINDOW_MS = 10_000;

export class ControlServer {
  readonly fd: number;
  private readonly connections = new Set<Connection>();
  private logWindowStart = 0;
  private logged = 0;
  private suppressed = 0;

  /** ownerUid: besides root, who may change anything (the manager's own user in run mode). */
  constructor(readonly path: string, private readonly manager: Manager, private readonly log: Logger,
    private readonly ownerUid: number,
    private readonly system: SystemControls = { watchdog: null, debugAllowed: false }) {
    this.fd = listenUnixStream(path, 0o666);
    getReactor().watch(this.fd, { read: true }, () => this.acceptAll());
  }

  private acceptAll() {
    for (;;) {
      const fd = acceptConnection(this.fd);
      if (fd === null) return;
      let peer: Credentials;
      try {
        peer = peerCredentials(fd);
      } catch {
        closeFd(fd); // gone before we asked
        continue;
      }
      if (this.connections.size >= MAX_CONNECTIONS) this.makeRoom(peer);
      this.connections.add(new Connection(fd, peer, this));
    }
  }

  /** Closes the connection idle the longest (a follower, or one waiting for a job, last). */
  private makeRoom(newcomer: Credentials) {
    const rank = (c: Connection) => (c.idle ? 0 : c.following ? 1 : 2);
    let victim: Connection | null = null;
    for (const c of this.connections) {
      if (!victim || rank(c) < rank(victim) || (rank(c) === rank(victim) && c.lastActivity < victim.lastActivity)) victim = c;
    }
    if (!victim) return;
    this.note(`control: ${MAX_CONNECTIONS} connections open; closed the oldest idle one (PID ${victim.peer.pid}, uid ${victim.peer.uid}) ` +
      `to let PID ${newcomer.pid} (uid ${newcomer.uid}) in`);
    victim.close();
  }

  /** Logs a message about a client, at most LOG_BURST per window: clients must not flood the log. */
  note(message: string, level: "warning" | "debug" = "warning") {
    const now = performance.now();
    if (now - this.logWindowStart >= LOG_WINDOW_MS) {
      if (this.suppressed > 0) this.log.warning(`control: ${this.suppressed} more messages about clients were not logged`);
      this.logWindowStart = now;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (++this.logged > LOG_BURST) this.suppressed++;
    else this.log[level](message);
  }

  forget(c: Connection) {
    this.connections.delete(c);
  }

  private privileged(peer: Credentials): boolean {
    return peer.uid === 0 || peer.uid === this.ownerUid;
  }

  /** Why an unprivileged peer may not do this request, or null. */
  private refusal(req: ControlRequest, peer: Credentials): string | null {
    if (this.privileged(peer)) return null;
    const who = `only root${this.ownerUid !== 0 ? ` or uid ${this.ownerUid}` : ""} may; uid ${peer.uid} may list, status, analyze and watchdog`;
    if (isMutating(req)) return `permission denied: ${req.verb} changes the system (${who})`;
    if (req.verb === "logs") return `permission denied: the units' output may hold secrets, as systemd's journal (${who})`;
    if (req.verb === "cat") return `permission denied: unit files may hold secrets the manager can read and you may not (${who})`;
    return null;
  }

  async handle(c: Connection, line: string) {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.note(`control: bad request from PID ${c.peer.pid} (uid ${c.peer.uid}): ${parsed.error}`);
      return c.send({ ok: false, exit: EXIT.usage, error: parsed.error });
    }
    const refused = this.refusal(parsed.req, c.peer);
    if (refused !== null) {
      this.note(`control: ${parsed.req.verb} from PID ${c.peer.pid} (uid ${c.peer.uid}) refused`);
      return c.send({ ok: false, exit: EXIT.failed, error: refused });
    }
    // Aliases name their unit; an instance of a template is made when named (systemctl's way).
    const req = { ...parsed.req, units: parsed.req.units.map((u) => this.manager.resolve(u) ?? u) };
    try {
      if (req.verb === "logs" && req.follow) return this.follow(c, req);
      c.send(await this.reply(req, c.peer));
    } catch (e) {
      this.log.err(`control: ${req.verb} failed: ${(e as Error).stack ?? e}`);
      c.send({ ok: false, exit: EXIT.failed, error: `internal error: ${(e as Error).message}` });
    }
  }

  /** The reply when a named unit is unknown or did not load; null when all are there. */
  private missingUnits(req: ControlRequest): Reply | null {
    const named = req.units.filter((u) => this.manager.unit(u) === null && !(LOG_SOURCES.has(u) && req.verb === "logs"));
    if (named.length === 0) return null;
    const broken = new Map(brokenUnits(this.manager).map((b) => [b.name, b]));
    // A name other units give that matches no unit is shown by status: Loaded: not-found.
    const shown = (u: string) => req.verb === "status" && (this.manager.config.notFound.has(u) || this.manager.config.masked?.has(u) === true);
    const missing = named.filter((u) => !broken.has(u) && !shown(u));
    if (missing.length > 0) return { ok: false, exit: EXIT.noSuchUnit, error: `unit ${missing.join(", ")} not found` };
    if (req.verb === "status") return null; // shown as systemctl does: Loaded: error (...) or not-found
    return { ok: false, exit: EXIT.failed, error: named.map((u) => `unit ${u} is not loaded: ${broken.get(u)!.errors[0]}`).join("; ") };
  }

  private async reply(req: ControlRequest, peer: Credentials): Promise<Reply> {
    const m = this.manager;
    const aboutFiles = UNIT_FILE_VERBS.has(req.verb); // files, loaded or not
    const masked = req.units.filter((u) => m.config.masked?.has(u) && m.unit(u) === null);
    if (!aboutFiles && masked.length > 0 && req.verb !== "status" && req.verb !== "logs") {
      return { ok: false, exit: EXIT.failed, error: masked.map((u) => `unit ${u} is masked`).join("; ") };
    }
    const missing = aboutFiles ? null : this.missingUnits(req);
    if (missing) return missing;
    switch (req.verb) {
      case "ping":
        return { ok: true, exit: EXIT.ok, pid: process.pid };
      case "analyze":
        return { ok: true, exit: EXIT.ok, timeline: timeline(m), security: securityReport(m.config.units.values()) };
      case "list-timers": {
        const units = m.units().filter((u) => u.kind === "timer").map((u) => unitStatus(m, u.name));
        return { ok: true, exit: EXIT.ok, units };
      }
      case "list": {
        const units = m.units().map((u) => unitStatus(m, u.name));
        return { ok: true, exit: EXIT.ok, units, broken: brokenUnits(m) };
      }
      case "status": {
        if (req.units.length === 0) {
          const units = m.units().map((u) => unitStatus(m, u.name)!);
          const failed = units.filter((u) => u.active === "failed").map((u) => u.name);
          return { ok: true, exit: EXIT.ok, manager: { pid: process.pid, units: units.length, failed } };
        }
        const lines = this.privileged(peer) ? req.lines : 0; // the output is root's, as the journal
        const broken = new Map(brokenUnits(m).map((b) => [b.name, b]));
        const units: UnitStatus[] = req.units.map((n) => unitStatus(m, n, lines) ?? (broken.has(n)
          ? notLoadedStatus(n, broken.get(n)!.file, broken.get(n)!.errors)
          : m.config.masked?.has(n) ? maskedStatus(n) : notFoundStatus(n, m.config.notFound.get(n) ?? [])));
        const allActive = units.every((u) => u.active === "active" || u.active === "reloading");
        const hint = lines < req.lines ? { hint: "the units' output is shown to root only (hearth ctl logs, as root)" } : {};
        // As systemctl status: an inactive unit that is not found answers 4.
        const exit = units.some((u) => u.load === "not-found") ? EXIT.noSuchUnit : allActive ? EXIT.ok : EXIT.inactive;
        return { ok: true, exit, units, ...hint };
      }
      case "logs": {
        const unit = req.units[0] ?? null;
        return { ok: true, exit: EXIT.ok, logs: m.logs(unit, req.lines) };
      }
      case "poweroff": case "reboot": case "halt":
        // Answered first: the way down closes this socket.
        setTimeout(() => m.power(req.verb as "poweroff", `hearth ctl ${req.verb} from PID ${peer.pid}`), 0);
        return { ok: true, exit: EXIT.ok };
      case "watchdog":
        return this.watchdog(req);
      case "debug":
        return this.debug(req, peer.pid);
      case "reset-failed":
        if (req.units.length === 0) m.resetFailed(null);
        for (const u of req.units) m.resetFailed(u);
        return { ok: true, exit: EXIT.ok };
      case "cat":
        return unitFileVerb(req, this.system.layers ?? null, this.log);
      case "enable": case "disable": case "mask": case "unmask": {
        // As systemctl: the files changed, then a daemon-reload.
        const done = unitFileVerb(req, this.system.layers ?? null, this.log);
        if (!done.changed) return done;
        const reloaded = this.daemonReload(`hearth ctl ${req.verb} from PID ${peer.pid}`);
        return reloaded.ok ? done : { ...reloaded, text: done.text };
      }
      case "daemon-reload":
        return this.daemonReload(`hearth ctl daemon-reload from PID ${peer.pid}`);
      case "daemon-reexec": {
        if (!this.system.reexec) return { ok: false, exit: EXIT.failed, error: "this manager cannot re-execute itself" };
        const error = this.system.reexec(`hearth ctl daemon-reexec from PID ${peer.pid}`);
        return error === null ? { ok: true, exit: EXIT.ok, text: "Re-executing" } : { ok: false, exit: EXIT.failed, error };
      }
      case "start": case "stop": case "restart": case "reload": case "isolate": {
        const results = await Promise.all(req.units.map((u) => m.request(req.verb as "start", u)));
        const failed = results.filter((r) => r.result !== "done");
        return {
          ok: failed.length === 0,
          exit: failed.length === 0 ? EXIT.ok : EXIT.failed,
          jobs: results,
          ...(failed.length > 0 ? { error: failed.map((r) => `${r.job} ${r.unit}: ${r.result} (${r.reason})`).join("; ") } : {}),
        };
      }
    }
  }

  private daemonReload(reason: string): Reply {
    if (!this.system.reload) return { ok: false, exit: EXIT.failed, error: "this manager cannot reload its configuration" };
    const r = this.system.reload(reason);
    return r.ok ? { ok: true, exit: EXIT.ok, text: [...r.warnings, r.text].join("\n") } : { ok: false, exit: EXIT.failed, error: r.error, errors: r.errors };
  }

  private watchdog(req: ControlRequest): Reply {
    const wd = this.system.watchdog;
    if (wd === null) return { ok: false, exit: EXIT.failed, error: "no hardware watchdog: only PID 1 owns it (hearth run leaves it alone)" };
    const error = req.setTimeoutSec === undefined ? null : wd.setRuntimeTimeout(req.setTimeoutSec);
    return { ok: error === null, exit: error === null ? EXIT.ok : EXIT.failed, watchdog: wd.state(), ...(error ? { error } : {}) };
  }

  private debug(req: ControlRequest, peerPid: number): Reply {
    if (!this.system.debugAllowed) {
      this.log.warning(`control: debug ${req.debug!.action} from PID ${peerPid} refused: no hearth.debug=1 on the kernel command line`);
      return { ok: false, exit: EXIT.failed, error: "debug requests are refused: the kernel command line has no hearth.debug=1" };
    }
    const seconds = req.debug!.seconds;
    // Answered first: nothing is sent once the loop is frozen.
    setTimeout(() => {
      this.log.warning(`Freezing the manager loop ${seconds === undefined ? "for good" : `for ${seconds}s`} ` +
        `(hearth ctl debug freeze from PID ${peerPid}): no timer runs, the hardware watchdog is not pinged`);
      freezeLoop(seconds === undefined ? Infinity : seconds * 1000);
      this.log.notice(`The manager loop runs again after a ${seconds}s freeze`);
    }, 0);
    return { ok: true, exit: EXIT.ok };
  }

  private follow(c: Connection, req: ControlRequest) {
    const unit = req.units[0] ?? null;
    for (const e of this.manager.logs(unit, req.lines)) c.send({ log: e });
    c.follow(this.manager.follow(unit, (e) => c.send({ log: e })));
  }

  close() {
    for (const c of [...this.connections]) c.close();
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}
