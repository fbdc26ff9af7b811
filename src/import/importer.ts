// `hearth import`'s work: systemd .service, .socket and .target files (with their drop-ins) ->
// hearth units, one per service, its sockets as [[socket]] tables in the service's file
// (DESIGN §2), with a Note for every directive that did not convert.

import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { keysOf } from "../config/schema.ts";
import { isBuiltinTarget } from "../config/builtins.ts";
import { Conversion, convertAssignments, convertGeneric, type Note } from "./convert.ts";
import { dropInFiles, parseUnitText, readUnitFile, type Assignment } from "./unit-file.ts";
import { parseBoolean } from "./words.ts";
import type { HearthUnit } from "./render.ts";
import { convertSocket } from "./socket-file.ts";
import { impliedType, settle } from "./whole-unit.ts";

export { formatNote, renderUnit, unitPath, type HearthUnit } from "./render.ts";

export interface ImportOptions {
  /** A root file system whose /etc/systemd/system/NAME.d (and the other unit dirs) hold drop-ins. */
  root?: string;
}

/** A systemd unit file read with its drop-ins. */
export interface Source {
  path: string;
  fileName: string; // foo.service
  stem: string; // foo, foo@
  suffix: string; // service | socket
  assignments: Assignment[];
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
  }

  const units: HearthUnit[] = [];
  for (const service of services.values()) {
    // An Accept=yes socket foo.socket goes with its template foo@.service into units/foo@.toml.
    const name = service.stem;
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
    for (const { table, origins: from } of convertSocket(socket, service, notes)) {
      for (const [key, list] of from) if (key in table) origins.set(`socket[${socketTables.length}].${key}`, list);
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

/** TimeoutSec= sets both timeouts. */
const SERVICE_EXPLICIT: Record<string, (list: Assignment[], conv: Conversion) => void> = {
  "Service.TimeoutSec": (list, conv) => {
    for (const key of ["timeout_start_sec", "timeout_stop_sec"]) convertGeneric(list, conv, keysOf("service").get(key) ?? null);
  },
};

