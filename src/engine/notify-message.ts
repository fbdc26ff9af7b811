// Pure parsing of sd_notify datagrams (see DESIGN.md §4 and
// shared/notes/systemd-semantics.md, "sd_notify").
//
// One datagram is a list of KEY=VALUE assignments separated by newlines. Like
// systemd we split on both "\n" and "\r" and drop empty lines, so a trailing
// newline (redis, uwsgi) or a CRLF ending is harmless. Credentials and passed
// file descriptors are not part of the payload: the caller (the notify socket)
// deals with them and combines them with the message parsed here.
//
// Policy:
// - The whole datagram is rejected (ok: false) when it is too long, holds a NUL
//   byte, is not valid UTF-8, or has a line without '='.
// - A known key with a bad value is ignored with a line in `warnings`; the rest
//   of the message still applies (as systemd does).
// - Unknown keys are ignored and their names listed in `unknown`.
// - A key given more than once: the last value wins. (systemd takes the first
//   for valued keys; a conflict between values is reported in `warnings`.)
// - READY=1, RELOADING=1 and STOPPING=1 are reported as seen. `state` tells
//   which one wins when several are present, with systemd's precedence
//   STOPPING > READY > RELOADING. (systemd still uses the READY=1+RELOADING=1
//   pair of a notify-reload service, which is why the raw flags are kept.)

import { constants as osConstants } from "node:os";

/** Largest datagram accepted, in bytes. */
export const NOTIFY_MAX_BYTES = 64 * 1024;
/** Longest FDNAME= accepted (systemd's FDNAME_MAX). */
export const FDNAME_MAX = 255;
/** The name a stored fd gets when FDSTORE=1 comes without a valid FDNAME=. */
export const DEFAULT_FDNAME = "stored";
/** Longest STATUS= text kept (systemd's STATUS_TEXT_MAX). */
export const STATUS_TEXT_MAX = 16 * 1024;
/** Largest errno value accepted in ERRNO= (systemd's ERRNO_MAX). */
const ERRNO_MAX = 4095;

export type NotifyAccess = "none" | "main" | "exec" | "all";
const NOTIFY_ACCESS_VALUES: readonly string[] = ["none", "main", "exec", "all"];

export interface NotifyMessage {
  /** READY=1 was present. */
  ready: boolean;
  /** RELOADING=1 was present. */
  reloading: boolean;
  /** STOPPING=1 was present. */
  stopping: boolean;
  /** The winner among the three flags above: stopping > ready > reloading. */
  state?: "stopping" | "ready" | "reloading";
  /** STATUS= text; "" means the status is cleared. */
  status?: string;
  /** ERRNO=, a number 0..4095 (names such as ENOENT are accepted too). */
  errno?: number;
  /** MAINPID=, a positive integer. */
  mainPid?: number;
  /** NOTIFYACCESS=, one of none | main | exec | all. */
  notifyAccess?: NotifyAccess;
  /** WATCHDOG=1 ("ping") or WATCHDOG=trigger. */
  watchdog?: "ping" | "trigger";
  /** WATCHDOG_USEC= in microseconds (0 allowed: it disables the watchdog). */
  watchdogUsec?: number;
  /** EXTEND_TIMEOUT_USEC= in microseconds. */
  extendTimeoutUsec?: number;
  /** MONOTONIC_USEC=: a number when it is a safe integer, a bigint beyond that. */
  monotonicUsec?: bigint | number;
  /** FDSTORE=1 was present. */
  fdStore: boolean;
  /** FDSTOREREMOVE=1 was present together with a valid FDNAME= (else ignored with a warning). */
  fdStoreRemove: boolean;
  /**
   * FDNAME= when valid. When FDSTORE=1 is present without a valid FDNAME=,
   * this is DEFAULT_FDNAME ("stored").
   */
  fdName?: string;
  /** FDPOLL=0 gives false (FDPOLL=1 gives true); absent when not given. */
  fdPoll?: boolean;
  /** BARRIER=1 was present. */
  barrier: boolean;
  /** Names of keys this parser does not know, in order of first appearance. */
  unknown: string[];
  /** Known keys whose values were ignored, and other oddities, one line each. */
  warnings: string[];
}

export type NotifyParseResult = { ok: true; msg: NotifyMessage } | { ok: false; error: string };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Keys taking the value "1" as a flag. */
const FLAG_KEYS = ["READY", "RELOADING", "STOPPING", "FDSTORE", "FDSTOREREMOVE", "BARRIER"] as const;
type FlagKey = (typeof FLAG_KEYS)[number];

/** Keys that carry a value, parsed below. */
const VALUE_KEYS = [
  "STATUS",
  "ERRNO",
  "MAINPID",
  "NOTIFYACCESS",
  "WATCHDOG",
  "WATCHDOG_USEC",
  "EXTEND_TIMEOUT_USEC",
  "MONOTONIC_USEC",
  "FDNAME",
  "FDPOLL",
] as const;
type ValueKey = (typeof VALUE_KEYS)[number];

const FLAG_SET: ReadonlySet<string> = new Set(FLAG_KEYS);
const VALUE_SET: ReadonlySet<string> = new Set(VALUE_KEYS);

const U64_MAX = (1n << 64n) - 1n;

/** Parses a decimal unsigned 64-bit integer; undefined when it is not one. */
function parseU64(value: string): bigint | undefined {
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = BigInt(value);
  return n <= U64_MAX ? n : undefined;
}

/** A u64 of microseconds as a number (values past 2^53 lose precision; they mean "forever" anyway). */
function parseUsec(value: string): number | undefined {
  const n = parseU64(value);
  return n === undefined ? undefined : Number(n);
}

function parseErrno(value: string): number | undefined {
  const named = (osConstants.errno as Record<string, number | undefined>)[value];
  if (named !== undefined && named > 0) return named;
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  return n <= ERRNO_MAX ? n : undefined;
}

function parsePid(value: string): number | undefined {
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = Number(value);
  // pid_t is a signed 32-bit integer.
  return n > 0 && n <= 0x7fffffff ? n : undefined;
}

/** systemd's fdname_is_valid: printable ASCII except ':', at most 255 characters. */
export function fdNameIsValid(name: string): boolean {
  if (name.length > FDNAME_MAX) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3a) return false;
  }
  return true;
}

function describe(value: string): string {
  return JSON.stringify(value.length > 64 ? value.slice(0, 64) + "…" : value);
}

export function parseNotify(data: Uint8Array): NotifyParseResult {
  if (data.length > NOTIFY_MAX_BYTES) {
    return { ok: false, error: `datagram too long: ${data.length} bytes (at most ${NOTIFY_MAX_BYTES})` };
  }
  const nul = data.indexOf(0);
  if (nul !== -1) {
    return { ok: false, error: `datagram contains a NUL byte at offset ${nul}` };
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, error: "datagram is not valid UTF-8" };
  }

  const flags = new Set<FlagKey>();
  const values = new Map<ValueKey, string>();
  const unknown: string[] = [];
  const warnings: string[] = [];

  // Lines end at "\n" or "\r" (each one ends a line, as split(/[\r\n]/) would), scanned
  // in place: a flood of one-line datagrams makes no array of lines.
  for (let start = 0, lineNo = 1; start <= text.length; lineNo++) {
    let end = start;
    for (let c = text.charCodeAt(end); end < text.length && c !== 10 && c !== 13; c = text.charCodeAt(++end));
    const from = start;
    start = end + 1;
    if (end === from) continue;
    const eq = text.indexOf("=", from);
    if (eq === -1 || eq >= end) {
      return { ok: false, error: `line ${lineNo} has no '=': ${describe(text.slice(from, end))}` };
    }
    const key = text.slice(from, eq);
    const value = text.slice(eq + 1, end);
    if (FLAG_SET.has(key)) {
      const k = key as FlagKey;
      // A flag is set when any of its lines says "1"; other values are ignored.
      if (value === "1") flags.add(k);
      else warnings.push(`${key}=${describe(value)} ignored: only ${key}=1 has a meaning`);
    } else if (VALUE_SET.has(key)) {
      const k = key as ValueKey;
      const previous = values.get(k);
      if (previous !== undefined && previous !== value) {
        warnings.push(`${key}= given more than once with different values; using the last one`);
      }
      values.set(k, value);
    } else if (!unknown.includes(key)) {
      unknown.push(key);
    }
  }

  const msg: NotifyMessage = {
    ready: flags.has("READY"),
    reloading: flags.has("RELOADING"),
    stopping: flags.has("STOPPING"),
    fdStore: flags.has("FDSTORE"),
    fdStoreRemove: false,
    barrier: flags.has("BARRIER"),
    unknown,
    warnings,
  };
  if (msg.stopping) msg.state = "stopping";
  else if (msg.ready) msg.state = "ready";
  else if (msg.reloading) msg.state = "reloading";

  const bad = (key: string, value: string, why: string) => {
    warnings.push(`${key}=${describe(value)} ignored: ${why}`);
  };

  const status = values.get("STATUS");
  if (status !== undefined) {
    if (status.length > STATUS_TEXT_MAX) bad("STATUS", status, `longer than ${STATUS_TEXT_MAX} characters`);
    else msg.status = status;
  }

  const errno = values.get("ERRNO");
  if (errno !== undefined) {
    const n = parseErrno(errno);
    if (n === undefined) bad("ERRNO", errno, `not an errno name or a number 0..${ERRNO_MAX}`);
    else msg.errno = n;
  }

  const mainPid = values.get("MAINPID");
  if (mainPid !== undefined) {
    const n = parsePid(mainPid);
    if (n === undefined) bad("MAINPID", mainPid, "not a positive process id");
    else msg.mainPid = n;
  }

  const access = values.get("NOTIFYACCESS");
  if (access !== undefined) {
    if (NOTIFY_ACCESS_VALUES.includes(access)) msg.notifyAccess = access as NotifyAccess;
    else bad("NOTIFYACCESS", access, "expected none, main, exec or all");
  }

  const watchdog = values.get("WATCHDOG");
  if (watchdog !== undefined) {
    if (watchdog === "1") msg.watchdog = "ping";
    else if (watchdog === "trigger") msg.watchdog = "trigger";
    else bad("WATCHDOG", watchdog, "expected 1 or trigger");
  }

  for (const [key, field] of [
    ["WATCHDOG_USEC", "watchdogUsec"],
    ["EXTEND_TIMEOUT_USEC", "extendTimeoutUsec"],
  ] as const) {
    const raw = values.get(key);
    if (raw === undefined) continue;
    const n = parseUsec(raw);
    if (n === undefined) bad(key, raw, "not an unsigned 64-bit number of microseconds");
    else msg[field] = n;
  }

  const monotonic = values.get("MONOTONIC_USEC");
  if (monotonic !== undefined) {
    const n = parseU64(monotonic);
    if (n === undefined) bad("MONOTONIC_USEC", monotonic, "not an unsigned 64-bit number of microseconds");
    else msg.monotonicUsec = n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }

  const fdPoll = values.get("FDPOLL");
  if (fdPoll !== undefined) {
    if (fdPoll === "0") msg.fdPoll = false;
    else if (fdPoll === "1") msg.fdPoll = true;
    else bad("FDPOLL", fdPoll, "expected 0 or 1");
  }

  const fdName = values.get("FDNAME");
  let validFdName: string | undefined;
  if (fdName !== undefined) {
    if (fdName !== "" && fdNameIsValid(fdName)) validFdName = fdName;
    else bad("FDNAME", fdName, `expected 1..${FDNAME_MAX} printable ASCII characters without ':'`);
  }
  if (flags.has("FDSTOREREMOVE")) {
    if (validFdName === undefined) warnings.push("FDSTOREREMOVE=1 ignored: it needs a valid FDNAME=");
    else msg.fdStoreRemove = true;
  }
  if (validFdName !== undefined) msg.fdName = validFdName;
  else if (msg.fdStore) msg.fdName = DEFAULT_FDNAME;

  return { ok: true, msg };
}
