// The notify socket: receives sd_notify datagrams with the sender's credentials,
// parses them, and hands well-formed messages on. Malformed ones are logged with the
// sender and dropped; what is said about a sender is rate-limited (log-limit.ts), since
// every local user may write here. Fds sent with FDSTORE=1 go on with the message (the
// receiver keeps or closes them); every other fd is closed here, BARRIER=1's at once so
// that the sender unblocks.
//
// A sender is known only by the credentials the kernel attaches (SO_PASSCRED): its pid
// is what the receiver matches against its units before acting on anything. Only root
// can claim another pid, as in systemd.
import { chmodSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { getReactor } from "../../ffi/reactor.ts";
import { close as closeFd } from "../../ffi/fd.ts";
import { DatagramDrain, NOTIFY_DATAGRAM_MAX, notifySocket, type ReceivedDatagram } from "../../ffi/socket.ts";
import type { Logger } from "../log/manager-log.ts";
import { LogLimit, type Suppressed } from "./log-limit.ts";
import { parseNotify, type NotifyMessage } from "../engine/notify-message.ts";

export interface NotifyArrival {
  pid: number;
  uid: number;
  gid: number;
  msg: NotifyMessage;
  /** With FDSTORE=1: the fds that came along, now the receiver's to keep or close. */
  fds: number[];
}

// Datagrams taken per system call (recvmmsg), and handled per wake-up before the other
// fds get their turn: a flooding sender must not keep the control socket or other units
// waiting (the kernel's queue of a datagram socket is short anyway: net.unix.max_dgram_qlen).
const PER_CALL = 16;
const PER_WAKEUP = 64;

export class NotifyServer {
  readonly fd: number;
  private readonly limit = new LogLimit();
  private readonly queue: DatagramDrain;
  private flushTimer: Timer | null = null;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    private readonly deliver: (m: NotifyArrival) => void,
    private readonly now: () => number = () => performance.now(),
    adoptedFd?: number, // daemon-reexec: the socket of the process before, bound at `path` (what was sent meanwhile waits in it)
  ) {
    this.fd = adoptedFd ?? notifySocket(path);
    this.queue = new DatagramDrain(this.fd, PER_WAKEUP, PER_CALL, NOTIFY_DATAGRAM_MAX, (batch) => {
      for (const d of batch) {
        const arrival = this.accept(d);
        if (arrival) this.handOn(arrival);
      }
    });
    if (!path.startsWith("@")) {
      try {
        reachableByEveryone(path);
      } catch (e) {
        log.warning(`notify socket ${path}: services running as other users cannot reach it: ${(e as Error).message}`);
      }
    }
    getReactor().watch(this.fd, { read: true }, () => this.drain());
  }

  /**
   * Handles the datagrams waiting (at most PER_WAKEUP), in the order they came; also
   * called before exits are reaped. A call from within a delivery does nothing: the
   * batch being handled goes on, in order.
   */
  drain() {
    this.queue.drain();
  }

  /** A datagram parsed, its fds kept or closed; null (logged) when it is to be dropped. */
  private accept(d: ReceivedDatagram): NotifyArrival | null {
    const sender = { pid: d.pid, uid: d.uid };
    const parsed = d.truncated || d.pid <= 0 ? null : parseNotify(d.data);
    const keep = parsed?.ok === true && parsed.msg.fdStore && !parsed.msg.barrier;
    if (!keep) for (const fd of d.fds) closeFd(fd); // BARRIER=1: closing its fd is the whole answer
    if (d.pid <= 0) {
      this.warn(sender, (who) => `notify: datagram without sender credentials (${who}): dropped`);
      return null;
    }
    if (parsed === null) {
      this.warn(sender, (who) => `notify: truncated datagram from ${who} (longer than ${NOTIFY_DATAGRAM_MAX} bytes, or more fds than fit): dropped`);
      return null;
    }
    if (!parsed.ok) {
      this.warn(sender, (who) => `notify: malformed datagram from ${who}: ${parsed.error}`);
      return null;
    }
    for (const w of parsed.msg.warnings) this.warn(sender, (who) => `notify: from ${who}: ${w}`);
    if (parsed.msg.barrier) return null;
    return { pid: d.pid, uid: d.uid, gid: d.gid, msg: parsed.msg, fds: keep ? d.fds : [] };
  }

  private handOn(arrival: NotifyArrival) {
    try {
      this.deliver(arrival);
    } catch (e) {
      // The fds may be stored already: a leak is better than closing one twice.
      this.log.err(`notify: handling message from ${describe(arrival)} failed: ${(e as Error).stack ?? e}`);
    }
  }

  /**
   * Logs, within the sender's rate limit, that its notification was refused; with `log`
   * (a unit's log) the text goes there as it is, since it names the sender already.
   */
  refused(sender: { pid: number; uid: number }, why: string, log?: (text: string) => void) {
    this.warn(sender, (who) => log ? why : `notification from ${who} ${why}`, log);
  }

  close() {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.flush();
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    if (!this.path.startsWith("@")) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }

  /** Logs a line about a sender ("PID 42 (uid 0)"), unless it said too much lately. */
  private warn(sender: { pid: number; uid: number }, line: (who: string) => string,
    log: (text: string) => void = (text) => this.log.warning(text)) {
    const who = describe(sender);
    if (this.limit.allow(who, this.now())) {
      log(line(who));
      return;
    }
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, this.limit.intervalMs);
  }

  private flush() {
    for (const s of this.limit.flush(this.now())) this.log.warning(`notify: ${suppressedLine(s)}`);
  }
}

function describe(sender: { pid: number; uid: number }): string {
  return `PID ${sender.pid} (uid ${sender.uid})`;
}

function suppressedLine(s: Suppressed): string {
  const from = s.sender ?? `${s.senders} other sender${s.senders === 1 ? "" : "s"}`;
  return `suppressed ${s.count} message${s.count === 1 ? "" : "s"} about ${from}`;
}

/**
 * Services run as any user, so, as systemd's /run/systemd/notify, the socket is writable
 * by everyone (bind gave it the manager's umask) and its directory searchable; a sender
 * is known by the credentials the kernel attaches, never by the socket's mode. Only the
 * search bits are added to the directory: its listing stays as private as it was.
 */
function reachableByEveryone(path: string) {
  chmodSync(path, 0o777);
  const dir = dirname(path);
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o011) !== 0o011) chmodSync(dir, mode | 0o011);
}
