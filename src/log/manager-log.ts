// The manager's own logger. Messages below the level threshold are dropped;
// the rest go to a sink: usually the ring (so `hearth ctl logs` shows them)
// and stderr (the console, or the terminal in `hearth run`). Logging never
// throws: a failing sink is ignored.

import { MANAGER_IDENT } from "./format.ts";
import type { LogRecord, LogRing } from "./ring.ts";
import { severityName } from "./syslog-parse.ts";

/** The level names of system.toml's log_level (DESIGN.md §2), most severe first. */
export const LOG_LEVEL_NAMES = ["err", "warning", "notice", "info", "debug"] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/** syslog priorities of the level names. */
export const LOG_LEVEL_PRIORITY: Readonly<Record<LogLevelName, number>> = {
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** The syslog name of a priority 0..7 ("emerg" .. "debug"). */
export const priorityName = severityName;

/** Reads a log level name (as in system.toml or hearth.log_level=); undefined when unknown. */
export function parseLogLevel(value: string): LogLevelName | undefined {
  const v = value.trim().toLowerCase();
  return (LOG_LEVEL_NAMES as readonly string[]).includes(v) ? (v as LogLevelName) : undefined;
}

/** Receives every record that passes the threshold. */
export type LogSink = (record: LogRecord) => void;

export interface LoggerOptions {
  level: LogLevelName;
  sink: LogSink;
  /** The manager's pid, put in each record. Default process.pid. */
  pid?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
}

export interface Logger {
  /** The unit this logger records under ("hearth" for the manager itself). */
  readonly unitName: string;
  /** The threshold; shared by every logger made from the same createLogger(). */
  level: LogLevelName;
  /** Whether a message at this level would be recorded (to skip building costly debug text). */
  enabled(level: LogLevelName): boolean;
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  notice(message: string, detail?: unknown): void;
  warning(message: string, detail?: unknown): void;
  err(message: string, detail?: unknown): void;
  /** A logger recording under a unit's name, sharing this one's sink and level. */
  unit(name: string): Logger;
}

function describeDetail(detail: unknown): string {
  if (detail instanceof Error) return detail.message || detail.name;
  if (typeof detail === "string") return detail;
  try {
    return JSON.stringify(detail) ?? String(detail);
  } catch {
    return String(detail);
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const shared = {
    level: options.level,
    sink: options.sink,
    pid: options.pid ?? process.pid,
    now: options.now ?? Date.now,
  };

  const make = (unit: string): Logger => {
    const log = (level: LogLevelName, message: string, detail?: unknown) => {
      const priority = LOG_LEVEL_PRIORITY[level];
      if (priority > LOG_LEVEL_PRIORITY[shared.level]) return;
      const text = detail === undefined ? message : `${message}: ${describeDetail(detail)}`;
      try {
        shared.sink({ time: shared.now(), unit, priority, stream: "manager", text, pid: shared.pid });
      } catch {
        // A broken sink must not take the manager down.
      }
    };
    return {
      unitName: unit,
      get level() {
        return shared.level;
      },
      set level(level: LogLevelName) {
        shared.level = level;
      },
      enabled: (level) => LOG_LEVEL_PRIORITY[level] <= LOG_LEVEL_PRIORITY[shared.level],
      debug: (m, d) => log("debug", m, d),
      info: (m, d) => log("info", m, d),
      notice: (m, d) => log("notice", m, d),
      warning: (m, d) => log("warning", m, d),
      err: (m, d) => log("err", m, d),
      unit: (name) => make(name),
    };
  };
  return make(MANAGER_IDENT);
}

/**
 * A manager record as one stderr line: `hearth[PID]: LEVEL: text`, with the
 * unit's name before the text when it is about a unit:
 * `hearth[1]: warning: foobar: Watchdog timeout`.
 */
export function formatManagerLine(record: LogRecord): string {
  const pid = record.pid !== undefined ? `[${record.pid}]` : "";
  const about = record.unit !== MANAGER_IDENT ? `${record.unit}: ` : "";
  return `${MANAGER_IDENT}${pid}: ${priorityName(record.priority)}: ${about}${record.text}`;
}

/** A sink that stores records in a ring. */
export function ringSink(ring: LogRing): LogSink {
  return (record) => {
    ring.push(record);
  };
}

/** A sink writing formatManagerLine() lines; by default to process.stderr. */
export function stderrSink(write: (line: string) => void = (line) => void process.stderr.write(line)): LogSink {
  return (record) => write(formatManagerLine(record) + "\n");
}

/** A sink passing each record to all of the given sinks; one failing does not stop the others. */
export function teeSink(...sinks: LogSink[]): LogSink {
  return (record) => {
    for (const sink of sinks) {
      try {
        sink(record);
      } catch {
        // Keep going: the other sinks still deserve the record.
      }
    }
  };
}
