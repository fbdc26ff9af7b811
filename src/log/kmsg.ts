// The kernel's log, read from /dev/kmsg as journald's ReadKMsg= does: one record per
// read(2), "PRI,SEQ,USEC,FLAGS;TEXT\n" then " KEY=VALUE" lines (Documentation/ABI/testing/
// dev-kmsg). A new reader starts at the oldest record the kernel still holds, so the
// boot's messages come first. Non-blocking and bounded per wake-up: a chatty driver waits
// its turn. Records that were overwritten before they were read (EPIPE) are skipped.
import { E, O } from "../../ffi/constants.ts";
import { close, openFile, readNonBlocking } from "../../ffi/fd.ts";
import { getReactor } from "../../ffi/reactor.ts";
import { SysError } from "../../ffi/libc.ts";

export interface KmsgRecord {
  /** 0 (kern) for the kernel's own; what userspace writes to /dev/kmsg is 1 (user) unless it says. */
  facility: number;
  severity: number;
  seq: number;
  /** Microseconds since boot, on the kernel's printk clock. */
  usec: number;
  text: string;
}

/** One record; null when it is not one (the header is not four numbers and flags). */
export function parseKmsg(record: string): KmsgRecord | null {
  const semi = record.indexOf(";");
  if (semi < 0 || semi > 128) return null;
  const fields = record.slice(0, semi).split(",");
  if (fields.length < 4) return null;
  const [pri, seq, usec] = fields.map(Number) as [number, number, number];
  if (![pri, seq, usec].every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
  const end = record.indexOf("\n", semi);
  return {
    facility: pri >> 3, severity: pri & 7, seq, usec,
    text: record.slice(semi + 1, end < 0 ? undefined : end),
  };
}

const PER_WAKEUP = 256;
// A record's text is at most about 1 KiB (PRINTK_MESSAGE_MAX), its dictionary a little more.
const RECORD_MAX = 8192;

export class KmsgReader {
  private fd: number;
  private readonly buffer = new Uint8Array(RECORD_MAX);
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });

  /** Opens `path` (throws when it cannot); `failed` is told when reading breaks, and reading stops. */
  constructor(
    private readonly deliver: (record: KmsgRecord) => void,
    private readonly failed: (why: string) => void,
    path = "/dev/kmsg",
  ) {
    this.fd = openFile(path, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
    // Read from the loop, not here: the boot's backlog waits until the units are on their way.
    getReactor().watch(this.fd, { read: true }, () => this.drain());
  }

  drain() {
    for (let i = 0; i < PER_WAKEUP && this.fd >= 0; i++) {
      let n;
      try {
        n = readNonBlocking(this.fd, this.buffer);
      } catch (e) {
        if (e instanceof SysError && e.errno === E.EPIPE) continue; // overwritten before we read it: the next one
        this.close();
        this.failed((e as Error).message);
        return;
      }
      if (n === "again" || n === "eof") return;
      const record = parseKmsg(this.decoder.decode(this.buffer.subarray(0, n)));
      if (record) this.deliver(record);
    }
  }

  close() {
    if (this.fd < 0) return;
    getReactor().unwatch(this.fd);
    close(this.fd);
    this.fd = -1;
  }
}
