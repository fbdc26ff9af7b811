// A fixed-capacity, in-memory log of what the manager and its services wrote.
// `hearth ctl logs` reads it; `logs -f` follows it by sequence number or by
// subscribing. Pure: time comes in with each entry.

/** "syslog": sent to /dev/log (syslog(3)); "kernel": read from /dev/kmsg. */
export type LogStream = "stdout" | "stderr" | "manager" | "syslog" | "kernel";

/** What a producer hands to the ring. */
export interface LogRecord {
  /** Milliseconds since the epoch. */
  time: number;
  /** The unit's name, or "hearth" for the manager itself. */
  unit: string;
  /** syslog priority, 0 (emerg) .. 7 (debug). */
  priority: number;
  stream: LogStream;
  text: string;
  /** The process that wrote it, when known. */
  pid?: number;
  /** The name the line is shown under when not the unit's (its syslog_identifier, a syslog TAG). */
  ident?: string;
  /** syslog and kernel lines: the facility the sender gave, 0 (kern) .. 23 (local7). */
  facility?: number;
}

/** A record once stored: `seq` increases by one per entry, starting at 1. */
export interface LogEntry extends LogRecord {
  seq: number;
}

export interface LogFilter {
  /** Only entries of this unit. */
  unit?: string;
  /** Only entries at this priority or more important (numerically lower or equal). */
  maxPriority?: number;
}

export type LogSubscriber = (entry: LogEntry) => void;

export interface LogRingOptions {
  /** Called when a subscriber throws; the entry is still stored and the others still called. */
  onSubscriberError?: (error: unknown) => void;
}

function matches(e: LogEntry, f: LogFilter | undefined): boolean {
  if (!f) return true;
  if (f.unit !== undefined && e.unit !== f.unit) return false;
  if (f.maxPriority !== undefined && e.priority > f.maxPriority) return false;
  return true;
}

function clampPriority(p: number): number {
  if (!Number.isFinite(p)) return 6;
  return Math.min(7, Math.max(0, Math.trunc(p)));
}

/**
 * The largest ring: the unit files' limit on log_buffer_lines. A larger one is refused
 * here too, so that a bad number fails one unit's start and not the manager.
 */
export const MAX_RING_CAPACITY = 1_000_000;

export class LogRing {
  readonly capacity: number;
  /** Grows as entries come, up to capacity: a large ring costs nothing until it fills. */
  private readonly slots: LogEntry[] = [];
  private next = 1;
  private readonly subscribers = new Set<LogSubscriber>();
  private readonly onSubscriberError?: (error: unknown) => void;

  constructor(capacity: number, options: LogRingOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_RING_CAPACITY) {
      throw new RangeError(`LogRing capacity must be an integer from 1 to at most ${MAX_RING_CAPACITY}, got ${capacity}`);
    }
    this.capacity = capacity;
    this.onSubscriberError = options.onSubscriberError;
  }

  /** Entries currently held. */
  get size(): number {
    return Math.min(this.next - 1, this.capacity);
  }

  /** Sequence number of the newest entry, 0 when none was ever pushed. */
  get lastSeq(): number {
    return this.next - 1;
  }

  /** Sequence number of the oldest entry still held (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return this.next - this.size;
  }

  /** Stores a record, gives it the next sequence number and tells every subscriber. */
  push(record: LogRecord): LogEntry {
    const entry: LogEntry = { ...record, priority: clampPriority(record.priority), seq: this.next };
    this.slots[(entry.seq - 1) % this.capacity] = entry;
    this.next++;
    // Copy: a subscriber may unsubscribe (itself or another) while being called.
    for (const fn of [...this.subscribers]) {
      try {
        fn(entry);
      } catch (error) {
        this.onSubscriberError?.(error);
      }
    }
    return entry;
  }

  /** The newest n entries matching the filter, oldest first. */
  last(n: number, filter?: LogFilter): LogEntry[] {
    const out: LogEntry[] = [];
    if (n <= 0) return out;
    for (let seq = this.lastSeq; seq >= this.firstSeq && out.length < n; seq--) {
      const e = this.at(seq);
      if (matches(e, filter)) out.push(e);
    }
    return out.reverse();
  }

  /**
   * Entries with a sequence number greater than `seq` still held, oldest first.
   * A follower that compares the first one's seq with seq + 1 learns how many it missed.
   */
  since(seq: number, filter?: LogFilter): LogEntry[] {
    const out: LogEntry[] = [];
    for (let s = Math.max(seq + 1, this.firstSeq); s <= this.lastSeq; s++) {
      const e = this.at(s);
      if (matches(e, filter)) out.push(e);
    }
    return out;
  }

  /** Calls fn for every entry pushed from now on; returns the function that stops it. */
  subscribe(fn: LogSubscriber): () => void {
    // Wrap so the same function may subscribe twice and unsubscribe independently.
    const wrapper: LogSubscriber = (e) => fn(e);
    this.subscribers.add(wrapper);
    return () => {
      this.subscribers.delete(wrapper);
    };
  }

  private at(seq: number): LogEntry {
    return this.slots[(seq - 1) % this.capacity]!;
  }
}
