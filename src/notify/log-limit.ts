// How much the notify socket says about its senders. Every local user may write to the
// socket, so a flood of bad datagrams must not become a flood of log lines: as systemd's
// log rate limit, per sender the first `burst` lines of each interval are logged and the
// rest counted, to be told in one "suppressed" line when the interval ends. The state is
// bounded as the input is not: at most `maxSenders` senders are remembered (the oldest
// is forgotten, its count kept in one total), and at most `totalBurst` lines are logged
// per interval whoever sends them. Pure: the caller passes the clock and runs flush().

export interface LogLimitOptions {
  intervalMs: number;
  /** Lines logged per sender and interval. */
  burst: number;
  /** Lines logged per interval from all senders together. */
  totalBurst: number;
  /** Senders remembered at once. */
  maxSenders: number;
}

/** systemd logs 10 lines per 10 s and source by default (RateLimitBurst=, RateLimitIntervalSec=). */
export const NOTIFY_LOG_LIMIT: LogLimitOptions = { intervalMs: 10_000, burst: 10, totalBurst: 50, maxSenders: 64 };

/** Lines left unsaid: about one sender, or (sender null) about `senders` forgotten ones. */
export interface Suppressed {
  sender: string | null;
  senders: number;
  count: number;
}

interface SenderWindow {
  since: number;
  logged: number;
  suppressed: number;
}

export class LogLimit {
  private readonly senders = new Map<string, SenderWindow>();
  private windowSince = -Infinity;
  private windowLogged = 0;
  private forgotten = { senders: 0, count: 0 };

  constructor(private readonly opts: LogLimitOptions = NOTIFY_LOG_LIMIT) {}

  /** Whether a line about this sender may be logged now; if not, it is counted. */
  allow(sender: string, now: number): boolean {
    const { intervalMs, burst, totalBurst } = this.opts;
    if (now - this.windowSince >= intervalMs) {
      this.windowSince = now;
      this.windowLogged = 0;
    }
    const window = this.windowOf(sender, now);
    if (now - window.since >= intervalMs) {
      window.since = now;
      window.logged = 0;
    }
    if (window.logged >= burst || this.windowLogged >= totalBurst) {
      window.suppressed++;
      return false;
    }
    window.logged++;
    this.windowLogged++;
    return true;
  }

  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /** The counts of lines left unsaid, reset; senders quiet for an interval are forgotten. */
  flush(now: number): Suppressed[] {
    const told: Suppressed[] = [];
    for (const [sender, window] of this.senders) {
      if (window.suppressed > 0) told.push({ sender, senders: 1, count: window.suppressed });
      window.suppressed = 0;
      if (now - window.since >= this.opts.intervalMs) this.senders.delete(sender);
    }
    if (this.forgotten.count > 0) told.push({ sender: null, ...this.forgotten });
    this.forgotten = { senders: 0, count: 0 };
    return told;
  }

  /** Senders remembered now (for tests: never above maxSenders). */
  get size(): number {
    return this.senders.size;
  }

  private windowOf(sender: string, now: number): SenderWindow {
    const known = this.senders.get(sender);
    if (known) return known;
    if (this.senders.size >= this.opts.maxSenders) {
      const [oldest, window] = this.senders.entries().next().value!;
      this.senders.delete(oldest);
      if (window.suppressed > 0) {
        this.forgotten.senders++;
        this.forgotten.count += window.suppressed;
      }
    }
    const window = { since: now, logged: 0, suppressed: 0 };
    this.senders.set(sender, window);
    return window;
  }
}
