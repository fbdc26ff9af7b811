// The manager's one connection to the system bus, to learn who owns the bus names of
// its units (type = "dbus"). It never blocks: connect(2) on a unix stream socket
// completes at once or fails, and everything after it is read and written as the
// reactor says the socket is ready. Not connected, it tries again on a growing delay
// (and at once when kicked: a unit became active, maybe the bus); a connection that
// fails — refused, malformed input, no answer to the handshake — is closed with the
// reason logged, and tried again the same way. Nothing here decides anything about a
// unit: each owner the bus reports goes to the manager as it is.
import type { ReadResult } from "../../ffi/fd.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import { BusProtocol } from "./protocol.ts";

export interface BusIo {
  reactor: Reactor;
  /** A non-blocking, close-on-exec stream connection to a unix socket ("/path" or "@abstract"); throws why not. */
  connect(socket: string): number;
  read(fd: number, buf: Uint8Array): ReadResult;
  write(fd: number, data: Uint8Array): number | "again";
  close(fd: number): void;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export interface BusWatcherOptions {
  socket: string; // from the bus address (src/dbus/names.ts)
  uid: number;
  names: readonly string[];
  /** The owner of a watched name now (null: none); after each (re)connection, every name once. */
  owner(name: string, owner: string | null): void;
  log(level: "debug" | "info" | "warning", text: string): void;
}

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
/** A bus that accepted us but does not finish the handshake in this time is left and tried again. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** At most this much is read per wake-up, so that a chatty bus cannot hold the manager. */
const READS_PER_WAKEUP = 16;
const READ_CHUNK = 16 * 1024;
/** What may wait to be written: our requests are small; more means the bus does not read. */
const MAX_UNSENT = 256 * 1024;

export class BusWatcher {
  private fd = -1;
  private protocol: BusProtocol | null = null;
  private unsent: Uint8Array[] = [];
  private unsentBytes = 0;
  private retryTimer: unknown = null;
  private handshakeTimer: unknown = null;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;
  private lastProblem = ""; // said once until it changes, not at every retry
  private readonly buf = new Uint8Array(READ_CHUNK);

  constructor(private readonly io: BusIo, private readonly opts: BusWatcherOptions) {}

  get connected(): boolean {
    return this.fd >= 0;
  }

  /** Connect now if not connected (the bus may just have come up). */
  kick() {
    if (this.closed || this.fd >= 0) return;
    this.cancelRetry();
    this.retryMs = RETRY_FIRST_MS;
    this.connect();
  }

  close() {
    this.closed = true;
    this.cancelRetry();
    this.drop();
  }

  private connect() {
    try {
      this.fd = this.io.connect(this.opts.socket);
    } catch (e) {
      this.problem(`cannot connect to the system bus at ${this.opts.socket}: ${(e as Error).message}`, "debug");
      return this.scheduleRetry();
    }
    const fd = this.fd;
    this.protocol = new BusProtocol(this.opts.uid, this.opts.names, {
      send: (bytes) => this.send(fd, bytes),
      owner: (name, owner) => {
        if (this.handshakeTimer !== null) this.finishHandshake();
        this.opts.owner(name, owner);
      },
      fail: (reason) => this.fail(fd, reason, "warning"),
    });
    this.handshakeTimer = this.io.setTimer(HANDSHAKE_TIMEOUT_MS, () => {
      this.handshakeTimer = null;
      this.fail(fd, `no answer to the handshake within ${HANDSHAKE_TIMEOUT_MS / 1000}s`, "warning");
    });
    this.watch();
    this.protocol.start();
  }

  private finishHandshake() {
    this.io.clearTimer(this.handshakeTimer);
    this.handshakeTimer = null;
    this.retryMs = RETRY_FIRST_MS;
    if (this.lastProblem !== "") this.opts.log("info", `connected to the system bus at ${this.opts.socket}`);
    this.lastProblem = "";
  }

  private watch() {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.io.reactor.watch(fd, { read: true, write: this.unsent.length > 0 }, (ready) => {
      if (this.fd !== fd) return;
      if (ready.writable) this.flush(fd);
      if (this.fd === fd && (ready.readable || ready.hangup)) this.readSome(fd);
      if (this.fd === fd) this.watch(); // write interest follows what is left to send
    });
  }

  private readSome(fd: number) {
    for (let i = 0; i < READS_PER_WAKEUP && this.fd === fd; i++) {
      let n: ReadResult;
      try {
        n = this.io.read(fd, this.buf);
      } catch (e) {
        return this.fail(fd, `read: ${(e as Error).message}`);
      }
      if (n === "again") return;
      if (n === "eof") return this.fail(fd, "the bus closed the connection");
      this.protocol!.receive(this.buf.subarray(0, n));
    }
  }

  private send(fd: number, bytes: Uint8Array) {
    if (this.fd !== fd) return;
    this.unsentBytes += bytes.length;
    if (this.unsentBytes > MAX_UNSENT) return this.fail(fd, "the bus does not read what we send");
    this.unsent.push(bytes);
    this.flush(fd);
  }

  private flush(fd: number) {
    while (this.fd === fd && this.unsent.length > 0) {
      const head = this.unsent[0]!;
      let n: number | "again";
      try {
        n = this.io.write(fd, head);
      } catch (e) {
        return this.fail(fd, `write: ${(e as Error).message}`);
      }
      if (n === "again") return;
      this.unsentBytes -= n;
      if (n < head.length) this.unsent[0] = head.subarray(n);
      else this.unsent.shift();
    }
  }

  /**
   * `level`: what the bus sent was wrong (malformed, refused, silent): a warning. A closed
   * or failing socket is one too once the bus knew us; before that it is a bus not up yet.
   */
  private fail(fd: number, reason: string, level?: "warning") {
    if (this.fd !== fd) return;
    this.problem(`system bus connection closed: ${reason}`, level ?? (this.protocol?.helloDone ? "warning" : "debug"));
    this.drop();
    this.scheduleRetry();
  }

  private problem(text: string, level: "debug" | "warning") {
    if (text === this.lastProblem) return;
    this.lastProblem = text;
    this.opts.log(level, text);
  }

  private drop() {
    if (this.handshakeTimer !== null) this.io.clearTimer(this.handshakeTimer);
    this.handshakeTimer = null;
    this.protocol = null;
    this.unsent = [];
    this.unsentBytes = 0;
    if (this.fd < 0) return;
    this.io.reactor.unwatch(this.fd);
    this.io.close(this.fd);
    this.fd = -1;
  }

  private scheduleRetry() {
    if (this.closed || this.retryTimer !== null) return;
    const ms = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = this.io.setTimer(ms, () => {
      this.retryTimer = null;
      if (!this.closed && this.fd < 0) this.connect();
    });
  }

  private cancelRetry() {
    if (this.retryTimer !== null) this.io.clearTimer(this.retryTimer);
    this.retryTimer = null;
  }
}
