// standard_output / standard_error values, as systemd's StandardOutput= / StandardError=
// take them: a word, or "file:PATH", "append:PATH", "truncate:PATH". Pure; the loader
// validates with it and src/manager/stdio.ts reads the validated value with it.

import type { StandardOutput } from "./types.ts";
import { didYouMean } from "./suggest.ts";

/**
 * The words (syslog and kmsg go to the unit's log, as journal: hearth's log is its journal;
 * "+console": each line is also written to the console, as journald forwards those streams).
 */
export const OUTPUT_WORDS = ["inherit", "null", "tty", "journal", "syslog", "kmsg", "socket", "journal+console", "syslog+console", "kmsg+console"] as const;

/** Whether the unit's log lines also go to the console (standard_output or standard_error "…+console"). */
export function logsToConsole(cfg: { standard_output?: string | null; standard_error?: string | null }): boolean {
  return [cfg.standard_output, cfg.standard_error].some((v) => typeof v === "string" && v.endsWith("+console"));
}
/** The prefixes that name a file, and how it is opened. */
export const OUTPUT_FILE_KINDS = ["file", "append", "truncate"] as const;

export type OutputTarget =
  | { kind: (typeof OUTPUT_WORDS)[number] }
  | { kind: (typeof OUTPUT_FILE_KINDS)[number]; path: string };

/** The longest path accepted (PATH_MAX, with its NUL). */
const MAX_PATH = 4095;

/** A value read into its target, or why it is not one. */
export function parseStandardOutput(text: string): OutputTarget | { error: string } {
  if ((OUTPUT_WORDS as readonly string[]).includes(text)) return { kind: text as OutputTarget["kind"] } as OutputTarget;
  const colon = text.indexOf(":");
  const prefix = colon < 0 ? "" : text.slice(0, colon);
  if (!(OUTPUT_FILE_KINDS as readonly string[]).includes(prefix)) {
    const forms = [...OUTPUT_WORDS, ...OUTPUT_FILE_KINDS.map((k) => `${k}:PATH`)];
    return { error: `expected one of ${forms.join(", ")}${didYouMean(colon < 0 ? text : `${prefix}:PATH`, forms)}` };
  }
  const path = text.slice(colon + 1);
  const wrong = pathProblem(path);
  if (wrong) return { error: `${prefix}:PATH ${wrong}` };
  return { kind: prefix as (typeof OUTPUT_FILE_KINDS)[number], path };
}

/** What is wrong with a file path for output, if anything (systemd wants it absolute and normalized). */
function pathProblem(path: string): string | null {
  if (!path.startsWith("/")) return "needs an absolute path";
  if (path.length > MAX_PATH) return `is too long: at most ${MAX_PATH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return "must not hold control characters";
  if (path.endsWith("/")) return "names a directory: give a file";
  if (path.split("/").some((part) => part === "." || part === "..")) return 'must not hold "." or ".." components';
  return null;
}

/** The value as the loader keeps it (validated), read back into its target. */
export function outputTarget(value: StandardOutput): OutputTarget {
  const parsed = parseStandardOutput(value);
  if ("error" in parsed) throw new Error(`unvalidated standard output ${JSON.stringify(value)}: ${parsed.error}`);
  return parsed;
}
