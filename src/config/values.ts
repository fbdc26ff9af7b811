// Reading one TOML value by its schema type. Each reader returns the value in the form
// types.ts wants, or undefined after reporting at the value's site why it is wrong.

import { CAPABILITY_NAMES } from "../../ffi/constants.ts";
import type { Condition, ConditionCheck, Rlimit, StandardOutput } from "./types.ts";
import { parseStandardOutput } from "./standard-output.ts";
import { MAX_CONDITIONS_PER_KEY, parseCondition } from "./conditions.ts";
import { parseSize } from "./size.ts";
import type { ValueType } from "./schema.ts";
import type { Site } from "./diagnostics.ts";
import { describeValue, isTable, quote } from "./describe.ts";
import { DurationError, parseDuration } from "./duration.ts";
import { MAX_TIMER_SEC } from "./schema.ts";
/** The calendar parser, loaded by the first on_calendar (a chunk of its own in the executable, read synchronously by require). */
const parseCalendar: typeof import("../timers/calendar.ts").parseCalendar = (text) => require("../timers/calendar.ts").parseCalendar(text);
import { readCommand, readCommandList } from "./commands.ts";
import { didYouMean } from "./suggest.ts";
import { parseListen } from "./socket-address.ts";
import { busNameProblem } from "../dbus/names.ts";
import { deviceUnitNameProblem, isDeviceUnitName } from "../devices/names.ts";

export function readValue(type: ValueType, value: unknown, site: Site): unknown {
  switch (type.kind) {
    case "string": return readString(value, site);
    case "path": return readPath(value, site, type);
    case "bool": return readBool(value, site);
    case "int":
      if (type.percent && typeof value === "string" && value.trim().endsWith("%")) {
        const percent = readPercent(value, site, 100);
        return percent === undefined ? undefined : { percent };
      }
      return type.infinity && value === "infinity" ? Infinity : readInt(value, site, type.min, type.max, type.infinity);
    case "size": return type.infinity && value === "infinity" ? Infinity : readSize(value, site, type.max, type.infinity);
    case "duration": return readDurationValue(value, site, type.off ?? false, type.finite ?? false);
    case "list": return readList(value, site, type.of);
    case "unit-name": return readUnitName(value, site);
    case "command": return readCommand(value, site);
    case "command-list": return readCommandList(value, site);
    case "enum": return type.bools && typeof value === "boolean" ? value : readEnum(value, site, type.values, type.bools);
    case "signal": return readSignal(value, site);
    case "mode": return readMode(value, site);
    case "env": return readEnvironment(value, site);
    case "rlimit": return readRlimit(value, site, type.unit, type.max);
    case "exit-status": return readInt(value, site, 0, 255);
    case "listen-address": return readListenAddress(value, site);
    case "netlink-address": return readNetlinkAddress(value, site);
    case "fd-name": return readFdName(value, site);
    case "capability-set": return readCapabilitySet(value, site);
    case "bool-or-strings": return typeof value === "boolean" ? value : readList(value, site, { kind: "string" });
    case "cpu-set": return readCpuSet(value, site);
    case "percent": return readPercent(value, site, type.max);
    case "condition": return readConditions(value, site, type.check, type.assert);
    case "directory-name": return readDirectoryName(value, site);
    case "std-output": return readStandardOutput(value, site);
    case "bus-name": return readBusName(value, site);
    case "calendar": return readCalendar(value, site);
  }
}

/**
 * A directory under a base the manager picks (runtime_directory = ["foo/bar"]): relative,
 * no ".." (it could leave the base), no ":" (the variables join paths with it), no control
 * characters; "." and doubled or trailing slashes are dropped, as systemd simplifies them.
 */
export function directoryNameProblem(text: string): string | null {
  if (text.startsWith("/")) return "must be relative (it is made under the base directory)";
  const parts = text.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) return "names no directory";
  if (parts.includes("..")) return 'may not contain ".."';
  if (/[\x00-\x1f\x7f:]/.test(text)) return 'may not contain ":" or control characters';
  if (parts.some((p) => Buffer.byteLength(p) > 255) || Buffer.byteLength(text) > 4000) return "is too long";
  return null;
}

function readDirectoryName(value: unknown, site: Site): string | undefined {
  const text = readString(value, site);
  if (text === undefined) return undefined;
  const problem = directoryNameProblem(text);
  if (problem === null) return text.split("/").filter((p) => p !== "" && p !== ".").join("/");
  site.error(`${quote(text)} ${problem}`);
  return undefined;
}

/** standard_output / standard_error: a word, or "file:PATH" and the like (src/config/standard-output.ts). */
function readStandardOutput(value: unknown, site: Site): StandardOutput | undefined {
  const text = readString(value, site);
  if (text === undefined) return undefined;
  const parsed = parseStandardOutput(text);
  if (!("error" in parsed)) return text as StandardOutput;
  site.error(`${quote(text)}: ${parsed.error}`);
  return undefined;
}

/** A condition_X / assert_X list: each string read with its "|" and "!" (src/config/conditions.ts). */
function readConditions(value: unknown, site: Site, check: ConditionCheck, assert: boolean): Condition[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  if (items.length > MAX_CONDITIONS_PER_KEY) {
    site.error(`${items.length} entries: at most ${MAX_CONDITIONS_PER_KEY}`);
    return undefined;
  }
  const out: Condition[] = [];
  for (let i = 0; i < items.length; i++) {
    const itemSite = Array.isArray(value) ? site.item(i) : site;
    const text = readString(items[i], itemSite);
    if (text === undefined) return undefined;
    const parsed = parseCondition(check, assert, text);
    if (typeof parsed === "string") {
      itemSite.error(`${quote(text)}: ${parsed}`);
      return undefined;
    }
    out.push(parsed);
  }
  return out;
}

function readString(value: unknown, site: Site): string | undefined {
  if (typeof value === "string") return value;
  site.error(`expected a string, got ${describeValue(value)}`);
  return undefined;
}

function readPath(value: unknown, site: Site, type: { home?: boolean; optionalMark?: boolean; rootMark?: boolean }): string | undefined {
  const text = readString(value, site);
  if (text === undefined) return undefined;
  const marks = type.optionalMark && type.rootMark ? /^[-+]+/ : type.optionalMark ? /^-/ : /^(?!)/;
  const path = text.replace(marks, "");
  if (path.startsWith("/") || (type.home && path === "~")) return text;
  site.error(`expected an absolute path, got ${quote(text)}`);
  return undefined;
}

function readBool(value: unknown, site: Site): boolean | undefined {
  if (typeof value === "boolean") return value;
  const hint = typeof value === "string" && /^(yes|no|true|false|on|off|1|0)$/i.test(value)
    ? " (write true or false, without quotes)" : "";
  site.error(`expected true or false, got ${describeValue(value)}${hint}`);
  return undefined;
}

function readInt(value: unknown, site: Site, min = -Infinity, max = Infinity, infinity = false): number | undefined {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    site.error(`expected an integer${infinity ? ' or "infinity"' : ""}, got ${describeValue(value)}`);
    return undefined;
  }
  if (value < min || value > max) {
    site.error(`${value} is out of range (${rangeText(min, max)})`);
    return undefined;
  }
  return value;
}

function rangeText(min: number, max: number): string {
  if (max === Infinity) return `at least ${min}`;
  if (min === -Infinity) return `at most ${max}`;
  return `${min} to ${max}`;
}

export { parseSize };

function readSize(value: unknown, site: Site, max: number, infinity = false): number | undefined {
  if (typeof value === "number") return readInt(value, site, 0, max);
  const bytes = typeof value === "string" ? parseSize(value) : undefined;
  if (bytes !== undefined && bytes > max) {
    site.error(`${quote(value as string)} is out of range (at most ${sizeText(max)}${infinity ? ', or "infinity"' : ""})`);
    return undefined;
  }
  if (bytes !== undefined) return bytes;
  site.error(`expected a size in bytes (an integer, or "64K", "1M", "2G"${infinity ? ', or "infinity"' : ""}), got ${describeValue(value)}`);
  return undefined;
}

/** 2^50 as "1024T", 2^31-1 as "2147483647 bytes". */
export function sizeText(bytes: number): string {
  for (const [suffix, factor] of [["T", 2 ** 40], ["G", 2 ** 30], ["M", 2 ** 20], ["K", 2 ** 10]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return `${bytes} bytes`;
}

/** Why a delay or watchdog interval (`shown` as written) cannot be: longer than a timer counts. */
export function tooLongForTimer(shown: string): string {
  return `${shown} is too long: at most ${MAX_TIMER_SEC}s (24.8 days), the longest a timer counts`;
}

/**
 * Seconds. Past what a timer can count, a duration means infinity; a `finite` one (a
 * delay, a watchdog interval: infinity makes no sense there) is refused instead.
 */
function readDurationValue(value: unknown, site: Site, offAllowed: boolean, finite: boolean): number | undefined {
  if (offAllowed && value === "off") return 0;
  try {
    const seconds = parseDuration(value);
    if (seconds <= MAX_TIMER_SEC) return seconds;
    if (!finite) return Infinity;
    site.error(tooLongForTimer(typeof value === "string" ? quote(value) : String(value)));
    return undefined;
  } catch (e) {
    if (!(e instanceof DurationError)) throw e;
    site.error(typeof value === "string" || typeof value === "number" ? e.message : `${e.message}, got ${describeValue(value)}`);
    return undefined;
  }
}

/** An array of the item type; a single item is accepted as a list of one. */
function readList(value: unknown, site: Site, itemType: ValueType): unknown[] | undefined {
  if (!Array.isArray(value)) {
    const single = readValue(itemType, value, site);
    return single === undefined ? undefined : [single];
  }
  const items = value.map((item, index) => readValue(itemType, item, site.item(index)));
  return items.includes(undefined) ? undefined : items;
}

const UNIT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/;
const SYSTEMD_SUFFIXES = new Set(["service", "target", "socket", "mount", "timer", "path", "slice", "scope", "device", "swap"]);

export function isValidUnitName(name: string): boolean {
  return UNIT_NAME.test(name) && name.length <= 255;
}

/** A path escaped as systemd-escape --path --suffix=mount does: "-.mount", "var-lib-x.mount", "srv-a\\x2db.mount". */
const MOUNT_UNIT_NAME = /^(-|[A-Za-z0-9:_](?:[A-Za-z0-9:_.-]|\\x[0-9a-f]{2})*)\.mount$/;

function readUnitName(value: unknown, site: Site): string | undefined {
  const name = readString(value, site);
  if (name === undefined) return undefined;
  const dot = name.lastIndexOf(".");
  if (isDeviceUnitName(name)) {
    // The kernel's devices keep systemd's names: "dev-ttyUSB0.device" (src/devices/names.ts).
    const problem = deviceUnitNameProblem(name);
    if (problem === null) return name;
    site.error(`${quote(name)} ${problem}`);
    return undefined;
  }
  // The [[mount]] entries' units keep systemd's names: "var-lib-x.mount" (src/boot/mount-units.ts).
  if (MOUNT_UNIT_NAME.test(name)) return name;
  if (dot >= 0 && SYSTEMD_SUFFIXES.has(name.slice(dot + 1))) {
    site.error(`${quote(name)}: unit names have no suffix; write ${quote(name.slice(0, dot))}`);
    return undefined;
  }
  if (!isValidUnitName(name)) {
    site.error(`${quote(name)} is not a valid unit name (letters, digits and _ . @ : -)`);
    return undefined;
  }
  return name;
}

function readEnum(value: unknown, site: Site, allowed: readonly string[], bools = false): string | undefined {
  if (typeof value === "string" && allowed.includes(value)) return value;
  const got = typeof value === "string" ? quote(value) : describeValue(value);
  const hint = typeof value === "string" ? didYouMean(value, allowed) : "";
  site.error(`expected ${bools ? "true, false or " : ""}one of ${allowed.join(", ")}; got ${got}${hint}`);
  return undefined;
}

/** Linux signal numbers (the same on x86_64 and aarch64). */
export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
};
/** glibc's SIGRTMIN (the kernel's 32 and 33 are kept by the C library). */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal number for "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3" or 15; undefined if unknown. */
export function parseSignal(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 1 && value <= SIGRTMAX ? value : undefined;
  const name = value.toUpperCase().replace(/^(SIG)?/, "SIG");
  const realtime = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (realtime) {
    const signal = SIGRTMIN + Number(realtime[1] ?? 0);
    return signal <= SIGRTMAX ? signal : undefined;
  }
  return SIGNALS[name];
}

function readSignal(value: unknown, site: Site): number | undefined {
  const signal = typeof value === "string" || typeof value === "number" ? parseSignal(value) : undefined;
  if (signal !== undefined) return signal;
  const hint = typeof value === "string" ? didYouMean(value.toUpperCase(), Object.keys(SIGNALS)) : "";
  site.error(`expected a signal name like "SIGTERM" or a number 1 to ${SIGRTMAX}, got ${describeValue(value)}${hint}`);
  return undefined;
}

/**
 * File mode bits: "0644" / "644" as a string, or a TOML octal integer (0o644).
 * A decimal integer (644) is refused: it would silently mean 0o1204.
 */
function readMode(value: unknown, site: Site): number | undefined {
  if (typeof value === "string" && /^0*[0-7]{1,4}$/.test(value)) return parseInt(value, 8); // "02755": leading zeros, as systemd's parse_mode
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o7777) {
    const raw = site.rawText() ?? "";
    if (!/^\d+$/.test(raw) || value === 0) return value; // 0o644, 0x1a4, or unknown: as given
    site.error(`${raw} is a decimal number; write the mode as "${raw.padStart(4, "0")}" or 0o${raw}`);
    return undefined;
  }
  site.error(`expected a file mode like "0644" or 0o644, got ${describeValue(value)}`);
  return undefined;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function readEnvironment(value: unknown, site: Site): Record<string, string> | undefined {
  if (!isTable(value)) {
    site.error(`expected a table of variables like { LANG = "C" }, got ${describeValue(value)}`);
    return undefined;
  }
  const env: Record<string, string> = {};
  let valid = true;
  for (const [name, item] of Object.entries(value)) {
    const itemSite = site.entry(name);
    if (!ENV_NAME.test(name)) {
      itemSite.error(`${quote(name)} is not a valid variable name`, "key");
      valid = false;
    } else if (typeof item === "string" || typeof item === "number" || typeof item === "boolean") {
      env[name] = String(item);
    } else {
      itemSite.error(`expected a string, got ${describeValue(item)}`);
      valid = false;
    }
  }
  return valid ? env : undefined;
}

/** An integer, "infinity", or "soft:hard" with either side an integer or "infinity". */
function readRlimit(value: unknown, site: Site, unit: "count" | "bytes" | "seconds" | "usec", max: number): Rlimit | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value : undefined;
  const sides = text?.split(":");
  const amounts = sides?.length === 1 || sides?.length === 2 ? sides.map((side) => rlimitAmount(side.trim(), unit)) : [];
  if (amounts.length === 0 || amounts.includes(undefined)) {
    site.error(`expected ${RLIMIT_FORMS[unit]}, "infinity", or "soft:hard"; got ${describeValue(value)}`);
    return undefined;
  }
  const tooLarge = (amounts as number[]).find((amount) => amount !== Infinity && amount > max);
  if (tooLarge !== undefined) {
    site.error(`${tooLarge} is out of range: at most ${max}, or "infinity"`);
    return undefined;
  }
  const [soft, hard = soft] = amounts as number[];
  if (soft! > hard) {
    site.error(`the soft limit (${soft}) is above the hard limit (${hard})`);
    return undefined;
  }
  return { soft: soft!, hard };
}

const RLIMIT_FORMS = {
  count: "an integer",
  bytes: 'a size (an integer, or "64K", "8M")',
  seconds: 'a duration ("30s", "1h")',
  usec: 'a duration ("500ms")',
};

function rlimitAmount(text: string, unit: "count" | "bytes" | "seconds" | "usec"): number | undefined {
  if (text === "infinity" || text === "unlimited") return Infinity;
  if (unit === "count") return /^\d+$/.test(text) ? Number(text) : undefined;
  if (unit === "bytes") return parseSize(text);
  try {
    const seconds = parseDuration(text);
    return unit === "seconds" ? Math.ceil(seconds) : Math.round(seconds * 1_000_000);
  } catch {
    return undefined;
  }
}

/** The longest socket path: sizeof(sun_path) minus the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * A listening address: "/path", "@abstract", "host:port" with an IPv4 or [IPv6] literal,
 * or a bare port (all addresses). Returned as written (a port as its decimal string).
 */
function readListenAddress(value: unknown, site: Site): string | undefined {
  const text = typeof value === "number" ? String(value) : readString(value, site);
  if (text === undefined) return undefined;
  const problem = listenAddressProblem(text);
  if (problem === null) return text;
  site.error(`${problem}; expected "/path", "@abstract", "0.0.0.0:8080", "[::]:80" or a port`);
  return undefined;
}

function listenAddressProblem(text: string): string | null {
  if ((text.startsWith("/") || text.startsWith("@")) && Buffer.byteLength(text) > MAX_SOCKET_PATH) {
    return `socket path ${quote(text)} is longer than ${MAX_SOCKET_PATH} bytes`;
  }
  const spec = parseListen("stream", text);
  return typeof spec === "string" ? spec : null;
}

/** "FAMILY [GROUPS]", kept as written (src/sockets/listen.ts parses it again). */
function readNetlinkAddress(value: unknown, site: Site): string | undefined {
  const text = readString(value, site);
  if (text === undefined) return undefined;
  const spec = parseListen("netlink", text);
  if (typeof spec !== "string") return text;
  site.error(spec);
  return undefined;
}

/** A calendar event, kept as written (the engine parses it again: it is cheap and pure). */
function readCalendar(value: unknown, site: Site): string | undefined {
  const text = readString(value, site);
  if (text === undefined) return undefined;
  const spec = parseCalendar(text);
  if ("error" in spec) site.error(`${quote(text)} is not a calendar event: ${spec.error}`);
  return "error" in spec ? undefined : text;
}

function readFdName(value: unknown, site: Site): string | undefined {
  const name = readString(value, site);
  if (name === undefined) return undefined;
  if (/^[\x21-\x39\x3b-\x7e]{1,255}$/.test(name)) return name; // printable ASCII, no ":" or space
  site.error(`${quote(name)} is not a valid fd name (1 to 255 printable ASCII characters, no ":" or space)`);
  return undefined;
}

function readBusName(value: unknown, site: Site): string | undefined {
  const name = readString(value, site);
  if (name === undefined) return undefined;
  const problem = busNameProblem(name);
  if (problem === null) return name;
  site.error(`${quote(name)} is not a D-Bus name: it ${problem}`);
  return undefined;
}

/** Linux capabilities by number (the index of a name is its bit). */
export const CAPABILITIES: readonly string[] = CAPABILITY_NAMES;

function capabilityName(text: string, site: Site): string | undefined {
  const name = text.toUpperCase().replace(/^(CAP_)?/, "CAP_");
  if (CAPABILITIES.includes(name)) return name;
  site.error(`unknown capability ${quote(text)}${didYouMean(name, CAPABILITIES)}`);
  return undefined;
}

/**
 * A set of capabilities, returned as the names it contains in capability order: an
 * array of names, or one string of names separated by spaces (systemd's form). A "~"
 * before the first name means every capability except those listed.
 */
function readCapabilitySet(value: unknown, site: Site): string[] | undefined {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(/\s+/).filter(Boolean) : [value];
  const texts = items.map((item, index) => readString(item, Array.isArray(value) ? site.item(index) : site));
  if (texts.includes(undefined)) return undefined;
  const invert = texts[0]?.startsWith("~") ?? false;
  const names = texts.map((text, index) => capabilityName(index === 0 && invert ? text!.slice(1) : text!, Array.isArray(value) ? site.item(index) : site));
  if (names.includes(undefined)) return undefined;
  return CAPABILITIES.filter((name) => names.includes(name) !== invert);
}

/** The largest CPU number Linux can have (CONFIG_NR_CPUS is at most 8192). */
const MAX_CPU = 8191;

/** CPU numbers: an integer, "2-3" ranges, a string of them separated by commas or spaces, or an array of those. Sorted, without repeats. */
function readCpuSet(value: unknown, site: Site): number[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  const cpus = new Set<number>();
  for (const [index, item] of items.entries()) {
    const itemSite = Array.isArray(value) ? site.item(index) : site;
    const parts = typeof item === "number" ? [String(item)] : typeof item === "string" ? item.split(/[\s,]+/).filter(Boolean) : [];
    if (parts.length === 0) {
      itemSite.error(`expected CPU numbers or ranges like 0, "2-3" or "0-1,3", got ${describeValue(item)}`);
      return undefined;
    }
    for (const part of parts) {
      const match = /^(\d+)(?:-(\d+))?$/.exec(part);
      const first = Number(match?.[1]);
      const last = Number(match?.[2] ?? match?.[1]);
      if (!match || first > last || last > MAX_CPU) {
        itemSite.error(`${quote(part)} is not a CPU number or range (0 to ${MAX_CPU}, like 3 or "2-5")`);
        return undefined;
      }
      for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
    }
  }
  return [...cpus].sort((a, b) => a - b);
}

/** A percentage, "50%" (decimals allowed): the number before "%". */
function readPercent(value: unknown, site: Site, max: number): number | undefined {
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)%$/.exec(value.trim()) : null;
  if (match && Number(match[1]) > max) {
    site.error(`${quote(value as string)} is out of range (at most ${max}%)`);
    return undefined;
  }
  if (match && Number(match[1]) > 0) return Number(match[1]);
  site.error(`expected a percentage above 0 like "50%" or "150%", got ${describeValue(value)}`);
  return undefined;
}
