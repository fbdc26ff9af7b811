// Drop-ins: NAME.toml.d/*.toml change single keys of a unit (systemd's foo.service.d/).
//
// Each file is parsed on its own (a syntax error is its own), then merged onto the unit
// in order: a list is appended to (systemd: Wants=, ExecStartPre=, Condition… add), an
// empty list resets it, a table is merged key by key ([service] environment too),
// [[socket]] entries are added (systemd: a drop-in's ListenStream= adds a listener;
// `socket = []` drops the earlier ones), anything else is replaced.
//
// Every merged key remembers the file and key path it came from, so that a bad value is
// reported at FILE:LINE:COL of the drop-in that set it (LayeredReport).

import type { LoadEnv } from "./commands.ts";
import { FileReport } from "./diagnostics.ts";
import { isTable } from "./describe.ts";
import { parentPath, positionOf, scanPositions, type PositionMap } from "./positions.ts";
import { keysOf, type TableName } from "./schema.ts";

export interface DropIn { file: string; text: string }

/** Keys whose values add up across files: lists of names, paths, commands, conditions. */
const APPENDED_KINDS = new Set(["list", "command-list", "condition"]);

function isAppended(table: string, key: string): boolean {
  if (table !== "unit" && table !== "service" && table !== "socket") return false;
  const kind = keysOf(table as TableName).get(key)?.type.kind;
  return kind !== undefined && APPENDED_KINDS.has(kind);
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/**
 * Where a merged key path came from: the index of its file (0: the unit file) and its path
 * there. `seq` orders the records: a key replaced later outranks what its old value's parts
 * recorded, so nothing has to be forgotten (which would cost a scan per key).
 */
interface Origin { file: number; path: string; seq: number }

/**
 * The unit file's report, placing each key path in the file it came from. Files are
 * numbered as given: 0 the unit file, then its drop-ins in the order they apply.
 */
export class LayeredReport extends FileReport {
  private readonly origins = new Map<string, Origin>();
  private seq = 0;
  private readonly scans: (PositionMap | null)[];

  constructor(file: string, positions: () => PositionMap, env: LoadEnv, unit: string, private readonly dropIns: readonly DropIn[]) {
    super(file, positions, env, unit);
    this.scans = dropIns.map(() => null);
  }

  /** The latest record among the path and its parents, the rest of the path appended. */
  origin(path: string): { file: number; path: string } {
    let best: Origin | null = null, at = "";
    for (let p: string | null = path; p !== null; p = parentPath(p)) {
      const found = this.origins.get(p);
      if (found && (best === null || found.seq > best.seq)) [best, at] = [found, p];
    }
    return best === null ? { file: 0, path } : { file: best.file, path: best.path + path.slice(at.length) };
  }

  /** Records that merged path `path` came from `own` in file `file`. */
  record(path: string, file: number, own: string): void {
    this.origins.set(path, { file, path: own, seq: ++this.seq });
  }

  private positionsOf(file: number): PositionMap {
    if (file === 0) return this.positions;
    return (this.scans[file - 1] ??= scanPositions(this.dropIns[file - 1]!.text));
  }

  override place(path: string, part: "key" | "value"): { file: string; line: number; col: number } {
    const { file, path: own } = this.origin(path);
    return { file: file === 0 ? this.file : this.dropIns[file - 1]!.file, ...positionOf(this.positionsOf(file), own, part) };
  }

  override rawText(path: string): string | undefined {
    const { file, path: own } = this.origin(path);
    return this.positionsOf(file).get(own)?.raw;
  }

}

/** Merges drop-in `file`'s document onto `doc` (in place), recording origins in `report`. */
export function mergeDropIn(doc: Record<string, unknown>, dropIn: Record<string, unknown>, file: number, report: LayeredReport): void {
  for (const [table, value] of Object.entries(dropIn)) {
    const mine = doc[table];
    if (table === "socket" && Array.isArray(value)) {
      const kept = value.length === 0 || !Array.isArray(mine) ? [] : mine;
      if (kept.length === 0) report.record(table, file, table);
      value.forEach((_, k) => report.record(`${table}[${kept.length + k}]`, file, `${table}[${k}]`));
      doc[table] = [...kept, ...value];
    } else if (isTable(mine) && isTable(value)) {
      mergeTable(mine, value, table, table, file, report);
    } else replace(doc, table, table, value, file, report);
  }
}

function mergeTable(
  mine: Record<string, unknown>, theirs: Record<string, unknown>, table: string, path: string, file: number, report: LayeredReport,
): void {
  for (const [key, value] of Object.entries(theirs)) {
    const at = `${path}.${key}`;
    const old = mine[key];
    if (path === table && isAppended(table, key) && old !== undefined && !(Array.isArray(value) && value.length === 0)) {
      const before = asList(old), added = asList(value);
      if (!Array.isArray(old)) { // one value standing for a list of one: its item is where it was
        const was = report.origin(at);
        report.record(`${at}[0]`, was.file, was.path);
      }
      added.forEach((_, k) => report.record(`${at}[${before.length + k}]`, file, Array.isArray(value) ? `${at}[${k}]` : at));
      mine[key] = [...before, ...added];
    } else if (isTable(old) && isTable(value)) {
      mergeTable(old, value, table, at, file, report);
    } else replace(mine, key, at, value, file, report);
  }
}

/** The drop-in's value in place of the earlier one, and its origin with it. */
function replace(holder: Record<string, unknown>, key: string, path: string, value: unknown, file: number, report: LayeredReport): void {
  report.record(path, file, path);
  holder[key] = value;
}
