// Turning a service's stdout/stderr byte stream into log lines. Pure.

/** Default cap on one line, in bytes; longer lines are split. */
export const DEFAULT_MAX_LINE_BYTES = 8 * 1024;

/** syslog "info", what unprefixed stdout and stderr lines get (systemd's SyslogLevel= default). */
export const DEFAULT_PRIORITY = 6;

const NEWLINE = 0x0a;
const NUL = 0x00;
const CR = 0x0d;

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The length in bytes of a UTF-8 sequence from its lead byte; 0 for a continuation or invalid byte. */
function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 0;
}

/**
 * Splits a byte stream into lines. A line ends at "\n" (a "\r" before it is
 * dropped) or at a NUL byte, as systemd's stdout streams do. Bytes that are not
 * valid UTF-8 become U+FFFD. A line longer than `maxLineBytes` is emitted in
 * pieces of at most that many bytes, cut between characters where possible.
 */
export class LineSplitter {
  readonly maxLineBytes: number;
  private readonly buf: Uint8Array;
  private len = 0;

  constructor(maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 4) {
      throw new RangeError(`maxLineBytes must be an integer >= 4, got ${maxLineBytes}`);
    }
    this.maxLineBytes = maxLineBytes;
    this.buf = new Uint8Array(maxLineBytes);
  }

  /** Bytes held back waiting for the end of their line. */
  get pendingBytes(): number {
    return this.len;
  }

  /** Feeds a chunk; returns the lines it completed, in order. */
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === NEWLINE || b === NUL) {
        this.append(chunk, start, i, out);
        this.emit(out, b === NEWLINE);
        start = i + 1;
      }
    }
    this.append(chunk, start, chunk.length, out);
    return out;
  }

  /** The end of the stream: returns the unterminated last line, if any. */
  flush(): string[] {
    const out: string[] = [];
    if (this.len > 0) this.emit(out, true);
    return out;
  }

  private append(src: Uint8Array, from: number, to: number, out: string[]): void {
    while (from < to) {
      if (this.len === this.maxLineBytes) this.cut(out);
      const n = Math.min(to - from, this.maxLineBytes - this.len);
      this.buf.set(src.subarray(from, from + n), this.len);
      this.len += n;
      from += n;
    }
  }

  /** The buffer is full and the line goes on: emit a piece, keep an incomplete last character. */
  private cut(out: string[]): void {
    let at = this.len;
    // Find the lead byte of the last character (at most 3 continuation bytes back).
    for (let k = this.len - 1; k >= 0 && k >= this.len - 4; k--) {
      const want = utf8SequenceLength(this.buf[k]!);
      if (want === 0) continue; // a continuation byte: keep looking back
      if (k + want > this.len) at = k; // that character is not complete yet
      break;
    }
    if (at === 0) at = this.len; // nothing sensible to keep back
    out.push(decoder.decode(this.buf.subarray(0, at)));
    this.buf.copyWithin(0, at, this.len);
    this.len -= at;
  }

  private emit(out: string[], stripCR: boolean): void {
    let end = this.len;
    if (stripCR && end > 0 && this.buf[end - 1] === CR) end--;
    out.push(decoder.decode(this.buf.subarray(0, end)));
    this.len = 0;
  }
}

/**
 * Reads the sd-daemon / kernel `<N>` priority prefix of a line (N = 0..7, as in
 * sd-daemon.h's SD_ERR "<3>"). Up to three digits are accepted as long as the
 * value is 0..7 (systemd reads "<03>" too); anything else is not a prefix and
 * the line is kept whole with the default priority.
 */
export function parsePriorityPrefix(
  line: string,
  defaultPriority: number = DEFAULT_PRIORITY,
): { priority: number; text: string } {
  if (line.charCodeAt(0) === 0x3c /* < */) {
    const close = line.indexOf(">", 1);
    if (close >= 2 && close <= 4) {
      const digits = line.slice(1, close);
      if (/^[0-9]+$/.test(digits)) {
        const n = Number(digits);
        if (n <= 7) return { priority: n, text: line.slice(close + 1) };
      }
    }
  }
  return { priority: defaultPriority, text: line };
}
