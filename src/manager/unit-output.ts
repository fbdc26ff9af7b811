// What services write: one pipe per unit (held open by the manager so a restart never
// loses it), split into lines, kept in the unit's ring and its log file, and read back by
// `hearth ctl status/log`.
import type { UnitConfig } from "../config/types.ts";
import { RotatingFile } from "../log/file.ts";
import { LineSplitter, parsePriorityPrefix } from "../log/lines.ts";
import type { Logger } from "../log/manager-log.ts";
import { LogRing, type LogEntry, type LogRecord } from "../log/ring.ts";
import type { ManagerHost } from "./host.ts";

interface UnitOutput {
  read: number;
  write: number;
  splitter: LineSplitter;
  ring: LogRing;
  file: RotatingFile | null;
  pid: number | undefined; // the main pid its lines are tagged with
  ident: string | undefined; // syslog_identifier: the name its lines are shown under
}

export class UnitOutputs {
  private readonly outputs = new Map<string, UnitOutput>();
  private readonly readBuffer = new Uint8Array(16384);

  constructor(private readonly host: ManagerHost, private readonly log: Logger, readonly managerRing: LogRing,
    private readonly tap?: (record: LogRecord) => void) {}

  /** The write end of the unit's pipe, made at first use; its lines are named as the unit's configuration says now. */
  writeFd(unit: UnitConfig): number {
    const out = this.outputFor(unit);
    out.ident = unit.service?.syslog_identifier ?? undefined;
    return out.write;
  }

  /** Lines read from now on are tagged with this pid (the main process). */
  setPid(unit: string, pid: number) {
    const out = this.outputs.get(unit);
    if (out) out.pid = pid;
  }

  private outputFor(unit: UnitConfig): UnitOutput {
    let out = this.outputs.get(unit.name);
    if (out) return out;
    const cfg = unit.service!;
    const p = this.host.pipe();
    out = {
      read: p.read, write: p.write, splitter: new LineSplitter(),
      ring: new LogRing(Math.max(1, cfg.log_buffer_lines)),
      file: cfg.log_file ? new RotatingFile({ path: cfg.log_file, maxBytes: cfg.log_file_max_bytes, onError: (e: unknown) => this.log.warning(`${unit.name}: log file: ${e}`) }) : null,
      pid: undefined, ident: undefined,
    };
    this.outputs.set(unit.name, out);
    // One read (16 KiB) per wake-up: a chatty service is slowed by its pipe filling up,
    // never by starving the loop (timers and the watchdog run between wake-ups).
    this.host.reactor.watch(out.read, { read: true }, () => this.drain(unit.name, 1));
    return out;
  }

  /** Move what a unit wrote into its ring (before its exit is handled: nothing is lost). */
  drain(unit: string, maxReads = 64) {
    const out = this.outputs.get(unit);
    if (!out) return;
    for (let i = 0; i < maxReads; i++) {
      const n = this.host.read(out.read, this.readBuffer);
      if (n === "again" || n === "eof") return;
      for (const line of out.splitter.push(this.readBuffer.subarray(0, n))) this.record(unit, out, line);
    }
  }

  private record(unit: string, out: UnitOutput, line: string) {
    const { priority, text } = parsePriorityPrefix(line, 6);
    const rec: LogRecord = { time: this.host.wallNow(), unit, priority, stream: "stdout", text, pid: out.pid };
    if (out.ident !== undefined) rec.ident = out.ident;
    out.ring.push(rec);
    this.tap?.(rec);
    out.file?.write(`${new Date(rec.time).toISOString()} ${out.ident ?? unit}: ${text}\n`);
    if (this.log.enabled("debug")) this.log.debug(`${unit}: ${text}`);
  }

  /** The last n log entries of a unit (or of everything, merged by time). */
  logs(unit: string | null, n: number): LogEntry[] {
    if (unit !== null) {
      // A unit's log is its own output and what the manager said about it, by time.
      const own = this.outputs.get(unit)?.ring.last(n) ?? [];
      const about = this.managerRing.last(n, { unit });
      return [...own, ...about].sort((a, b) => a.time - b.time).slice(-n);
    }
    const all = [this.managerRing, ...[...this.outputs.values()].map((o) => o.ring)].flatMap((r) => r.last(n));
    return all.sort((a, b) => a.time - b.time).slice(-n);
  }

  /** Follow new log entries; returns the unsubscribe function. */
  follow(unit: string | null, fn: (e: LogEntry) => void): () => void {
    const rings = unit === null ? [this.managerRing, ...[...this.outputs.values()].map((o) => o.ring)]
      : [this.managerRing, this.outputs.get(unit)?.ring].filter((r): r is LogRing => !!r);
    const offs = rings.map((r) => r.subscribe((e) => {
      if (unit === null || e.unit === unit) fn(e);
    }));
    return () => offs.forEach((off) => off());
  }

  close() {
    for (const out of this.outputs.values()) {
      this.host.reactor.unwatch(out.read);
      this.host.close(out.read);
      this.host.close(out.write);
    }
    this.outputs.clear();
  }
}
