// What reaches the manager's log other than through a unit's pipe: syslog messages
// (/dev/log, RUNDIR/log under `hearth run`) and the kernel's (/dev/kmsg). Each syslog
// message goes to the unit its sender belongs to, found from the kernel's credentials
// (the pid's cgroup, or the process the shell spawned), never from the TAG the message
// claims; one whose sender belongs to no unit goes to the "syslog" pseudo-unit, the
// kernel's to "kernel". What a sender says is rate-limited per unit (per uid outside
// any unit: forking does not buy a fresh allowance), so a flood costs a receive and a
// counter, not a line in the ring, and is told afterwards in one "suppressed" line.
import type { LogRecord } from "../log/ring.ts";
import type { KmsgRecord } from "../log/kmsg.ts";
import { parseSyslog } from "../log/syslog-parse.ts";
import { SYSLOG_DATAGRAM_MAX, type SyslogBatch } from "../log/syslog-server.ts";
import { LogLimit, type LogLimitOptions } from "../notify/log-limit.ts";

/** Where messages from no unit go, and the kernel's. */
export const SYSLOG_UNIT = "syslog";
export const KERNEL_UNIT = "kernel";

/**
 * Lines per unit and 10 s (journald allows 10000 per 30 s per service; a board's rings
 * are smaller): enough for a daemon's start-up chatter, not for a loop that logs.
 */
export const SYSLOG_LIMIT: LogLimitOptions = { intervalMs: 10_000, burst: 1000, totalBurst: 10_000, maxSenders: 256 };

const SENDER_CACHE_MS = 100;

export interface SyslogPort { path: string; drain(): void; close(): void }
export interface KmsgPort { close(): void }

export interface SystemLogsDeps {
  now(): number;
  wallNow(): number;
  /** The unit a process belongs to (alive, or exited and not yet forgotten); null for none. */
  unitOf(pid: number): string | null;
  /** Stores a line in its unit's log; `source`: a log of its own (the kernel, syslog from no unit). */
  record(rec: LogRecord, source: boolean): void;
  /** Tells that lines were dropped: in the unit's log (unit) or the manager's (null). */
  suppressed(unit: string | null, text: string): void;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export class SystemLogs {
  private readonly limit = new LogLimit(SYSLOG_LIMIT);
  private flushTimer: unknown = null;
  /** Limit keys of senders outside any unit ("uid 0"), against unit names. */
  private readonly strangers = new Set<string>();
  private readonly senders = new Map<number, string | null>();
  private sendersSince = -Infinity;

  constructor(private readonly deps: SystemLogsDeps) {}

  /** A batch from the syslog socket (src/log/syslog-server.ts). */
  take(batch: SyslogBatch) {
    const now = this.deps.now();
    for (const d of batch) {
      const unit = this.unitOf(d.pid, now);
      const key = unit ?? `uid ${d.uid}`;
      if (unit === null) this.strangers.add(key);
      if (!this.allow(key, now)) continue; // not even parsed
      const msg = parseSyslog(d.data);
      const lines = msg.lines;
      if (d.truncated) lines.push(`[message cut at ${SYSLOG_DATAGRAM_MAX} bytes]`);
      const time = this.deps.wallNow();
      lines.forEach((text, i) => {
        if (i > 0 && !this.allow(key, now)) return; // each line counts: a datagram of newlines is no loophole
        const rec: LogRecord = {
          time, unit: unit ?? SYSLOG_UNIT, priority: msg.severity, facility: msg.facility, stream: "syslog", text,
        };
        if (d.pid > 0) rec.pid = d.pid;
        if (msg.ident !== null) rec.ident = msg.ident;
        this.deps.record(rec, unit === null);
      });
    }
  }

  /** A record from /dev/kmsg: the kernel's own only (what userspace writes there has its own log). */
  takeKernel(r: KmsgRecord, bootWallMs: number) {
    if (r.facility !== 0) return;
    this.deps.record({
      time: bootWallMs + r.usec / 1000, unit: KERNEL_UNIT, priority: r.severity, facility: 0, stream: "kernel",
      text: r.text, ident: "kernel",
    }, true);
  }

  /**
   * The sender's unit, looked up once per sender and SENDER_CACHE_MS: a flood costs one
   * read of /proc per tenth of a second, not one per message. (A pid is only as fresh as
   * the moment it sent anyway: the datagram waited in the queue.)
   */
  private unitOf(pid: number, now: number): string | null {
    if (pid <= 0) return null;
    if (now - this.sendersSince >= SENDER_CACHE_MS || this.senders.size >= 1024) {
      this.senders.clear();
      this.sendersSince = now;
    }
    let unit = this.senders.get(pid);
    if (unit === undefined) this.senders.set(pid, (unit = this.deps.unitOf(pid)));
    return unit;
  }

  private allow(key: string, now: number): boolean {
    if (this.limit.allow(key, now)) return true;
    this.flushTimer ??= this.deps.setTimer(this.limit.intervalMs, () => {
      this.flushTimer = null;
      this.flush();
    });
    return false;
  }

  private flush() {
    for (const s of this.limit.flush(this.deps.now())) {
      const count = `${s.count} syslog message${s.count === 1 ? "" : "s"}`;
      if (s.sender === null) this.deps.suppressed(null, `suppressed ${count} from ${s.senders} other senders`);
      else if (this.strangers.has(s.sender)) this.deps.suppressed(null, `suppressed ${count} from ${s.sender} (in no unit)`);
      else this.deps.suppressed(s.sender, `suppressed ${count} (more than ${SYSLOG_LIMIT.burst} in ${SYSLOG_LIMIT.intervalMs / 1000} s)`);
    }
    if (this.limit.size === 0) this.strangers.clear();
  }

  close() {
    if (this.flushTimer !== null) this.deps.clearTimer(this.flushTimer);
    this.flushTimer = null;
    this.flush();
  }
}
