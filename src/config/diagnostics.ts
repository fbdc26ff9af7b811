// Collecting problems with the place they come from.
//
// A FileReport gathers the diagnostics of one file; a Site is one key path in it
// (`service.exec_stop[1]`), so that a value reader can say what is wrong without
// knowing where it stands: the Site looks the place up in the scanned positions.

import type { Diagnostic } from "./types.ts";
import { positionOf, type PositionMap } from "./positions.ts";
import type { LoadEnv } from "./commands.ts";
import { escapeControls, SHOWN_LENGTH, shorten } from "./describe.ts";
import type { Logger } from "../log/manager-log.ts";

/** The longest message: values are echoed shortened already; this catches what is left. */
const MAX_MESSAGE_LENGTH = 400;
/** The most diagnostics shown per file: a 1 MiB file of bad keys would flood the console at boot. */
export const MAX_DIAGNOSTICS_PER_FILE = 100;

export class FileReport {
  readonly diagnostics: Diagnostic[] = [];
  /** Every error, shown or not. */
  errorCount = 0;
  private hidden: Diagnostic | null = null; // "and N more problems", once past the limit
  private hiddenCount = 0;

  /**
   * `positions` may be given as the scan that finds them: it then runs once, when the
   * first diagnostic (or raw text) needs a place, so a file without problems is never
   * scanned. `unit` is set on the errors of a unit file: an error there disables that unit.
   */
  constructor(
    readonly file: string,
    private scanned: PositionMap | (() => PositionMap),
    readonly env: LoadEnv,
    readonly unit?: string,
  ) {}

  get positions(): PositionMap {
    if (typeof this.scanned === "function") this.scanned = this.scanned();
    return this.scanned;
  }

  get hasErrors(): boolean {
    return this.errorCount > 0;
  }

  /** The site of a key path; "" is the file as a whole. */
  at(path: string): Site {
    return new Site(this, path);
  }

  /** Where a key path stands: its file (a drop-in's, for a unit merged from several) and place. */
  place(path: string, part: "key" | "value"): { file: string; line: number; col: number } {
    return { file: this.file, ...positionOf(this.positions, path, part) };
  }

  /** The source text of the scalar at a key path, when known. */
  rawText(path: string): string | undefined {
    return this.positions.get(path)?.raw;
  }

  /** Every diagnostic passes here: one line (control characters escaped), of bounded length. */
  add(severity: Diagnostic["severity"], line: number, col: number, message: string, file = this.file, quiet = false): void {
    if (severity === "error") this.errorCount++;
    if (this.diagnostics.length >= MAX_DIAGNOSTICS_PER_FILE) return this.hide(severity, line, col);
    const diagnostic = this.push(severity, line, col, shorten(escapeControls(message), MAX_MESSAGE_LENGTH), file);
    if (quiet) diagnostic.quiet = true;
  }

  private push(severity: Diagnostic["severity"], line: number, col: number, message: string, file = this.file): Diagnostic {
    const diagnostic: Diagnostic = { file, line, col, message, severity };
    if (severity === "error" && this.unit !== undefined) diagnostic.unit = this.unit;
    this.diagnostics.push(diagnostic);
    return diagnostic;
  }

  /** Counted in one last diagnostic, placed where the first hidden one was. */
  private hide(severity: Diagnostic["severity"], line: number, col: number): void {
    this.hidden ??= this.push(severity, line, col, "");
    this.hiddenCount++;
    if (severity === "error") this.hidden.severity = "error";
    if (this.hidden.severity === "error" && this.unit !== undefined) this.hidden.unit = this.unit;
    this.hidden.message = `and ${this.hiddenCount} more problems in this file, not shown`;
  }
}

export class Site {
  constructor(readonly report: FileReport, readonly path: string) {}

  get env(): LoadEnv {
    return this.report.env;
  }

  item(index: number): Site {
    return new Site(this.report, `${this.path}[${index}]`);
  }

  entry(key: string): Site {
    return new Site(this.report, this.path === "" ? key : `${this.path}.${key}`);
  }

  /** The source text of a scalar value as written ("0o644", "644"), when known. */
  rawText(): string | undefined {
    return this.report.rawText(this.path);
  }

  /** Reports at the value (or, with part "key", at the key or table header). */
  error(message: string, part: "key" | "value" = "value"): void {
    this.emit("error", message, part);
  }

  warning(message: string, part: "key" | "value" = "value"): void {
    this.emit("warning", message, part);
  }

  /** A warning for `hearth check` that the manager logs at info (Diagnostic.quiet). */
  quietWarning(message: string, part: "key" | "value" = "value"): void {
    this.emit("warning", message, part, true);
  }

  private emit(severity: Diagnostic["severity"], message: string, part: "key" | "value", quiet = false): void {
    const { file, line, col } = this.report.place(this.path, part);
    const label = shorten(siteLabel(this.path), SHOWN_LENGTH); // a key may be as long as the file
    this.report.add(severity, line, col, label === "" ? message : `${label}: ${message}`, file, quiet);
  }
}

/**
 * How a path is named in messages: without its table when that is plain
 * (`service.exec_stop[1]` -> `exec_stop[1]`), whole for array-of-tables entries
 * (`socket[0].accept`), and `[service]` for a table itself.
 */
export function siteLabel(path: string): string {
  if (path === "") return "";
  const dot = path.indexOf(".");
  const table = dot < 0 ? path : path.slice(0, dot);
  if (table.includes("[")) return path;
  return dot < 0 ? `[${path}]` : path.slice(dot + 1);
}

/** `FILE:LINE:COL: error: message`; without a place, `FILE: error: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${placeOf(d)}: ${d.severity}: ${d.message}`;
}

function placeOf(d: Diagnostic): string {
  const file = d.file === "" ? "hearth" : d.file;
  return d.line > 0 ? `${file}:${d.line}:${d.col}` : file;
}

/** How the manager logs a diagnostic of its configuration: errors at err, warnings at warning, quiet ones at info. */
export function logDiagnostic(log: Pick<Logger, "err" | "warning" | "info">, d: Diagnostic): void {
  if (d.severity === "error") log.err(formatDiagnostic(d));
  else if (d.quiet) log.info(`${placeOf(d)}: note: ${d.message}`);
  else log.warning(formatDiagnostic(d));
}
