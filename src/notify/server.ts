// The notify socket: receives sd_notify datagrams with the sender's credentials,
// parses them, and hands well-formed messages on. Malformed ones are logged with the
// sender and dropped. Fds sent with FDSTORE=1 go on with the message (the receiver
// keeps or closes them); every other fd is closed here, BARRIER=1's at once so that
// the sender unblocks.
import { unlinkSync } from "node:fs";
import { getReactor } from "../../ffi/reactor.ts";
import { close as closeFd } from "../../ffi/fd.ts";
import { notifySocket, recvWithCredentials } from "../../ffi/socket.ts";
import type { Logger } from "../log/manager-log.ts";
import { parseNotify, type NotifyMessage } from "./parse.ts";

export interface NotifyArrival {
  pid: number;
  uid: number;
  gid: number;
  msg: NotifyMessage;
  /** With FDSTORE=1: the fds that came along, now the receiver's to keep or close. */
  fds: number[];
}

// Datagrams handled per wake-up before yielding to other fds.
const BATCH = 16;

export class NotifyServer {
  readonly fd: number;

  constructor(readonly path: string, private readonly log: Logger, private readonly deliver: (m: NotifyArrival) => void) {
    this.fd = notifySocket(path);
    getReactor().watch(this.fd, { read: true }, () => this.drain());
  }

  /** Handles the datagrams waiting (at most BATCH); also called before exits are reaped. */
  drain() {
    for (let i = 0; i < BATCH; i++) {
      const d = recvWithCredentials(this.fd);
      if (d === null) return;
      const who = `PID ${d.pid} (uid ${d.uid})`;
      const parsed = d.truncated ? null : parseNotify(d.data);
      const keep = parsed?.ok === true && parsed.msg.fdStore && !parsed.msg.barrier;
      if (!keep) for (const fd of d.fds) closeFd(fd); // BARRIER=1: closing its fd is the whole answer
      if (parsed === null) {
        this.log.warning(`notify: datagram from ${who} too long or carrying too many fds: dropped`);
        continue;
      }
      if (!parsed.ok) {
        this.log.warning(`notify: malformed datagram from ${who}: ${parsed.error}`);
        continue;
      }
      for (const w of parsed.msg.warnings) this.log.warning(`notify: from ${who}: ${w}`);
      if (parsed.msg.barrier) continue;
      const fds = keep ? d.fds : [];
      try {
        this.deliver({ pid: d.pid, uid: d.uid, gid: d.gid, msg: parsed.msg, fds });
      } catch (e) {
        // The fds may be stored already: a leak is better than closing one twice.
        this.log.err(`notify: handling message from ${who} failed: ${(e as Error).stack ?? e}`);
      }
    }
  }

  close() {
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    if (!this.path.startsWith("@")) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }
}
