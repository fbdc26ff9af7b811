// How a TOML value is named in messages: `got the string "yes"`, `got an array`.

const SHOWN_STRING_LENGTH = 60;

export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > SHOWN_STRING_LENGTH ? `${value.slice(0, SHOWN_STRING_LENGTH)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
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
