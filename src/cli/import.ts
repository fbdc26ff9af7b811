// `hearth import [--to CONFDIR] [--root DIR] [--summary] [-v] FILE.service [FILE.socket ...]`:
// systemd units -> hearth units (with --root, NAME.service is found in DIR's unit directories), on stdout or written to CONFDIR/units/NAME.toml. Every
// directive that does not convert is named on stderr; exit 1 when a file could not be
// converted at all, else 0 (drops are reported, not failures).

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatNote, importUnits, renderUnit, unitPath } from "../import/importer.ts";
import { UNIT_DIRS } from "../import/unit-file.ts";
import { formatSummary, summarize } from "../import/summary.ts";

/** With --root, a bare unit name is looked up in the root's unit directories, as systemd would. */
function unitFile(arg: string, root: string | undefined): string {
  if (root === undefined || arg.includes("/") || existsSync(arg)) return arg;
  const found = UNIT_DIRS.map((dir) => join(root, dir, arg)).find((path) => existsSync(path));
  return found ?? arg;
}

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

  const result = importUnits(files.map((file) => unitFile(file, root)), { root });
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
