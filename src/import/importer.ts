// `hearth import`'s work: systemd .service, .socket and .target files (with their drop-ins) ->
// hearth units, one per service, its sockets as [[socket]] tables in the service's file
// (DESIGN §2), with a Note for every directive that did not convert.

import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stringify } from "smol-toml";
import { DefaultRule, keysOf } from "../config/schema.ts";
import { defaultSystemConfig, parseUnitToml } from "../config/load.ts";
import { isBuiltinTarget } from "../config/builtins.ts";
import { Conversion, convertAssignments, convertGeneric, type Note, type Tables } from "./convert.ts";
import { LISTEN_KEYS, SOCKET_UNIT_IGNORED } from "./directives.ts";
import { dropInFiles, parseUnitText, readUnitFile, type Assignment } from "./unit-file.ts";
import { expandFixedSpecifiers, parseBoolean } from "./words.ts";
import { valueProblem } from "./validate.ts";

export interface ImportOptions {
  /** A root file system whose /etc/systemd/system/NAME.d (and the other unit dirs) hold drop-ins. */
  root?: string;
}

/** A systemd unit file read with its drop-ins. */
interface Source {
  path: string;
  fileName: string; // foo.service
  stem: string; // foo, foo@
  suffix: string; // service | socket
  assignments: Assignment[];
}

export interface HearthUnit {
  name: string; // the file is units/NAME.toml
  sources: string[]; // the systemd files it was made from
  tables: Tables;
  sockets: Record<string, unknown>[];
  /** "unit.key", "service.key", "socket[N].key" -> the assignments the value came from. */
  origins: Map<string, Assignment[]>;
}

/** What became of one systemd file given (or found beside a socket). */
export interface FileOutcome {
  path: string;
  unit: string | null; // the hearth unit it went into; null when it could not be converted at all
  lossless: boolean; // nothing dropped
}

export interface ImportResult {
  units: HearthUnit[];
  notes: Note[];
  files: FileOutcome[];
  /** Files that could not be converted at all: FILE: why. */
  errors: string[];
}

/** Targets are read too: systemd's network.target and friends are units hearth does not build in. */
const SUPPORTED = new Set(["service", "socket", "target"]);

export function importUnits(paths: string[], opts: ImportOptions = {}): ImportResult {
  const notes: Note[] = [];
  const errors: string[] = [];
  const services = new Map<string, Source>();
  const sockets: Source[] = [];
  const failed: string[] = [];
  for (const path of paths) {
    const source = readSource(path, opts, notes, errors);
    if (source === null) failed.push(path);
    else if (source.suffix === "socket") sockets.push(source);
    else services.set(source.fileName, source);
  }

  // Each socket goes into the file of the service it activates.
  const socketsOf = new Map<string, Source[]>(); // service file name -> its sockets
  const acceptUnits = new Map<string, Source>(); // template service file name -> its Accept=yes socket
  // A service's Sockets= names sockets it takes, as their Service= would.
  const owner = new Map<string, string>();
  for (const service of services.values()) {
    for (const a of service.assignments) {
      if (a.section === "Service" && a.key === "Sockets") for (const name of a.value.split(/\s+/)) if (name !== "") owner.set(name, service.fileName);
    }
  }
  for (const socket of sockets) {
    const accept = parseBoolean(lastValue(socket, "Socket", "Accept") ?? "no") === true;
    // A template socket's Service=foo@%i.service is the template foo@.service.
    const named = lastValue(socket, "Socket", "Service")?.replace(/@%i\./, "@.");
    const target = named ?? owner.get(socket.fileName) ?? `${socket.stem}${accept ? "@" : ""}.service`;
    if (!services.has(target)) {
      const beside = join(dirname(socket.path), target);
      const found = existsSync(beside) ? readSource(beside, opts, notes, errors) : null;
      if (found === null) {
        errors.push(`${socket.path}: the service it activates, ${target}, was not given and is not beside it`);
        failed.push(socket.path);
        continue;
      }
      services.set(target, found);
    }
    socketsOf.set(target, [...(socketsOf.get(target) ?? []), socket]);
    if (accept) acceptUnits.set(target, socket);
  }

  const units: HearthUnit[] = [];
  const taken = new Set([...services.values()].filter((s) => !acceptUnits.has(s.fileName)).map((s) => s.stem));
  for (const service of services.values()) {
    const accepting = acceptUnits.get(service.fileName);
    // An Accept=yes socket and its template are one hearth unit named after the socket.
    let name = accepting ? accepting.stem : service.stem;
    if (accepting && taken.has(name)) name = `${name}-socket`;
    if (isBuiltinTarget(name) && service.suffix !== "target") {
      errors.push(`${service.path}: ${name} is one of hearth's built-in targets: a unit of that name cannot have a [service]`);
      failed.push(service.path, ...(socketsOf.get(service.fileName) ?? []).map((s) => s.path));
      continue;
    }
    units.push(convertUnit(name, service, socketsOf.get(service.fileName) ?? [], notes));
  }

  const dropped = new Set(notes.filter((n) => n.kind === "dropped").map((n) => n.source));
  const unitOf = new Map(units.flatMap((u) => u.sources.map((s) => [s, u.name] as const)));
  const files: FileOutcome[] = [];
  for (const path of [...paths, ...[...services.values()].map((s) => s.path)]) {
    if (files.some((f) => f.path === path)) continue;
    const unit = unitOf.get(path) ?? null;
    files.push({ path, unit, lossless: unit !== null && !dropped.has(path) && !failed.includes(path) });
  }
  return { units, notes, files, errors };
}

function readSource(path: string, opts: ImportOptions, notes: Note[], errors: string[]): Source | null {
  const fileName = basename(path);
  const dot = fileName.lastIndexOf(".");
  const suffix = dot < 0 ? "" : fileName.slice(dot + 1);
  if (!SUPPORTED.has(suffix)) {
    errors.push(`${path}: not a .service, .socket or .target file (${suffix === "" ? "no suffix" : `.${suffix}`} units are not imported)`);
    return null;
  }
  const assignments: Assignment[] = [];
  for (const file of [path, ...dropInFiles(path, opts.root)]) {
    const read = readUnitFile(file);
    if ("problem" in read) {
      errors.push(`${file}: ${read.problem}`);
      if (file === path) return null;
      continue;
    }
    const parsed = parseUnitText(read.text, file);
    for (const p of parsed.problems) {
      notes.push({ kind: "dropped", file: p.file, line: p.line, key: "", value: "", why: p.message, source: path, group: "(syntax)" });
    }
    assignments.push(...parsed.assignments);
  }
  return { path, fileName, stem: fileName.slice(0, dot), suffix, assignments };
}

function lastValue(source: Source, section: string, key: string): string | undefined {
  return source.assignments.filter((a) => a.section === section && a.key === key).at(-1)?.value;
}

function convertUnit(name: string, service: Source, sockets: Source[], notes: Note[]): HearthUnit {
  const conv = new Conversion(service.path, notes);
  conv.all = service.assignments;
  const socketNames = new Set(sockets.map((s) => s.fileName));
  convertAssignments(service.assignments, conv, {
    ...SERVICE_EXPLICIT,
    // Sockets= is where its sockets went: each one named is a [[socket]] of this unit, or missing.
    "Service.Sockets": (list) => {
      for (const a of list) {
        const missing = a.value.split(/\s+/).filter((name) => name !== "" && !socketNames.has(name));
        if (missing.length === 0) conv.note("ignored", a, "its sockets are [[socket]] tables of this unit");
        else conv.drop(a, `${missing.join(", ")} not imported with it: give the socket files too`, "Sockets");
      }
    },
  });
  const origins = new Map(conv.origins);
  const socketTables: Record<string, unknown>[] = [];
  for (const socket of sockets) {
    const { tables, origins: socketOrigins } = convertSocket(socket, service, notes);
    for (const table of tables) {
      for (const [key, from] of socketOrigins) if (key in table) origins.set(`socket[${socketTables.length}].${key}`, from);
      socketTables.push(table);
    }
  }
  const service_ = conv.out.service;
  const implied = impliedType(service_);
  if (implied !== null) {
    for (const a of origins.get("service.bus_name") ?? []) {
      notes.push({ kind: "dropped", file: a.file, line: a.line, key: a.key, value: a.value, why: implied, source: service.path, group: "Type=dbus (implied)" });
    }
  }
  const unit: HearthUnit = { name, sources: [service.path, ...sockets.map((s) => s.path)], tables: conv.out, sockets: socketTables, origins };
  settle(unit, service.path, notes);
  return unit;
}

/**
 * systemd's defaults that depend on other keys: with no Type=, a service with BusName= is
 * dbus and one with no ExecStart= (only ExecStop=, say) is oneshot; a oneshot may have no
 * ExecStart=, which hearth wants: /bin/true does the same nothing; and a oneshot has no
 * start timeout unless it sets one. Returns why the dbus
 * type could not be given, if it could not.
 */
function impliedType(service: Record<string, unknown>): string | null {
  if (Object.keys(service).length === 0) return null; // a target
  const types = keysOf("service").get("type")?.type;
  const known = (t: string) => types?.kind === "enum" && types.values.includes(t);
  let problem: string | null = null;
  if (service.type === undefined && service.bus_name !== undefined) {
    if (known("dbus")) service.type = "dbus";
    else problem = "with no Type=, BusName= makes a dbus service; hearth's type has no dbus: it starts as simple";
  }
  if (service.type === undefined && service.exec_start === undefined) service.type = "oneshot";
  const required = keysOf("service").get("exec_start")?.default === DefaultRule.required;
  if (required && service.exec_start === undefined && service.type === "oneshot") service.exec_start = ["/bin/true"];
  // systemd: "Oneshot services have disabled start timeout by default" (service.c).
  if (service.type === "oneshot" && service.timeout_start_sec === undefined) service.timeout_start_sec = "infinity";
  return problem;
}

/**
 * What reads value by value may still not load as a whole (standard_input = "socket"
 * without accept = true): load the unit as `hearth check` would, and drop each key an
 * error names, reporting it at the directives it came from. Errors about the unit as a
 * whole are left for `hearth check` to show.
 */
function settle(unit: HearthUnit, source: string, notes: Note[]): void {
  for (let round = 0; round < 20; round++) {
    const file = `units/${unit.name}.toml`;
    const { diagnostics } = parseUnitToml(unit.name, renderUnit(unit), file, defaultSystemConfig(), { isExecutable: () => true, exists: () => true });
    let removed = false;
    for (const d of diagnostics) {
      if (d.severity !== "error") continue;
      const at = /^(socket\[(\d+)\]\.)?([a-z_0-9]+)(\[\d+\])*: (.*)$/s.exec(d.message);
      if (!at) continue;
      const [, , index, key, , message] = at;
      const table = index !== undefined ? unit.sockets[Number(index)] : key! in unit.tables.service ? unit.tables.service : key! in unit.tables.unit ? unit.tables.unit : undefined;
      if (table === undefined || !(key! in table)) continue;
      delete table[key!];
      removed = true;
      const origin = index !== undefined ? `socket[${index}].${key}` : `${table === unit.tables.service ? "service" : "unit"}.${key}`;
      for (const a of unit.origins.get(origin) ?? []) {
        notes.push({ kind: "dropped", file: a.file, line: a.line, key: a.key, value: a.value, why: message!, source, group: a.value.length <= 24 ? `${a.key}=${a.value}` : a.key });
      }
    }
    if (!removed) return;
  }
}

/** TimeoutSec= sets both timeouts. */
const SERVICE_EXPLICIT: Record<string, (list: Assignment[], conv: Conversion) => void> = {
  "Service.TimeoutSec": (list, conv) => {
    for (const key of ["timeout_start_sec", "timeout_stop_sec"]) convertGeneric(list, conv, keysOf("service").get(key) ?? null);
  },
};

/** One [[socket]] per Listen*= line, each with the file's other [Socket] settings. */
function convertSocket(socket: Source, service: Source, notes: Note[]): { tables: Record<string, unknown>[]; origins: Map<string, Assignment[]> } {
  const conv = new Conversion(socket.path, notes);
  const listens: Record<string, unknown>[] = [];
  const others: Assignment[] = [];
  for (const a of socket.assignments) {
    if (a.section !== "Socket") {
      const same = service.assignments.some((s) => s.section === a.section && s.key === a.key && s.value === a.value);
      const why = same ? "the service says the same" : SOCKET_UNIT_IGNORED[`${a.section}.${a.key}`];
      if (why !== undefined || a.key.startsWith("X-") || a.section.startsWith("X-")) conv.note("ignored", a, why ?? "an extension key (X-), ignored by systemd too");
      else conv.drop(a, `a socket's [${a.section}] ${a.key}: hearth makes every [[socket]] when the manager starts, with no dependencies or conditions of its own`, `socket ${a.section}.${a.key}`);
    } else if (a.key in LISTEN_KEYS) {
      if (a.value === "") {
        listens.length = 0; // an empty Listen*= clears every listen line before it
        continue;
      }
      const spec = keysOf("socket").get(LISTEN_KEYS[a.key]!);
      if (!spec) {
        conv.drop(a, `hearth has no ${LISTEN_KEYS[a.key]}`);
        continue;
      }
      const value = expandFixedSpecifiers(a.value);
      const problem = valueProblem(spec.type, value);
      if (problem === null) {
        listens.push({ [spec.name]: value });
        conv.origins.set(spec.name, [...(conv.origins.get(spec.name) ?? []), a]);
      }
      else conv.drop(a, problem, `${a.key} (address)`);
    } else if (a.key !== "Service") {
      others.push(a); // Service= is where the socket went
    }
  }
  convertAssignments(others, conv);
  const shared = conv.out.socket;
  // systemd names the fds after the socket unit, suffix included (LISTEN_FDNAMES=foo.socket).
  // A template's instance foo@bar.socket names them foo@bar.socket: %i is expanded by hearth.
  const fdName = socket.stem.endsWith("@") ? `${socket.stem}%i.${socket.suffix}` : socket.fileName;
  if (shared.fd_name === undefined && keysOf("socket").has("fd_name") && valueProblem(keysOf("socket").get("fd_name")!.type, fdName) === null) {
    shared.fd_name = fdName;
  }
  if (listens.length === 0) conv.notes.push({ kind: "dropped", file: socket.path, line: 0, key: "", value: "", why: "no Listen*= line converted: the socket listens on nothing", source: socket.path, group: "(no listen)" });
  const origins = new Map<string, Assignment[]>();
  for (const [key, from] of conv.origins) origins.set(key.replace(/^socket\./, ""), from);
  return { tables: listens.map((listen) => ({ ...listen, ...shared })), origins };
}

/** The unit as TOML, with a comment naming what it was made from. */
export function renderUnit(unit: HearthUnit): string {
  const doc: Record<string, unknown> = { unit: unit.tables.unit };
  if (Object.keys(unit.tables.service).length > 0) doc.service = unit.tables.service;
  if (unit.sockets.length > 0) doc.socket = unit.sockets;
  const from = unit.sources.map((s) => basename(s)).join(", ");
  return `# imported by hearth import from ${from}\n${stringify(doc)}\n`;
}

/** The file a unit goes to, under a config dir. */
export function unitPath(confDir: string, unit: HearthUnit): string {
  return join(confDir, "units", `${unit.name}.toml`);
}

/** `FILE:LINE: dropped KEY=VALUE (why)`. */
export function formatNote(n: Note): string {
  const where = n.line > 0 ? `${n.file}:${n.line}` : n.file;
  const what = n.key === "" ? "" : ` ${n.key}=${n.value}`;
  return `${where}: ${n.kind}${what} (${n.why})`;
}

