// Where each key, value and table header stands in a TOML text.
//
// smol-toml gives positions only for syntax errors; validation errors need the place of
// `service.exec_start`, `socket[1].listen_stream` or `unit.requires[2]`. This scanner
// walks the text once and records them. It is meant for text that parsed, is forgiving
// with text that did not, and never throws.
//
// Paths: table and key names joined by ".", array items and array-of-tables entries
// as "[i]" (0-based): `socket[0].listen_stream`, `service.exec_stop[1][0]`.

export interface Pos { line: number; col: number } // both 1-based

export interface Located {
  key: Pos; // the key (for a header or an array item: the same as value)
  value: Pos; // the first character of the value
  raw?: string; // the source text of a scalar value (number, bool, date), e.g. "0o644"
}

export type PositionMap = Map<string, Located>;

const FILE_START: Pos = { line: 1, col: 1 };

/**
 * The deepest nesting read: arrays and inline tables within each other, or the parts of
 * one dotted key. hearth's deepest value is an argv array in a list (2). Deeper text is
 * refused before the TOML parser sees it: it recurses, and the paths recorded here grow
 * with the depth (a few KB of "{a={a=..." once cost hundreds of MB).
 */
export const MAX_NESTING = 16;

export function scanPositions(text: string): PositionMap {
  return scanText(text).positions;
}

/** The positions, and where the text first nests deeper than MAX_NESTING (null if it never does). */
export function scanText(text: string): { positions: PositionMap; tooDeep: Pos | null } {
  const scanner = scan(text, true);
  return { positions: scanner.found, tooDeep: scanner.tooDeep };
}

/**
 * Where the text first nests deeper than MAX_NESTING, or null: the same walk as
 * scanText without recording anything, for the loader, which needs the positions only
 * when it has something to report (most files have nothing).
 */
export function nestingTooDeep(text: string): Pos | null {
  if (cannotNestTooDeep(text)) return null;
  return scan(text, false).tooDeep;
}

/**
 * True when the text is too plain to nest past MAX_NESTING, found by the native indexOf
 * (the scan walks every character in JS, which costs ms a file at boot): each level is
 * an opening "[" or "{" somewhere in the text, and a dotted key of MAX_NESTING + 1 parts
 * has MAX_NESTING dots. Most unit files have a handful of each.
 */
function cannotNestTooDeep(text: string): boolean {
  return occurrences(text, "[") + occurrences(text, "{") <= MAX_NESTING && occurrences(text, ".") < MAX_NESTING;
}

/** How often `char` occurs, counting up to MAX_NESTING + 1 (enough to know it is too many). */
function occurrences(text: string, char: string): number {
  let count = 0;
  for (let k = text.indexOf(char); k >= 0 && count <= MAX_NESTING; k = text.indexOf(char, k + 1)) count++;
  return count;
}

function scan(text: string, record: boolean): Scanner {
  const scanner = new Scanner(text, record);
  try {
    scanner.scanDocument();
  } catch {
    // Too deep, or a scanner bug, which must never hide the real diagnostics: keep what was found so far.
  }
  return scanner;
}

class TooDeep extends Error {}

/** The path one level up: `a.b[2]` -> `a.b`, `a.b` -> `a`, `a` -> null. */
export function parentPath(path: string): string | null {
  const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
  return cut > 0 ? path.slice(0, cut) : null;
}

/** The position of `path` (its key or its value), else of the nearest enclosing path, else 1:1. */
export function positionOf(map: PositionMap, path: string, part: "key" | "value" = "value"): Pos {
  for (let p: string | null = path; p !== null; p = parentPath(p)) {
    const found = map.get(p);
    if (found) return found[part];
  }
  return FILE_START;
}

// Character classes by code, tested once per character: a regex test each time cost
// more than the rest of the scan when the code is not yet compiled (the boot).
const NON_ASCII_SPACE = /\s/;

/** A-Z a-z 0-9 _ - */
function isBareKeyChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f || code === 0x2d;
}

/** Characters that end an unquoted scalar (number, bool, date) inside a value: \s , ] } # */
function isScalarEnd(s: string, k: number): boolean {
  const code = s.charCodeAt(k);
  if (code >= 0x80) return NON_ASCII_SPACE.test(s[k]!);
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x2c || code === 0x5d || code === 0x7d || code === 0x23;
}

class Scanner {
  readonly found: PositionMap = new Map();
  tooDeep: Pos | null = null;
  private depth = 0; // arrays and inline tables open at i
  private i = 0;
  private table = ""; // resolved path of the current [table] or [[array]] entry
  private arrayTableCounts = new Map<string, number>(); // resolved [[name]] path -> entries so far
  private readonly lineStarts: number[] = [0];

  /** Without `record`, only the nesting is followed: no paths, no positions. */
  constructor(private readonly s: string, private readonly record: boolean) {
    for (let k = s.indexOf("\n"); k >= 0; k = s.indexOf("\n", k + 1)) this.lineStarts.push(k + 1);
  }

  scanDocument(): void {
    while (true) {
      this.skipBlankLinesAndComments();
      if (this.i >= this.s.length) return;
      const before = this.i;
      if (this.s[this.i] === "[") this.header();
      else this.keyValue(this.table);
      this.skipRestOfLine();
      if (this.i === before) this.i++; // always make progress on odd input
    }
  }

  private header(): void {
    const start = this.i;
    const isArray = this.s.startsWith("[[", this.i);
    this.i += isArray ? 2 : 1;
    const names = this.readKey();
    if (names.length === 0 || !this.record) return;
    const at = this.pos(start);
    const path = isArray ? this.newArrayTableEntry(names) : this.resolveTable(names);
    this.table = path;
    this.found.set(path, { key: at, value: at });
  }

  /** `[a.b]`: a segment naming an array of tables means its latest entry. */
  private resolveTable(names: string[]): string {
    let path = "";
    for (const name of names) {
      path = join(path, name);
      const count = this.arrayTableCounts.get(path);
      if (count !== undefined) path += `[${count - 1}]`;
    }
    return path;
  }

  private newArrayTableEntry(names: string[]): string {
    const parent = this.resolveTable(names.slice(0, -1));
    const path = join(parent, names[names.length - 1]!);
    const count = (this.arrayTableCounts.get(path) ?? 0) + 1;
    this.arrayTableCounts.set(path, count);
    return `${path}[${count - 1}]`;
  }

  /** `key = value` (the key may be dotted), recorded under `base`. */
  private keyValue(base: string): void {
    const keyStart = this.i;
    const names = this.readKey();
    this.skipSpaces();
    if (names.length === 0 || this.s[this.i] !== "=") return;
    this.i++;
    this.skipSpaces();
    this.value(this.record ? join(base, names.join(".")) : "", keyStart);
  }

  /** `keyStart`: where the key began, or null for an array item. */
  private value(path: string, keyStart: number | null): void {
    const start = this.i;
    let located: Located | null = null;
    if (this.record) {
      const at = this.pos(start);
      located = { key: keyStart === null ? at : this.pos(keyStart), value: at };
      this.found.set(path, located);
    }
    const c = this.s[this.i];
    if (this.s.startsWith('"""', this.i)) this.skipMultiLineString('"""');
    else if (this.s.startsWith("'''", this.i)) this.skipMultiLineString("'''");
    else if (c === '"') this.readBasicString();
    else if (c === "'") this.readLiteralString();
    else if (c === "[") this.array(path);
    else if (c === "{") this.inlineTable(path);
    else {
      while (this.i < this.s.length && !isScalarEnd(this.s, this.i)) this.i++;
      if (located) located.raw = this.s.slice(start, this.i);
    }
  }

  private array(path: string): void {
    this.enter();
    this.i++; // [
    for (let index = 0; this.i < this.s.length; ) {
      this.skipBlankLinesAndComments();
      const c = this.s[this.i];
      if (c === "]") { this.i++; break; }
      if (c === ",") { this.i++; continue; }
      const before = this.i;
      this.value(this.record ? `${path}[${index}]` : "", null);
      index++;
      if (this.i === before) this.i++;
    }
    this.depth--;
  }

  private inlineTable(path: string): void {
    this.enter();
    this.i++; // {
    while (this.i < this.s.length) {
      this.skipBlankLinesAndComments();
      const c = this.s[this.i];
      if (c === "}") { this.i++; break; }
      if (c === ",") { this.i++; continue; }
      const before = this.i;
      this.keyValue(path);
      if (this.i === before) this.i++;
    }
    this.depth--;
  }

  /** One level deeper; past MAX_NESTING the scan stops here (see MAX_NESTING). */
  private enter(): void {
    if (++this.depth > MAX_NESTING) this.stopTooDeep();
  }

  private stopTooDeep(): never {
    this.tooDeep = this.pos(this.i);
    throw new TooDeep();
  }

  /** Dotted key segments, unquoted: `a."b.c".d` -> ["a", "b.c", "d"]. Empty if no key here. */
  private readKey(): string[] {
    const names: string[] = [];
    while (true) {
      this.skipSpaces();
      const c = this.s[this.i];
      if (c === '"') names.push(this.readBasicString());
      else if (c === "'") names.push(this.readLiteralString());
      else {
        const start = this.i;
        while (this.i < this.s.length && isBareKeyChar(this.s.charCodeAt(this.i))) this.i++;
        if (this.i === start) return names;
        names.push(this.s.slice(start, this.i));
      }
      if (names.length > MAX_NESTING) this.stopTooDeep();
      this.skipSpaces();
      if (this.s[this.i] !== ".") return names;
      this.i++;
    }
  }

  /** A "..." string on one line; returns its content (escapes left as written: enough for keys). */
  private readBasicString(): string {
    const start = ++this.i;
    while (this.i < this.s.length && this.s[this.i] !== '"' && this.s[this.i] !== "\n") {
      this.i += this.s[this.i] === "\\" ? 2 : 1;
    }
    const content = this.s.slice(start, this.i);
    if (this.s[this.i] === '"') this.i++;
    return content;
  }

  private readLiteralString(): string {
    const start = ++this.i;
    while (this.i < this.s.length && this.s[this.i] !== "'" && this.s[this.i] !== "\n") this.i++;
    const content = this.s.slice(start, this.i);
    if (this.s[this.i] === "'") this.i++;
    return content;
  }

  private skipMultiLineString(delimiter: '"""' | "'''"): void {
    this.i += 3;
    const escapes = delimiter === '"""';
    while (this.i < this.s.length) {
      if (escapes && this.s[this.i] === "\\") { this.i += 2; continue; }
      if (this.s.startsWith(delimiter, this.i)) {
        this.i += 3;
        // Up to two quotes may stand right before the closing delimiter: """a"""""
        for (let extra = 0; extra < 2 && this.s[this.i] === delimiter[0]; extra++) this.i++;
        return;
      }
      this.i++;
    }
  }

  private skipSpaces(): void {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }

  private skipBlankLinesAndComments(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === " " || c === "\t" || c === "\r" || c === "\n") this.i++;
      else if (c === "#") this.skipRestOfLine();
      else return;
    }
  }

  /** After a statement only a comment may follow: skip to the next line. */
  private skipRestOfLine(): void {
    const end = this.s.indexOf("\n", this.i);
    this.i = end < 0 ? this.s.length : end + 1;
  }

  private pos(offset: number): Pos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }
}

function join(base: string, name: string): string {
  return base === "" ? name : `${base}.${name}`;
}
