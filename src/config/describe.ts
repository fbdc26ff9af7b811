// How a TOML value is named in messages: `got the string "yes"`, `got an array`.

/** How much of a value a message echoes: a diagnostic stays one short line. */
export const SHOWN_LENGTH = 80;

/** C0 and C1 control characters, and the two that editors take for a line break. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const ESCAPED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with its control characters written as escapes (\n, \u0001): never a raw line break. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => ESCAPED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The first `max` characters, and "…" if there were more. */
export function shorten(text: string, max = SHOWN_LENGTH): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A string as a message echoes it: in double quotes, shortened, control characters escaped. */
export function quote(text: string): string {
  return escapeControls(JSON.stringify(shorten(text)));
}

export function describeValue(value: unknown): string {
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "boolean") return `the boolean ${value}`;
  if (typeof value === "number" || typeof value === "bigint") {
    return typeof value === "number" && !Number.isInteger(value) ? `the number ${value}` : `the integer ${value}`;
  }
  if (Array.isArray(value)) return "an array";
  if (isTable(value)) return "a table";
  return "a date"; // the only other kind of TOML value
}

/** smol-toml may give Temporal objects for dates; they are never valid hearth values. */
function isTemporal(value: object): boolean {
  const tag = Object.prototype.toString.call(value);
  return tag.startsWith("[object Temporal.");
}

/** A TOML table ({...} or [name]), as opposed to an array, a date or a scalar. */
export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date) && !isTemporal(value);
}

/**
 * A deep copy of a plain JSON-like value (arrays, tables, scalars), to be changed
 * without changing the original: the schema's defaults, the built-in targets. Cheaper
 * than structuredClone, which costs more than reading a key, for these small values.
 */
export function freshCopy<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value; // most defaults: nothing to copy
  if (Array.isArray(value)) return value.map(freshCopy) as T;
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, freshCopy(item)])) as T;
  return value;
}
