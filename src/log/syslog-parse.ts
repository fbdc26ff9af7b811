// One syslog datagram, as /dev/log receives them, read into its parts. Pure, and total:
// any bytes give a message (what cannot be read as a header is kept as the text), so a
// hostile sender costs a parse and nothing else. Three shapes are read:
//   RFC 3164 / BSD:  <PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG
//   glibc syslog(3): <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG   (no host)
//   RFC 5424:        <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD...]|- MSG
// The header's identifier and pid are what the sender claims: shown, never used to tell
// who sent it (the receiver has the kernel's credentials for that).

export type SyslogFormat = "rfc3164" | "rfc5424" | "raw";

export interface SyslogMessage {
  format: SyslogFormat;
  /** 0 (kern) .. 23 (local7). */
  facility: number;
  /** 0 (emerg) .. 7 (debug). */
  severity: number;
  /** TAG or APP-NAME: the name the sender gives itself; null when it gave none. */
  ident: string | null;
  /** The pid in the header (TAG[PID], PROCID): a claim, for display only. */
  claimedPid: number | null;
  hostname: string | null;
  /** RFC 5424 MSGID and STRUCTURED-DATA, as sent (null: nil or absent). */
  msgid: string | null;
  structuredData: string | null;
  /** The message: one line per line sent, empty lines and trailing blanks dropped. */
  lines: string[];
}

/** RFC 3164 §4.3.3: a message without a PRI part is user.notice. */
export const DEFAULT_FACILITY = 1;
export const DEFAULT_SEVERITY = 5;

const FACILITY_NAMES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5",
  "local6", "local7",
];

/** The name of a facility 0..23 ("kern" .. "local7"). */
export function facilityName(facility: number): string {
  return FACILITY_NAMES[facility] ?? String(facility);
}

const SEVERITY_NAMES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/** The name of a severity (a priority) 0..7 ("emerg" .. "debug"). */
export function severityName(severity: number): string {
  return SEVERITY_NAMES[severity] ?? String(severity);
}

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export function parseSyslog(data: Uint8Array): SyslogMessage {
  return parseSyslogText(decoder.decode(data));
}

const PRI = /^<(\d{1,3})>/;
const BSD_TIME = /^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d /;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) /;
// TAG[PID]: or TAG: — a tag of printable characters up to 48 (RFC 3164 allows 32; daemons write longer).
const TAG = /^([^\s[\]:]{1,48})(?:\[(\d{1,10})\])?: ?/;
const HOST = /^[^\s[\]:]{1,255} /;

export function parseSyslogText(input: string): SyslogMessage {
  let rest = input;
  let facility = DEFAULT_FACILITY, severity = DEFAULT_SEVERITY;
  const header = PRI.exec(rest);
  const pri = header && Number(header[1]) <= 191 ? header : null;
  if (pri) {
    facility = Number(pri[1]) >> 3;
    severity = Number(pri[1]) & 7;
    rest = rest.slice(pri[0].length);
    if (rest.startsWith("1 ")) {
      const structured = parse5424(rest.slice(2), facility, severity);
      if (structured) return structured;
    }
  }
  const message: SyslogMessage = {
    format: pri ? "rfc3164" : "raw", facility, severity, ident: null, claimedPid: null,
    hostname: null, msgid: null, structuredData: null, lines: [],
  };
  const time = BSD_TIME.exec(rest) ?? ISO_TIME.exec(rest);
  if (time) {
    rest = rest.slice(time[0].length);
    // A host before the tag (BSD relays) or not (glibc): the word is a host only when a tag follows it.
    const host = HOST.exec(rest);
    if (host && !TAG.test(rest) && TAG.test(rest.slice(host[0].length))) {
      message.hostname = host[0].trimEnd();
      rest = rest.slice(host[0].length);
    }
  }
  if (pri) {
    const tag = TAG.exec(rest);
    if (tag) {
      message.ident = tag[1]!;
      message.claimedPid = tag[2] === undefined ? null : Number(tag[2]);
      rest = rest.slice(tag[0].length);
    }
  }
  message.lines = linesOf(rest);
  return message;
}

/** After "<PRI>1 ": the header, the structured data and the message; null if the header is not RFC 5424's. */
function parse5424(text: string, facility: number, severity: number): SyslogMessage | null {
  let at = 0;
  const field = (): string | null => {
    const end = text.indexOf(" ", at);
    if (end <= at) return null; // missing or empty field
    const value = text.slice(at, end);
    at = end + 1;
    return value;
  };
  const [timestamp, hostname, app, procid, msgid] = [field(), field(), field(), field(), field()];
  if (msgid === null || timestamp === null || hostname === null || app === null || procid === null) return null;
  if (app.length > 48 || procid.length > 128 || msgid.length > 32 || hostname.length > 255) return null;
  const sdEnd = structuredDataEnd(text, at);
  if (sdEnd === null) return null;
  const sd = text.slice(at, sdEnd);
  let msg = text.slice(sdEnd);
  if (msg.startsWith(" ")) msg = msg.slice(1);
  else if (msg !== "") return null;
  if (msg.startsWith("\uFEFF")) msg = msg.slice(1); // the BOM that marks the message UTF-8
  const nil = (v: string) => (v === "-" ? null : v);
  const pid = /^\d{1,10}$/.test(procid) ? Number(procid) : null;
  return {
    format: "rfc5424", facility, severity, ident: nil(app), claimedPid: pid, hostname: nil(hostname),
    msgid: nil(msgid), structuredData: nil(sd), lines: linesOf(msg),
  };
}

/**
 * Where STRUCTURED-DATA that begins at `from` ends: "-", or one or more [ID PARAM="VALUE"...]
 * elements, where a value may hold "\]", "\"" and "\\". null if it is not well formed.
 */
function structuredDataEnd(text: string, from: number): number | null {
  if (text[from] === "-") return from + 1;
  let at = from;
  while (text[at] === "[") {
    let quoted = false;
    at++;
    for (;; at++) {
      if (at >= text.length) return null;
      const c = text[at];
      if (quoted && c === "\\") at++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && c === "]") break;
    }
    at++;
  }
  return at === from ? null : at;
}

/** The message's lines: a datagram may hold several (a stack trace); NULs and trailing blanks go. */
function linesOf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const clean = line.replace(/\0/g, "").trimEnd();
    if (clean !== "") out.push(clean);
  }
  return out;
}
