// systemd's unit-file syntax (systemd.syntax(7)), read faithfully: [Section] headers,
// Key=Value lines, comments starting with # or ;, a trailing backslash joining a line to
// the next (the backslash becomes a space; comment lines inside are skipped), and drop-ins
// (NAME.d/*.conf) read after the file in the order of their file names. Nothing is
// interpreted here: every assignment is kept, in order, with the file and line it came from.

import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { readConfigFile } from "../config/read-file.ts";

/** One `Key=Value` line (continuations joined), where it stands. */
export interface Assignment {
  section: string;
  key: string;
  value: string;
  file: string;
  line: number; // 1-based: the line the assignment begins on
}

/** A line that is not an assignment, a header or a comment. */
export interface SyntaxProblem {
  file: string;
  line: number;
  message: string;
}

export interface ParsedFile {
  assignments: Assignment[];
  problems: SyntaxProblem[];
}

/** A unit file is a few KiB; one larger than this is not a unit file. */
export const MAX_UNIT_FILE_BYTES = 1 << 20;

export function parseUnitText(text: string, file: string): ParsedFile {
  const assignments: Assignment[] = [];
  const problems: SyntaxProblem[] = [];
  const lines = text.split(/\r?\n/);
  let section: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === "" || isComment(line)) continue;
    // Continuations: "a \" + "b" is "a  b"; comment lines in between are left out.
    let continued = line.endsWith("\\");
    if (continued) line = line.slice(0, -1) + " ";
    while (continued && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      if (isComment(next)) continue;
      continued = next.endsWith("\\");
      line += continued ? next.slice(0, -1) + " " : next;
    }
    line = line.trim();
    if (line.startsWith("[")) {
      if (!line.endsWith("]") || line.length < 3) {
        problems.push({ file, line: start, message: `bad section header ${JSON.stringify(line)}` });
        section = null;
        continue;
      }
      section = line.slice(1, -1);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) {
      problems.push({ file, line: start, message: `not an assignment: ${JSON.stringify(line)}` });
      continue;
    }
    if (section === null) {
      problems.push({ file, line: start, message: `assignment outside of any section: ${JSON.stringify(line)}` });
      continue;
    }
    assignments.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), file, line: start });
  }
  return { assignments, problems };
}

function isComment(line: string): boolean {
  return line.startsWith("#") || line.startsWith(";");
}

/** The text of a regular file, or why not. */
export function readUnitFile(path: string): { text: string } | { problem: string } {
  const read = readConfigFile(path, MAX_UNIT_FILE_BYTES);
  if ("missing" in read) return { problem: "no such file" };
  return read;
}

/**
 * The drop-in files of a unit, in the order systemd applies them: every `*.conf` of the
 * NAME.d directories (beside the file, then under `root` in systemd's search path; for an
 * instance foo@bar.service also foo@.service.d), sorted by file name; a name in an earlier
 * directory hides the same name in a later one.
 */
/** systemd's system unit directories, most important first (relative to a root). */
export const UNIT_DIRS = ["etc/systemd/system", "run/systemd/system", "usr/local/lib/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"];

export function dropInFiles(unitPath: string, root?: string): string[] {
  const name = basename(unitPath);
  const names = [name];
  const at = name.indexOf("@");
  const dot = name.lastIndexOf(".");
  if (at > 0 && dot > at + 1) names.push(name.slice(0, at + 1) + name.slice(dot)); // foo@bar.service -> foo@.service
  const dirs: string[] = [];
  // Most important first: a same-named file there hides the others.
  if (root !== undefined) {
    for (const base of UNIT_DIRS) {
      for (const n of names) dirs.push(join(root, base, `${n}.d`));
    }
  }
  for (const n of names) dirs.push(join(dirname(unitPath), `${n}.d`));
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    if (!isDirectory(dir)) continue;
    for (const entry of readdirSync(dir).sort()) {
      if (!entry.endsWith(".conf") || byName.has(entry)) continue;
      byName.set(entry, join(dir, entry)); // a link to /dev/null masks the same name in later dirs
    }
  }
  for (const [entry, path] of byName) if (isMasked(path)) byName.delete(entry);
  return [...byName.keys()].sort().map((entry) => byName.get(entry)!);
}

function isMasked(path: string): boolean {
  try {
    return realpathSync(path) === "/dev/null";
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}
