// The control socket: RUNDIR/control.sock, JSON lines, the peer's uid from SO_PEERCRED.
// Every connection is non-blocking and bounded (request size, pending output, count),
// so a slow or hostile client can only hurt itself.
import { chmodSync, unlinkSync } from "node:fs";
import { getReactor } from "../../ffi/reactor.ts";
import { close as closeFd, readNonBlocking as readSome, writeSome } from "../../ffi/fd.ts";
import { acceptConnection, listenUnixStream, peerCredentials } from "../../ffi/socket.ts";
import type { Manager } from "../manager/manager.ts";
import type { Logger } from "../log/manager-log.ts";
import type { WatchdogState } from "../watchdog/hardware.ts";
import { freezeLoop } from "./debug.ts";
import { EXIT, isMutating, MAX_REQUEST_BYTES, parseRequest, type ControlRequest } from "./protocol.ts";
import { timeline, unitStatus } from "./status.ts";

const MAX_CONNECTIONS = 64;
const MAX_PENDING_OUTPUT = 4 * 1024 * 1024; // a follower that does not read is dropped

type Reply = Record<string, unknown> & { ok: boolean; exit: number };

class Connection {
  private inbuf = "";
  private outbuf: Uint8Array[] = [];
  private outBytes = 0;
  private closed = false;
  private unfollow: (() => void) | null = null;
  private readonly decoder = new TextDecoder();
  private readonly buf = new Uint8Array(16384);

  constructor(
    readonly fd: number,
    readonly peer: { pid: number; uid: number; gid: number },
    private readonly server: ControlServer,
  ) {
    getReactor().watch(fd, { read: true }, (ev) => this.onReady(ev));
  }

  private onReady(ev: { readable: boolean; writable: boolean; hangup: boolean }) {
    if (ev.writable) this.flush();
    if (!ev.readable && !ev.hangup) return;
    for (;;) {
      let n: number | "again" | "eof";
      try {
        n = readSome(this.fd, this.buf);
      } catch {
        return this.close(); // ECONNRESET and friends
      }
      if (n === "again") break;
      if (n === "eof") return this.close();
      this.inbuf += this.decoder.decode(this.buf.subarray(0, n), { stream: true });
      if (this.inbuf.length > MAX_REQUEST_BYTES && !this.inbuf.includes("\n")) {
        this.send({ ok: false, exit: EXIT.usage, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
        return this.close();
      }
      let nl: number;
      while ((nl = this.inbuf.indexOf("\n")) >= 0) {
        const line = this.inbuf.slice(0, nl);
        this.inbuf = this.inbuf.slice(nl + 1);
        if (line.trim() !== "") void this.server.handle(this, line);
      }
    }
  }

  send(obj: unknown) {
    if (this.closed) return;
    const bytes = new TextEncoder().encode(JSON.stringify(obj) + "\n");
    this.outbuf.push(bytes);
    this.outBytes += bytes.length;
    if (this.outBytes > MAX_PENDING_OUTPUT) return this.close();
    this.flush();
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
      if (n === "again") {
        getReactor().watch(this.fd, { read: true, write: true }, (ev) => this.onReady(ev));
        return;
      }
      this.outBytes -= n;
      if (n < head.length) this.outbuf[0] = head.subarray(n);
      else this.outbuf.shift();
    }
    if (!this.closed) getReactor().watch(this.fd, { read: true }, (ev) => this.onReady(ev));
  }

  setFollower(off: () => void) {
    this.unfollow = off;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.unfollow?.();
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    this.server.forget(this);
  }
}

/** Units that did not load, with the problems that disabled them. */
function brokenUnits(m: Manager): { name: string; errors: string[] }[] {
  const broken = new Map<string, string[]>();
  for (const d of m.config.diagnostics) {
    if (d.severity !== "error" || !d.unit || m.unit(d.unit) !== null) continue;
    const list = broken.get(d.unit) ?? [];
    list.push(`${d.file}:${d.line}:${d.col}: ${d.message}`);
    broken.set(d.unit, list);
  }
  return [...broken].sort().map(([name, errors]) => ({ name, errors }));
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
}

export class ControlServer {
  readonly fd: number;
  private readonly connections = new Set<Connection>();

  constructor(readonly path: string, private readonly manager: Manager, private readonly log: Logger,
    private readonly mode: number, private readonly ownerUid: number,
    private readonly system: SystemControls = { watchdog: null, debugAllowed: false }) {
    this.fd = listenUnixStream(path, mode);
    chmodSync(path, mode);
    getReactor().watch(this.fd, { read: true }, () => this.acceptAll());
  }

  private acceptAll() {
    for (;;) {
      const fd = acceptConnection(this.fd);
      if (fd === null) return;
      if (this.connections.size >= MAX_CONNECTIONS) {
        this.log.warning(`control: more than ${MAX_CONNECTIONS} connections, refusing one`);
        closeFd(fd);
        continue;
      }
      const peer = peerCredentials(fd);
      this.connections.add(new Connection(fd, peer, this));
    }
  }

  forget(c: Connection) {
    this.connections.delete(c);
  }

  async handle(c: Connection, line: string) {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.log.warning(`control: bad request from PID ${c.peer.pid} (uid ${c.peer.uid}): ${parsed.error}`);
      return c.send({ ok: false, exit: EXIT.usage, error: parsed.error });
    }
    const req = parsed.req;
    if (isMutating(req) && c.peer.uid !== 0 && c.peer.uid !== this.ownerUid) {
      this.log.warning(`control: ${req.verb} from PID ${c.peer.pid} (uid ${c.peer.uid}) refused`);
      return c.send({ ok: false, exit: EXIT.failed, error: "permission denied" });
    }
    try {
      if (req.verb === "logs" && req.follow) return this.follow(c, req);
      c.send(await this.reply(req, c.peer.pid));
    } catch (e) {
      this.log.err(`control: ${req.verb} failed: ${(e as Error).stack ?? e}`);
      c.send({ ok: false, exit: EXIT.failed, error: `internal error: ${(e as Error).message}` });
    }
  }

  private unknownUnits(req: ControlRequest): string[] {
    return req.units.filter((u) => this.manager.unit(u) === null && u !== "hearth");
  }

  private async reply(req: ControlRequest, peerPid: number): Promise<Reply> {
    const m = this.manager;
    const missing = this.unknownUnits(req);
    if (missing.length > 0) return { ok: false, exit: EXIT.noSuchUnit, error: `unit ${missing.join(", ")} not found` };
    switch (req.verb) {
      case "ping":
        return { ok: true, exit: EXIT.ok, pid: process.pid };
      case "analyze":
        return { ok: true, exit: EXIT.ok, timeline: timeline(m) };
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
        const units = req.units.map((n) => unitStatus(m, n, req.lines)!);
        const allActive = units.every((u) => u.active === "active" || u.active === "reloading");
        return { ok: true, exit: allActive ? EXIT.ok : EXIT.inactive, units };
      }
      case "logs": {
        const unit = req.units[0] ?? null;
        return { ok: true, exit: EXIT.ok, logs: m.logs(unit, req.lines) };
      }
      case "poweroff": case "reboot": case "halt":
        // Answered first: the way down closes this socket.
        setTimeout(() => m.power(req.verb as "poweroff", `hearth ctl ${req.verb} from PID ${peerPid}`), 0);
        return { ok: true, exit: EXIT.ok };
      case "watchdog":
        return this.watchdog(req);
      case "debug":
        return this.debug(req, peerPid);
      case "reset-failed":
        if (req.units.length === 0) m.resetFailed(null);
        for (const u of req.units) m.resetFailed(u);
        return { ok: true, exit: EXIT.ok };
      case "start": case "stop": case "restart": case "reload": {
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
    c.setFollower(this.manager.follow(unit, (e) => c.send({ log: e })));
  }

  close() {
    for (const c of [...this.connections]) c.close();
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}
