// Capturing a service's stdout or stderr into the log ring: bytes -> lines ->
// priority prefix -> ring entries. OutputCapture is synchronous and pure but for
// the ring it writes to; pumpStream() is the small effectful loop that reads a
// pipe (e.g. Bun.spawn's stdout) and feeds it.

import { DEFAULT_PRIORITY, LineSplitter, parsePriorityPrefix } from "./lines.ts";
import type { LogRecord } from "./ring.ts";

export interface OutputCaptureOptions {
  /** Where the lines go, e.g. (r) => ring.push(r). */
  push: (record: LogRecord) => void;
  unit: string;
  stream: "stdout" | "stderr";
  pid?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Priority of lines without a `<N>` prefix. Default 6 (info), for stdout and stderr alike. */
  defaultPriority?: number;
  /** Read the `<N>` prefix (systemd's SyslogLevelPrefix=, on by default). Default true. */
  levelPrefix?: boolean;
  maxLineBytes?: number;
}

export class OutputCapture {
  private readonly splitter: LineSplitter;
  private readonly options: OutputCaptureOptions;
  private ended = false;

  constructor(options: OutputCaptureOptions) {
    this.options = options;
    this.splitter = new LineSplitter(options.maxLineBytes);
  }

  /** Feeds bytes read from the pipe. */
  feed(chunk: Uint8Array): void {
    if (this.ended) return;
    for (const line of this.splitter.push(chunk)) this.record(line);
  }

  /** The pipe reached its end: records the unterminated last line. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const line of this.splitter.flush()) this.record(line);
  }

  private record(line: string): void {
    const o = this.options;
    const fallback = o.defaultPriority ?? DEFAULT_PRIORITY;
    const { priority, text } = o.levelPrefix === false ? { priority: fallback, text: line } : parsePriorityPrefix(line, fallback);
    const record: LogRecord = { time: (o.now ?? Date.now)(), unit: o.unit, priority, stream: o.stream, text };
    if (o.pid !== undefined) record.pid = o.pid;
    o.push(record);
  }
}

/**
 * Reads a byte stream to its end into a capture, then ends the capture.
 * Resolves when the stream ends; a read error ends the capture too and is
 * passed to onError (never thrown).
 */
export async function pumpStream(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  capture: OutputCapture,
  onError?: (error: unknown) => void,
): Promise<void> {
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) capture.feed(chunk);
  } catch (error) {
    try {
      onError?.(error);
    } catch {
      // Never let a log pipe take the manager down.
    }
  } finally {
    capture.end();
  }
}
