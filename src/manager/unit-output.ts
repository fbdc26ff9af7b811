// What services write: one pipe per unit (held open by the manager so a restart never
// loses it), split into lines, kept in the unit's ring and its log file, and read back by
// `hearth ctl status/log`.
import type { UnitConfig } from "../config/types.ts";
import { RotatingFile } from "../log/file.ts";
import { logsToConsole } from "../config/standard-output.ts";
import { LineSplitter, parsePriorityPrefix } from "../log/lines.ts";
import type { Logger } from "../log/manager-log.ts";
import { LogRing, type LogEntry, type LogRecord } from "../log/ring.ts";
import type { ManagerHost } from "./host.ts";
import { KERNEL_UNIT, SYSLOG_UNIT } from "./system-logs.ts";

/** Lines kept of each source that is no unit (the kernel's boot messages fit). */
const SOURCE_RING_LINES = 2000;

interface UnitOutput {
  read: number;
  write: number;
  splitter: LineSplitter;
  ring: LogRing;
  file: RotatingFile | null;
  pid: number | undefined; // the main pid its lines are tagged with
  ident: string | undefined; // syslog_identifier: the name its lines are shown under
  console: boolean; // standard_output/standard_error "…+console": each line to the console too
}

/** The logs and the output pipes across daemon-reexec. */
export interface OutputsHandover {
  outputs: { unit: string; read: number; write: number; pid: number | null; lines: LogRecord[] }[];
  manager: LogRecord[];
  sources: { unit: string; lines: LogRecord[] }[];
}

/** Rings of instances that are gone, kept for `hearth ctl logs` (the oldest go first). */
const MAX_RETIRED = 64;

export class UnitOutputs {
  private readonly outputs = new Map<string, UnitOutput>();
  /** Logs of what is no unit: the kernel's messages, syslog from processes in no unit (./system-logs.ts). */
  private readonly sources = new Map<string, LogRing>();
  private readonly retired = new Map<string, LogRing>();
  private readonly readBuffer = new Uint8Array(16384);

  constructor(private readonly host: ManagerHost, private readonly log: Logger, readonly managerRing: LogRing,
    private readonly tap?: (record: LogRecord) => void, private readonly toConsole?: (line: string) => void) {}

  /** The write end of the unit's pipe, made at first use; its lines are named as the unit's configuration says now. */
  writeFd(unit: UnitConfig): number {
    const out = this.outputFor(unit);
    out.ident = unit.service?.syslog_identifier ?? undefined;
    out.console = unit.service !== null && logsToConsole(unit.service);
    return out.write;
  }

  /** Lines read from now on are tagged with this pid (the main process). */
  setPid(unit: string, pid: number) {
    const out = this.outputs.get(unit);
    if (out) out.pid = pid;
  }

  private outputFor(unit: UnitConfig, adopted?: { read: number; write: number }): UnitOutput {
    let out = this.outputs.get(unit.name);
    if (out) return out;
    const cfg = unit.service!;
    const p = adopted ?? this.host.pipe();
    const kept = this.retired.get(unit.name);
    this.retired.delete(unit.name);
    out = {
      read: p.read, write: p.write, splitter: new LineSplitter(),
      ring: kept ?? new LogRing(Math.max(1, cfg.log_buffer_lines)),
      file: cfg.log_file ? new RotatingFile({ path: cfg.log_file, maxBytes: cfg.log_file_max_bytes, onError: (e: unknown) => this.log.warning(`${unit.name}: log file: ${e}`) }) : null,
      pid: undefined, ident: undefined, console: false,
    };
    this.outputs.set(unit.name, out);
    // One read (16 KiB) per wake-up: a chatty service is slowed by its pipe filling up,
    // never by starving the loop (timers and the watchdog run between wake-ups).
    this.host.reactor.watch(out.read, { read: true }, () => this.drain(unit.name, 1));
    return out;
  }

  // ---- daemon-reexec (./reexec.ts) ---------------------------------------------------

  /** Each pipe (its ends kept across the exec: what a service writes meanwhile waits in it) and every log's lines. */
  handover(): OutputsHandover {
    for (const unit of this.outputs.keys()) this.drain(unit);
    const lines = (ring: LogRing) => ring.last(ring.capacity).map(({ seq: _, ...rec }) => rec);
    return {
      outputs: [...this.outputs].map(([unit, o]) => ({ unit, read: o.read, write: o.write, pid: o.pid ?? null, lines: lines(o.ring) })),
      manager: lines(this.managerRing),
      sources: [...this.sources].map(([unit, ring]) => ({ unit, lines: lines(ring) })),
    };
  }

  /** What handover() gave the process before the exec: pipes of units this configuration has, and the lines. */
  adopt(h: OutputsHandover, config: (unit: string) => UnitConfig | null): number[] {
    const unused: number[] = [];
    for (const o of h.outputs) {
      const cfg = config(o.unit);
      if (cfg?.service == null) {
        unused.push(o.read, o.write);
        continue;
      }
      const out = this.outputFor(cfg, o);
      if (o.pid !== null) out.pid = o.pid;
      for (const rec of o.lines) out.ring.push(rec);
    }
    for (const rec of h.manager) this.managerRing.push(rec);
    for (const s of h.sources) for (const rec of s.lines) this.sourceRing(s.unit).push(rec);
    return unused;
  }

  /**
   * An instance made at run time is gone: its pipe is read to the end and closed (a name
   * made once must not hold two fds for ever); its ring stays for `hearth ctl logs`, among
   * the last MAX_RETIRED, and is taken up again if the instance is made again.
   */
  retire(unit: string) {
    const out = this.remove(unit);
    if (!out) return;
    this.retired.set(unit, out.ring);
    if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.keys().next().value!);
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
    if (out.console) this.toConsole?.(`${out.ident ?? unit}${out.pid === undefined ? "" : `[${out.pid}]`}: ${text}`);
    if (this.log.enabled("debug")) this.log.debug(`${unit}: ${text}`);
  }

  /**
   * A line that came by another way than the pipe (syslog): into the unit's ring and log
   * file as its pipe's lines go; `source` (the kernel's, or syslog from no unit) into a
   * log of its own, made at first use, shown as a unit of that name.
   */
  add(rec: LogRecord, source: boolean) {
    const out = source ? undefined : this.outputs.get(rec.unit);
    if (!out) {
      // A cgroup named for no service of this configuration (an earlier manager's) is no unit either.
      const name = source ? rec.unit : SYSLOG_UNIT;
      this.sourceRing(name).push({ ...rec, unit: name });
      return;
    }
    out.ring.push(rec);
    out.file?.write(`${new Date(rec.time).toISOString()} ${rec.ident ?? rec.unit}: ${rec.text}\n`);
  }

  private sourceRing(name: string): LogRing {
    let ring = this.sources.get(name);
    if (!ring) this.sources.set(name, (ring = new LogRing(SOURCE_RING_LINES)));
    return ring;
  }

  /** The rings a unit's log is read from: its output's, a source's of that name. */
  private ringsOf(unit: string): LogRing[] {
    if (unit === SYSLOG_UNIT || unit === KERNEL_UNIT) this.sourceRing(unit); // followed before its first line
    return [this.outputs.get(unit)?.ring ?? this.retired.get(unit), this.sources.get(unit)].filter((r): r is LogRing => !!r);
  }

  private allRings(): LogRing[] {
    return [this.managerRing, ...[...this.outputs.values()].map((o) => o.ring), ...this.retired.values(), ...this.sources.values()];
  }

  /** The last n log entries of a unit (or of everything, merged by time). */
  logs(unit: string | null, n: number): LogEntry[] {
    if (unit !== null) {
      // A unit's log is its own output and what the manager said about it, by time.
      const own = this.ringsOf(unit).flatMap((r) => r.last(n));
      const about = this.managerRing.last(n, { unit });
      return [...own, ...about].sort((a, b) => a.time - b.time).slice(-n);
    }
    const all = this.allRings().flatMap((r) => r.last(n));
    return all.sort((a, b) => a.time - b.time).slice(-n);
  }

  /** Follow new log entries; returns the unsubscribe function. */
  follow(unit: string | null, fn: (e: LogEntry) => void): () => void {
    const rings = unit === null ? this.allRings() : [this.managerRing, ...this.ringsOf(unit)];
    const offs = rings.map((r) => r.subscribe((e) => {
      if (unit === null || e.unit === unit) fn(e);
    }));
    return () => offs.forEach((off) => off());
  }

  /** A unit removed by a reload: its pipe and log file go (what it wrote is read first). Returns what it had. */
  remove(unit: string): UnitOutput | undefined {
    const out = this.outputs.get(unit);
    if (!out) return undefined;
    this.drain(unit);
    this.closePipe(out);
    out.file?.close();
    this.outputs.delete(unit);
    return out;
  }

  close() {
    for (const out of this.outputs.values()) this.closePipe(out);
    this.outputs.clear();
  }

  private closePipe(out: UnitOutput) {
    this.host.reactor.unwatch(out.read);
    this.host.close(out.read);
    this.host.close(out.write);
  }
}
