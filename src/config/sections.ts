// Reading a parsed TOML document table by table, driven by the schema: which tables a
// file may have, which keys a table may have, and the defaults of the keys left out.

import { parse, TomlError } from "smol-toml";
import type { ManagerSection } from "./types.ts";
import { DefaultRule, keysOf, tableInfo, TABLES, tablesOf, type TableInfo, type TableName } from "./schema.ts";
import type { FileReport, Site } from "./diagnostics.ts";
import { describeValue, freshCopy, isTable } from "./describe.ts";
import { readValue } from "./values.ts";
import { didYouMean } from "./suggest.ts";
import { MAX_NESTING, type Pos } from "./positions.ts";

export type FileKind = "system" | "unit";

/**
 * The document, or undefined after reporting the syntax error where smol-toml found it.
 * Text nested too deep (`tooDeep`, found by the position scanner) is not parsed at all.
 */
export function parseToml(text: string, report: FileReport, tooDeep: Pos | null): Record<string, unknown> | undefined {
  if (tooDeep !== null) {
    report.add("error", tooDeep.line, tooDeep.col, `nested deeper than ${MAX_NESTING} (arrays, inline tables or dotted keys): not read further`);
    return undefined;
  }
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const reason = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0]!;
    report.add("error", e.line, e.column, `TOML syntax error: ${explain(reason, charAt(text, e.line, e.column))}`);
    return undefined;
  }
}

/** smol-toml calls the line break that ends an unclosed string a control character. */
function explain(reason: string, at: string | undefined): string {
  if (reason.startsWith("control characters are not allowed") && (at === "\n" || at === "\r")) {
    return "unterminated string: a quoted string ends on the line it starts (use \"\"\" for several lines)";
  }
  return reason;
}

/** The character at a 1-based line and column. */
function charAt(text: string, line: number, col: number): string | undefined {
  let offset = 0;
  for (let n = 1; n < line; n++) {
    const newline = text.indexOf("\n", offset);
    if (newline < 0) return undefined;
    offset = newline + 1;
  }
  return text[offset + col - 1];
}

/** The document's tables by name; [[name]] tables as arrays. Unknown or misshapen ones are reported. */
export function readTables(doc: Record<string, unknown>, kind: FileKind, report: FileReport): Map<TableName, unknown> {
  const tables = new Map<TableName, unknown>();
  const names = Object.keys(doc);
  for (let n = 0; n < names.length; n++) { // plain loops here: this runs per file at boot, before any JIT
    const name = names[n]!;
    const value = doc[name];
    const info = TABLES_BY_NAME.get(name);
    if (info === undefined || info.file !== kind) {
      report.at(name).error(unknownTableMessage(name, kind, isTable(value) || Array.isArray(value)), "key");
    } else if (info.repeated && !(Array.isArray(value) && value.every(isTable))) {
      report.at(name).error(`write [[${name}]] (an array of tables, one per ${name}), not ${describeValue(value)}`, "key");
    } else if (!info.repeated && !isTable(value)) {
      report.at(name).error(`expected a table [${name}], got ${describeValue(value)}`, "key");
    } else {
      tables.set(info.name, value);
    }
  }
  return tables;
}

const TABLES_BY_NAME = new Map<string, TableInfo>(TABLES.map((table) => [table.name, table]));

function unknownTableMessage(name: string, kind: FileKind, looksLikeTable: boolean): string {
  const own = tablesOf(kind).map((table) => table.name);
  const home = TABLES.find((table) => keysOf(table.name).has(name));
  if (!looksLikeTable && home !== undefined) {
    return home.file === kind
      ? `'${name}' is a key of [${home.name}]; put it under a [${home.name}] header`
      : `'${name}' is a key of [${home.name}] in ${home.file === "system" ? "system.toml" : "unit files"}`;
  }
  const elsewhere = TABLES.find((table) => table.name === name && table.file !== kind);
  if (elsewhere) return `[${name}] belongs in ${elsewhere.file === "system" ? "system.toml" : "unit files"}`;
  if (name.toLowerCase() === "install") return "there is no [install]: wanted_by and required_by go in [unit]";
  const what = looksLikeTable ? `table [${name}]` : `key '${name}'`;
  return `unknown ${what} (expected ${own.map((t) => `[${t}]`).join(", ")})${didYouMean(name, own)}`;
}

/** The valid values of the keys present in one table; the others are reported. */
export function readSection(table: TableName, raw: Record<string, unknown>, site: Site): Map<string, unknown> {
  const keys = keysOf(table);
  const values = new Map<string, unknown>();
  const names = Object.keys(raw);
  for (let n = 0; n < names.length; n++) {
    const name = names[n]!;
    const spec = keys.get(name);
    const keySite = site.entry(name);
    if (spec === undefined) {
      keySite.error(unknownKeyMessage(name, table), "key");
      continue;
    }
    const parsed = readValue(spec.type, raw[name], keySite);
    if (parsed !== undefined) values.set(name, parsed);
  }
  return values;
}

function unknownKeyMessage(name: string, table: TableName): string {
  const kind = tableInfo(table).file;
  const home = tablesOf(kind).find((other) => other.name !== table && keysOf(other.name).has(name));
  if (home !== undefined) return `'${name}' belongs in [${home.name}], not [${table}]`;
  return `unknown key in [${table}]${didYouMean(name, keysOf(table).keys())}`;
}

/**
 * The table's values with every default filled in: plain values, [manager] defaults and
 * "same as" another key. Derived defaults are left out for the caller to compute, and so
 * are the limit_* keys (rlimit values: the caller gathers the given ones). A missing
 * required key (not in `raw`) is reported at the table header. A key that is present but
 * invalid (already reported) gets its default, so the result is always complete.
 */
export function withDefaults(
  table: TableName,
  given: Map<string, unknown>,
  raw: Record<string, unknown>,
  manager: ManagerSection,
  site: Site,
): Record<string, unknown> {
  const plan = defaultsPlan(table);
  // One native copy of the plain defaults instead of a loop over every key (a service has
  // ~90), and indexed loops: at boot this runs in the interpreter, once per unit.
  const values: Record<string, unknown> = { ...plan.plain };
  const { emptyLists, fresh, fromManager, copies, required, limits } = plan;
  for (let k = 0; k < emptyLists.length; k++) values[emptyLists[k]!] = [];
  for (let k = 0; k < fresh.length; k += 2) values[fresh[k] as string] = freshCopy(fresh[k + 1]);
  for (let k = 0; k < fromManager.length; k += 2) values[fromManager[k]!] = manager[fromManager[k + 1] as keyof ManagerSection];
  given.forEach((value, name) => {
    if (!limits.has(name)) values[name] = value;
  });
  for (let k = 0; k < copies.length; k += 2) if (!given.has(copies[k]!)) values[copies[k]!] = values[copies[k + 1]!];
  for (let k = 0; k < required.length; k++) if (!(required[k]! in raw)) site.error(`'${required[k]}' is required`, "key");
  return values;
}

/** What withDefaults does for one table, worked out once from the schema. Pairs are flat: [key, x, key, x, ...]. */
interface DefaultsPlan {
  /** Every key withDefaults fills, in schema order, with its plain default (the others a placeholder). */
  plain: Record<string, unknown>;
  emptyLists: string[]; // default [], a new one for each use
  fresh: unknown[]; // other defaults that are objects: key, the value copied for each use
  fromManager: string[]; // key, the [manager] key it defaults to
  copies: string[]; // key, the key whose value it takes
  required: string[];
  limits: Set<string>; // the limit_* keys, left to the caller
}

const PLANS = new Map<TableName, DefaultsPlan>();

function defaultsPlan(table: TableName): DefaultsPlan {
  let plan = PLANS.get(table);
  if (plan !== undefined) return plan;
  plan = { plain: {}, emptyLists: [], fresh: [], fromManager: [], copies: [], required: [], limits: new Set() };
  for (const spec of keysOf(table).values()) {
    const rule = spec.default;
    if (spec.type.kind === "rlimit") plan.limits.add(spec.name);
    else if (!(rule instanceof DefaultRule)) {
      plan.plain[spec.name] = rule;
      if (Array.isArray(rule) && rule.length === 0) plan.emptyLists.push(spec.name);
      else if (typeof rule === "object" && rule !== null) plan.fresh.push(spec.name, rule);
    } else if (rule.kind === "manager") {
      plan.plain[spec.name] = undefined;
      plan.fromManager.push(spec.name, rule.ref);
    } else if (rule.kind === "key") {
      plan.plain[spec.name] = undefined;
      plan.copies.push(spec.name, rule.ref);
    } else if (rule.kind === "required") plan.required.push(spec.name);
  }
  PLANS.set(table, plan);
  return plan;
}
