// A hearth unit as TOML, and where it goes.

import { basename, join } from "node:path";
import { stringify } from "smol-toml";
import type { Note, Tables } from "./convert.ts";
import type { Assignment } from "./unit-file.ts";

export interface HearthUnit {
  name: string; // the file is units/NAME.toml
  sources: string[]; // the systemd files it was made from
  tables: Tables;
  sockets: Record<string, unknown>[];
  /** "unit.key", "service.key", "socket[N].key" -> the assignments the value came from. */
  origins: Map<string, Assignment[]>; // replaced when a [[socket]] goes
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


