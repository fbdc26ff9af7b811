// One systemd unit file's assignments -> hearth tables, directive by directive. A
// directive converts when the schema has its snake_case key in the matching table and
// the value reads as that key's type; every other one becomes a Note saying why.

import { keysOf, type KeySpec, type TableName, type ValueType } from "../config/schema.ts";
import type { Assignment } from "./unit-file.ts";
import {
  EXIT_STATUS_NAMES, HEARTH_DOES_THIS, IGNORED, VALUE_SYNONYMS, MOVED, ONE_ITEM_PER_ASSIGNMENT, RENAMED, SECTION_TABLES, SUFFIX_DROPPED, TARGET_NAMES, snakeCase,
} from "./directives.ts";
import { WordError, expandFixedSpecifiers, parseBoolean, parseCommands, splitWords, words, type SystemdCommand } from "./words.ts";
import { readAs, valueProblem } from "./validate.ts";
import { CAPABILITIES } from "../config/values.ts";

/**
 * dropped: the directive (or a part of it) is not in the hearth unit, and behaviour differs;
 * ignored: it changes nothing under hearth (documentation, the socket unit's own ordering …).
 */
export type NoteKind = "dropped" | "ignored";

export interface Note {
  kind: NoteKind;
  file: string; // where the directive is (the unit file or a drop-in)
  line: number;
  key: string; // systemd's directive name, "" for a line that is no directive
  value: string; // as written
  why: string;
  source: string; // the unit file it belongs to (a drop-in's unit)
  /** How the summary counts it: the directive, or directive=value when the value is what hearth lacks. */
  group: string;
}

export type Tables = Record<TableName, Record<string, unknown>>;

/** Collects the converted values and the notes of one unit file. */
export class Conversion {
  readonly out = { unit: {}, service: {}, socket: {} } as Tables;
  /** "table.key" -> the assignments its value came from. */
  readonly origins = new Map<string, Assignment[]>();
  /** The assignments being converted, for set() to record. */
  current: Assignment[] = [];
  /** Every assignment of the unit file (a directive may depend on another one). */
  all: Assignment[] = [];
  constructor(readonly source: string, readonly notes: Note[]) {}

  note(kind: NoteKind, a: Assignment, why: string, group?: string): void {
    this.notes.push({ kind, file: a.file, line: a.line, key: a.key, value: a.value, why, source: this.source, group: group ?? a.key });
  }

  drop(a: Assignment, why: string, group?: string): void {
    this.note("dropped", a, why, group);
  }

  set(table: TableName, key: string, value: unknown): void {
    this.out[table][key] = value;
    this.origins.set(`${table}.${key}`, [...(this.origins.get(`${table}.${key}`) ?? []), ...this.current]);
  }
}

/** Assignments grouped by section and key, in the order each key first appears. */
export function byKey(assignments: Assignment[]): Assignment[][] {
  const groups = new Map<string, Assignment[]>();
  for (const a of assignments) {
    const id = `${a.section}.${a.key}`;
    const group = groups.get(id);
    if (group) group.push(a);
    else groups.set(id, [a]);
  }
  return [...groups.values()];
}

/** Converts the [Unit], [Service] and [Install] assignments of a service (or the non-listen ones of a socket). */
export function convertAssignments(assignments: Assignment[], conv: Conversion, explicit: Record<string, (list: Assignment[], conv: Conversion) => void> = {}): void {
  for (const list of byKey(assignments)) {
    const { section, key } = list[0]!;
    const id = `${section}.${key}`;
    conv.current = list;
    if (section.startsWith("X-") || key.startsWith("X-")) {
      for (const a of list) conv.note("ignored", a, "an extension key (X-), ignored by systemd too");
    } else if (explicit[id]) {
      explicit[id]!(list, conv);
    } else if (!(section in SECTION_TABLES)) {
      for (const a of list) conv.drop(a, `hearth has no [${section}] section`, `[${section}]`);
    } else if (IGNORED[id] !== undefined) {
      for (const a of list) conv.note("ignored", a, IGNORED[id]!);
    } else {
      convertGeneric(list, conv);
    }
  }
}

/**
 * The schema's key for a directive, or null: the renamed one, else the one that is the
 * directive's name in lower case once its underscores are taken out (TTYVHangup finds
 * tty_vhangup or tty_v_hangup, whichever hearth chose).
 */
export function hearthKey(section: string, key: string): KeySpec | null {
  const id = `${section}.${key}`;
  const table = MOVED[id] ?? SECTION_TABLES[section];
  if (table === undefined) return null;
  const keys = keysOf(table);
  const renamed = RENAMED[id];
  if (renamed !== undefined && keys.has(renamed)) return keys.get(renamed)!;
  const flat = key.toLowerCase();
  for (const spec of keys.values()) if (spec.name.replaceAll("_", "") === flat) return spec;
  return null;
}

export function convertGeneric(list: Assignment[], conv: Conversion, spec = hearthKey(list[0]!.section, list[0]!.key)): void {
  const { section, key } = list[0]!;
  if (spec === null) {
    const does = HEARTH_DOES_THIS[`${section}.${key}`];
    const name = RENAMED[`${section}.${key}`] ?? snakeCase(key);
    for (const a of list) {
      if (does && does.values.some((v) => sameValue(v, a.value))) conv.note("ignored", a, does.why);
      else conv.drop(a, `hearth has no ${name}`);
    }
    return;
  }
  const synonyms = VALUE_SYNONYMS[`${section}.${key}`];
  const values = synonyms ? list.map((a) => ({ ...a, value: synonyms(a.value) })) : list;
  const value = convertValue(spec.type, values, conv);
  if (value !== undefined) conv.set(spec.table, spec.name, value);
}

function sameValue(expected: string, value: string): boolean {
  const b = parseBoolean(value);
  return b === undefined ? expected === value : parseBoolean(expected) === b;
}

/** A value item with the assignment it came from. */
interface Item {
  value: unknown;
  from: Assignment;
}

const ACCUMULATED = new Set<ValueType["kind"]>(["list", "command", "command-list", "condition", "capability-set", "env"]);

/**
 * The hearth value of all the assignments of one directive, by systemd's merge rules: a
 * list grows with every assignment and an empty one empties it; otherwise the last wins
 * and an empty one means the default. Undefined when nothing is set.
 */
export function convertValue(type: ValueType, list: Assignment[], conv: Conversion): unknown {
  if (!ACCUMULATED.has(type.kind)) {
    const last = list.at(-1)!;
    if (last.value === "") return undefined;
    const value = scalar(type, expandFixedSpecifiers(last.value));
    if (value instanceof Skip) return conv.note("ignored", last, value.why);
    const problem = valueProblem(type, value);
    if (problem === null) return value;
    conv.drop(last, problem, valueGroup(last));
    return undefined;
  }
  let items: Item[] = [];
  for (const a of list) {
    if (a.value === "") items = [];
    else items.push(...itemsOf(type, a, conv));
  }
  if (items.length === 0) return undefined;
  const value = combine(type, items, conv);
  if (value === undefined) return undefined;
  const problem = valueProblem(type, value);
  if (problem === null) return value;
  for (const a of new Set(items.map((i) => i.from))) conv.drop(a, problem, valueGroup(a));
  return undefined;
}

/** A value that converts to nothing because it means nothing under hearth. */
class Skip {
  constructor(readonly why: string) {}
}

function valueGroup(a: Assignment): string {
  return a.value.length <= 24 && !/\s/.test(a.value) ? `${a.key}=${a.value}` : a.key;
}

/** The items one assignment adds, each read on its own so that a bad one drops alone. */
function itemsOf(type: ValueType, a: Assignment, conv: Conversion): Item[] {
  const text = expandFixedSpecifiers(a.value);
  try {
    switch (type.kind) {
      case "command":
      case "command-list":
        return parseCommands(text).flatMap((command) => {
          const argv = commandArgv(command, a, conv);
          return argv ? [{ value: argv, from: a }] : [];
        });
      case "condition":
      case "capability-set":
        return [{ value: text, from: a }];
      case "env":
        return environmentItems(text, a, conv);
      case "list": {
        const parts = ONE_ITEM_PER_ASSIGNMENT.has(a.key) ? [text] : words(text);
        const out: Item[] = [];
        for (const part of parts) {
          const value = scalar(type.of, part);
          if (value instanceof Skip) {
            conv.note("ignored", a, `${JSON.stringify(part)}: ${value.why}`, `${a.key}=*.${part.split(".").pop()}`);
            continue;
          }
          const problem = valueProblem(type.of, value);
          if (type.of.kind === "unit-name" && mountDependency(a, part, conv)) continue;
          if (problem === null) out.push({ value, from: a });
          else conv.drop(a, problem.includes(JSON.stringify(part)) ? problem : `${JSON.stringify(part)}: ${problem}`, itemGroup(a, part));
        }
        return out;
      }
      default:
        return [];
    }
  } catch (e) {
    if (!(e instanceof WordError)) throw e;
    conv.drop(a, e.message);
    return [];
  }
}

/**
 * Requires=/BindsTo= a mount unit (var-lib-x.mount): requires_mounts_for its path, which
 * requires and orders after the [[mount]] entries on it (systemd has a mount unit for every
 * mounted path; hearth only for its [[mount]] entries, so requires = ["var-lib-x.mount"]
 * would fail the start where systemd's is met). After= and the others keep the name: they
 * order after hearth's mount unit of that name, or, as in systemd, name nothing.
 */
function mountDependency(a: Assignment, name: string, conv: Conversion): boolean {
  const spec = keysOf("unit").get("requires_mounts_for");
  const path = mountPath(name);
  if (!spec || spec.type.kind !== "list" || path === null || valueProblem(spec.type.of, path) !== null) return false;
  if (a.section !== "Unit" || !["Requires", "BindsTo"].includes(a.key)) return false;
  const mounts = (conv.out.unit.requires_mounts_for ?? []) as string[];
  if (!mounts.includes(path)) conv.out.unit.requires_mounts_for = [...mounts, path];
  conv.origins.set("unit.requires_mounts_for", [...(conv.origins.get("unit.requires_mounts_for") ?? []), a]);
  return true;
}

/** systemd's mount unit name back to its path: "var-lib-x.mount" -> "/var/lib/x", "-.mount" -> "/". */
export function mountPath(name: string): string | null {
  if (!name.endsWith(".mount")) return null;
  const escaped = name.slice(0, -".mount".length);
  if (escaped === "-") return "/";
  if (escaped === "" || escaped.includes("%")) return null;
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]!;
    if (c === "-") bytes.push(0x2f);
    else if (c === "\\" && /^x[0-9a-fA-F]{2}$/.test(escaped.slice(i + 1, i + 4))) {
      bytes.push(parseInt(escaped.slice(i + 2, i + 4), 16));
      i += 3;
    } else bytes.push(...Buffer.from(c, "utf8"));
  }
  return "/" + Buffer.from(bytes).toString("utf8");
}

/** Unit names count by their type (After=*.mount), other items by the directive. */
function itemGroup(a: Assignment, part: string): string {
  const suffix = /\.([a-z]+)$/.exec(part)?.[1];
  return suffix !== undefined && /^(After|Before|Wants|Requires|BindsTo|Conflicts|PartOf|Requisite|Upholds|WantedBy|RequiredBy|Alias)$/.test(a.key)
    ? `${a.key}=*.${suffix}` : valueGroup(a);
}

function combine(type: ValueType, items: Item[], conv: Conversion): unknown {
  switch (type.kind) {
    case "command": {
      // One main command: systemd allows several only for oneshot services, as hearth does.
      if (items.length > 1 && serviceType(conv) === "oneshot") return items.map((i) => i.value);
      for (const extra of items.slice(1)) {
        conv.drop(extra.from, `hearth's ${"exec_start"} is one command: ${JSON.stringify((extra.value as string[]).join(" "))} would not run`, `${extra.from.key} (several)`);
      }
      return items[0]!.value;
    }
    case "capability-set":
      return mergeCapabilities(type, items, conv);
    case "env":
      return Object.assign({}, ...items.map((i) => i.value));
    default:
      return items.map((i) => i.value);
  }
}

/** The service's Type= as systemd reads it: its last non-empty assignment. */
function serviceType(conv: Conversion): string | undefined {
  return conv.all.filter((a) => a.section === "Service" && a.key === "Type").at(-1)?.value || undefined;
}

/**
 * CapabilityBoundingSet= and AmbientCapabilities= given several times: systemd adds a
 * plain list to the set and takes a "~" list out of it (the first one sets it).
 */
function mergeCapabilities(type: ValueType, items: Item[], conv: Conversion): unknown {
  if (items.length === 1) return items[0]!.value;
  let set = null as Set<string> | null;
  for (const item of items) {
    const read = readAs(type, item.value);
    if ("problem" in read) {
      conv.drop(item.from, read.problem, valueGroup(item.from));
      continue;
    }
    const names = read.value as string[];
    const inverted = (item.value as string).startsWith("~");
    const before: Set<string> | null = set;
    if (before === null) set = new Set(names);
    else if (inverted) set = new Set([...before].filter((n: string) => names.includes(n)));
    else for (const n of names) before.add(n);
  }
  const final: Set<string> | null = set;
  if (final === null) return undefined;
  const kept = CAPABILITIES.filter((n) => final.has(n));
  const left = CAPABILITIES.filter((n) => !final.has(n));
  if (left.length === 0) return CAPABILITIES.join(" ");
  return kept.length <= left.length ? kept.join(" ") : `~${left.join(" ")}`;
}

/** A systemd scalar as the TOML value hearth reads for `type`. */
function scalar(type: ValueType, text: string): unknown {
  switch (type.kind) {
    case "bool":
    case "bool-or-strings": // RestrictNamespaces=yes
      return parseBoolean(text) ?? text;
    // systemd's boolean spellings (yes, on, 1 …) for a key that is true, false or a word.
    case "enum":
      return type.bools && !type.values.includes(text) ? parseBoolean(text) ?? text : text;
    case "int":
      return /^[+-]?\d+$/.test(text) ? Number(text) : text;
    case "exit-status":
      return /^[+-]?\d+$/.test(text) ? Number(text) : EXIT_STATUS_NAMES[text] ?? text;
    case "duration":
      return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text; // a bare number is seconds in both
    case "size":
    case "rlimit":
      return /^\d+$/.test(text) ? Number(text) : text;
    case "unit-name":
      return unitName(text);
    case "list":
      return words(text).map((w) => scalar(type.of, w));
    default:
      return text;
  }
}

/** systemd's unit name as hearth's: services and targets lose their suffix. */
export function unitName(name: string): string | Skip {
  if (TARGET_NAMES[name] !== undefined) return TARGET_NAMES[name]!;
  const dot = name.lastIndexOf(".");
  const suffix = dot < 0 ? "" : name.slice(dot + 1);
  if (suffix === "socket") return new Skip("hearth makes every [[socket]] when the manager starts, before any unit: nothing to wait for");
  return SUFFIX_DROPPED.has(suffix) ? name.slice(0, dot) : name;
}

/**
 * A systemd command as hearth's argv, the prefixes on the program as systemd writes them.
 * A prefix hearth refuses is left out when the command reads without it (and said so).
 */
function commandArgv(command: SystemdCommand, a: Assignment, conv: Conversion): string[] | undefined {
  const full = [command.prefixes.join("") + command.program, ...command.args];
  const problem = valueProblem({ kind: "command" }, full);
  if (problem === null) return full;
  const others = command.prefixes.filter((p) => p !== "-");
  if (others.length > 0) {
    const args = command.prefixes.includes("@") ? command.args.slice(1) : command.args;
    const plain = [(command.prefixes.includes("-") ? "-" : "") + command.program, ...args];
    if (valueProblem({ kind: "command" }, plain) === null) {
      conv.drop(a, `the prefix ${others.map((p) => `"${p}"`).join(" ")} (${problem}); the command is kept without it`, `${a.key} prefix ${others.join("")}`);
      return plain;
    }
  }
  conv.drop(a, problem);
  return undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Environment="A=1" "B=two words": one variable per word. */
function environmentItems(text: string, a: Assignment, conv: Conversion): Item[] {
  const items: Item[] = [];
  for (const word of splitWords(text)) {
    const eq = word.text.indexOf("=");
    const name = eq < 0 ? "" : word.text.slice(0, eq);
    if (!ENV_NAME.test(name)) {
      conv.drop(a, `${JSON.stringify(word.text)} is not NAME=VALUE (systemd ignores it too)`);
      continue;
    }
    items.push({ value: { [name]: word.text.slice(eq + 1) }, from: a });
  }
  return items;
}
