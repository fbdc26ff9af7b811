// The notify socket: receives sd_notify datagrams with the sender's credentials,
// parses them, and hands well-formed messages on. Malformed ones are logged with the
// sender and dropped; every fd that arrives is closed (the fd store comes with the
// sockets work), and BARRIER=1's fd is closed at once so the sender unblocks.
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
}

// Datagrams handled per wake-up before yielding to other fds.
const BATCH = 16;

export class NotifyServer {
  readonly fd: number;

  constructor(readonly path: string, private readonly log: Logger, private readonly deliver: (m: NotifyArrival) => void) {
    this.fd = notifySocket(path);
    getReactor().watch(this.fd, { read: true }, () => this.drain());
  }

  private drain() {
    for (let i = 0; i < BATCH; i++) {
      const d = recvWithCredentials(this.fd);
      if (d === null) return;
      for (const fd of d.fds) closeFd(fd);
      const who = `PID ${d.pid} (uid ${d.uid})`;
      if (d.truncated) {
        this.log.warning(`notify: datagram from ${who} too long or carrying too many fds: dropped`);
        continue;
      }
      const parsed = parseNotify(d.data);
      if (!parsed.ok) {
        this.log.warning(`notify: malformed datagram from ${who}: ${parsed.error}`);
        continue;
      }
      for (const w of parsed.msg.warnings) this.log.warning(`notify: from ${who}: ${w}`);
      if (parsed.msg.barrier) continue; // its fd is closed above: that is the whole answer
      if (parsed.msg.fdStore && d.fds.length > 0) {
        this.log.notice(`notify: FDSTORE=1 from ${who}: the fd store is not available yet, fds closed`);
      }
      try {
        this.deliver({ pid: d.pid, uid: d.uid, gid: d.gid, msg: parsed.msg });
      } catch (e) {
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
