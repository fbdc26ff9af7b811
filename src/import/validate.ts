// Whether a converted value is one hearth accepts: read by the loader's own value readers
// (src/config/values.ts), so import never disagrees with `hearth check`. Programs are not
// looked up: the unit is imported on another machine than the one it will run on.

import { FileReport } from "../config/diagnostics.ts";
import type { LoadEnv } from "../config/commands.ts";
import type { ValueType } from "../config/schema.ts";
import { readValue } from "../config/values.ts";

const ANY_PROGRAM: LoadEnv = { isExecutable: () => true, exists: () => true };

/** Specifiers that stand for an absolute path (home, runtime, state … directories, %f). */
const PATH_SPECIFIERS = new Set(["h", "t", "S", "C", "L", "E", "T", "V", "f", "s"]);

function withSpecifiersAsValues(value: unknown): unknown {
  if (typeof value === "string") {
    if (!value.includes("%")) return value;
    const read = value.replace(/%(.)/gs, (_, c: string) => (c === "%" ? "%" : PATH_SPECIFIERS.has(c) ? "/x" : "x"));
    // "%i.device" (systemd-fsck@dev-sda1): the instance is an escaped device path.
    return value.startsWith("%") && read.endsWith(".device") ? `dev-${read}` : read;
  }
  if (Array.isArray(value)) return value.map(withSpecifiersAsValues);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSpecifiersAsValues(v)]));
  }
  return value;
}

/** The loader's complaint about value as a `type`, or null when it reads it. */
export function valueProblem(type: ValueType, value: unknown): string | null {
  const read = readAs(type, value);
  return "problem" in read ? read.problem : null;
}

/**
 * The value as the loader reads it (types.ts form), or its complaint. Specifiers are read as
 * a value of their kind ("%h/x" as an absolute path, "foo@%i" as a name): hearth expands
 * them before it reads the value.
 */
export function readAs(type: ValueType, value: unknown): { value: unknown } | { problem: string } {
  const report = new FileReport("import", new Map(), ANY_PROGRAM);
  const read = readValue(type, withSpecifiersAsValues(value), report.at(""));
  const error = report.diagnostics.find((d) => d.severity === "error");
  if (error) return { problem: error.message.replace(/^\[\d+\]: /, "") };
  return read === undefined ? { problem: "not a valid value" } : { value: read };
}
