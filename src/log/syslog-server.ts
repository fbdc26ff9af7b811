// The syslog socket: /dev/log as PID 1 (RUNDIR/log under `hearth run`), where syslog(3),
// logger(1) and daemons' own syslog clients send one datagram per message. Each comes
// with the sender's pid, uid and gid from the kernel (SO_PASSCRED): that, never the
// header's TAG[PID], tells the receiver whose message it is. Receiving never blocks and
// is bounded per wake-up, as on the notify socket, so a flood waits in the kernel's queue
// (where the sender blocks, as syslog(3) does when no one reads) instead of in PID 1.
import { chmodSync, unlinkSync } from "node:fs";
import { getReactor } from "../../ffi/reactor.ts";
import { close as closeFd } from "../../ffi/fd.ts";
import { credentialedDatagramSocket, DatagramDrain, type ReceivedDatagram } from "../../ffi/socket.ts";

/**
 * The bytes kept of one message. glibc's syslog(3) sends any length the socket takes;
 * longer ones are cut here and marked, as rsyslog's maxMessageSize (8 KiB) does.
 */
export const SYSLOG_DATAGRAM_MAX = 8192;

/**
 * Room for bursts while PID 1 is busy: 2 MiB holds a few hundred full messages (each
 * costs its size and the kernel's overhead). The kernel charges only what is queued.
 */
export const SYSLOG_RECEIVE_BUFFER = 2 * 1024 * 1024;

const PER_CALL = 16;
const PER_WAKEUP = 64;

export type SyslogBatch = readonly ReceivedDatagram[];

export class SyslogServer {
  readonly fd: number;
  private readonly queue: DatagramDrain;

  /**
   * `deliver` gets each batch of datagrams as received (the payloads are views, valid
   * until it returns); it must not throw. Fds passed along are closed here.
   */
  constructor(readonly path: string, deliver: (batch: SyslogBatch) => void) {
    this.fd = credentialedDatagramSocket(path, SYSLOG_RECEIVE_BUFFER);
    this.queue = new DatagramDrain(this.fd, PER_WAKEUP, PER_CALL, SYSLOG_DATAGRAM_MAX, (batch) => {
      for (const d of batch) for (const fd of d.fds) closeFd(fd); // syslog passes no fds
      deliver(batch);
    });
    // Every user logs: writable by all, as /dev/log always is (the sender is known by its credentials).
    try {
      if (!path.startsWith("@")) chmodSync(path, 0o666);
    } catch (e) {
      closeFd(this.fd);
      throw e;
    }
    getReactor().watch(this.fd, { read: true }, () => this.drain());
  }

  /** Handles what is waiting, at most PER_WAKEUP datagrams; also called before exits are reaped. */
  drain() {
    this.queue.drain();
  }

  close() {
    getReactor().unwatch(this.fd);
    closeFd(this.fd);
    if (!this.path.startsWith("@")) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }
}
