// `hearth import [--to CONFDIR] [--root DIR] [--summary] [-v] FILE.service [FILE.socket ...]`:
// systemd units -> hearth units, on stdout or written to CONFDIR/units/NAME.toml. Every
// directive that does not convert is named on stderr; exit 1 when a file could not be
// converted at all, else 0 (drops are reported, not failures).

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatNote, importUnits, renderUnit, unitPath } from "../import/importer.ts";
import { formatSummary, summarize } from "../import/summary.ts";

const USAGE = "usage: hearth import [--to CONFDIR] [--root DIR] [--summary] [-v] FILE.service|FILE.socket|FILE.target ...";

export interface ImportIo {
  out: (text: string) => void;
  err: (line: string) => void;
}

const consoleIo: ImportIo = { out: (text) => process.stdout.write(text), err: (line) => console.error(line) };

export async function importMain(argv: string[], io: ImportIo = consoleIo): Promise<number> {
  let to: string | undefined;
  let root: string | undefined;
  let summary = false;
  let verbose = false;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--to" || arg === "--root") {
      const value = argv[++i];
      if (value === undefined) {
        io.err(`hearth import: ${arg} needs a directory\n${USAGE}`);
        return 2;
      }
      if (arg === "--to") to = value;
      else root = value;
    } else if (arg === "--summary") summary = true;
    else if (arg === "-v" || arg === "--verbose") verbose = true;
    else if (arg === "-h" || arg === "--help") {
      io.out(`${USAGE}\n`);
      return 0;
    } else if (arg.startsWith("-")) {
      io.err(`hearth import: unknown option "${arg}"\n${USAGE}`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0) {
    io.err(`hearth import: no unit file given\n${USAGE}`);
    return 2;
  }

  const result = importUnits(files, { root });
  for (const note of result.notes) if (note.kind === "dropped" || verbose) io.err(formatNote(note));
  for (const error of result.errors) io.err(`${error}`);
  for (const unit of result.units) {
    const text = renderUnit(unit);
    if (to === undefined) {
      io.out(`# units/${unit.name}.toml\n${text}`);
      continue;
    }
    const path = unitPath(to, unit);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    if (verbose) io.err(`wrote ${path}`);
  }
  if (summary) for (const line of formatSummary(summarize(result))) io.err(line);
  return result.errors.length > 0 ? 1 : 0;
}
