// Socket addresses as a user writes them and as a user reads them: the listen_* values
// of a [[socket]], and the peers' addresses in REMOTE_ADDR and in `hearth ctl status`.
// Pure: text in, bytes out (and back); binding is ffi/net.ts's business.
//
//   "/run/foo.sk"      a unix socket file        "@foo"       an abstract unix socket
//   "0.0.0.0:8080"     IPv4 address and port      "[::1]:80"   IPv6 (scope: "[fe80::1%2]:80")
//   "8080"             a port alone: every address, IPv6 and IPv4 (systemd's reading)
//   "kobject-uevent 1" a netlink family and multicast groups (listen_netlink)

import type { SocketAddress, SocketType } from "../../ffi/net.ts";
import { NETLINK_FAMILIES, NETLINK_FAMILY_MAX, netlinkFamilyName } from "../../ffi/netlink-families.ts";

export type ListenKind = SocketType | "fifo" | "netlink" | "special";

/** What one [[socket]] listens on. */
export type ListenSpec =
  | { kind: "fifo"; path: string }
  | { kind: "special"; path: string }
  /** protocol: NETLINK_*; groups: the nl_groups bit mask, as written (systemd's reading). */
  | { kind: "netlink"; protocol: number; groups: number }
  | {
    kind: SocketType;
    address: SocketAddress;
    /** A port alone: [::]:port accepting IPv4 too, or 0.0.0.0:port where IPv6 is missing. */
    anyAddress: boolean;
    /** "%eth0" in an IPv6 address: resolved to scopeId when the socket is made. */
    scopeInterface?: string;
  };

/** The listen_* keys of a [[socket]] and their kinds: the one list every part reads. */
export const LISTEN_KEYS = {
  listen_stream: "stream", listen_datagram: "datagram", listen_sequential_packet: "seqpacket", listen_fifo: "fifo",
  listen_netlink: "netlink", listen_special: "special",
} as const satisfies Record<string, ListenKind>;

export type ListenKey = keyof typeof LISTEN_KEYS;

/** The file a socket or FIFO is made at; null for an IP, abstract or netlink socket, and a special file (not made by hearth). */
export function socketFilePath(spec: ListenSpec): string | null {
  const path = spec.kind === "fifo" ? spec.path
    : spec.kind === "netlink" || spec.kind === "special" ? null
    : spec.address.family === "unix" ? spec.address.path : null;
  return path === null || path.startsWith("@") ? null : path;
}

/** The kinds a manager accepts connections on (accept = true); systemd's socket_address_can_accept. */
export function canAccept(kind: ListenKind): boolean {
  return kind === "stream" || kind === "seqpacket";
}

/** Parses one listen value; a string describing the problem when it cannot be read. */
export function parseListen(kind: ListenKind, text: string): ListenSpec | string {
  if (kind === "fifo" || kind === "special") {
    return text.startsWith("/") ? { kind, path: text } : `${kind === "fifo" ? "a FIFO" : "a special file"} needs an absolute path, got "${text}"`;
  }
  if (kind === "netlink") return parseNetlink(text);
  if (text.startsWith("/") || text.startsWith("@")) {
    if (text === "@") return "an abstract socket needs a name after '@'";
    return { kind, address: { family: "unix", path: text }, anyAddress: false };
  }
  if (kind === "seqpacket") return `sequential packet sockets are unix sockets: give a path or @abstract, got "${text}"`;
  if (/^\d+$/.test(text)) {
    const port = parsePort(text);
    if (typeof port === "string") return port;
    return { kind, address: { family: "inet6", ip: new Uint8Array(16), port, scopeId: 0 }, anyAddress: true };
  }
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracketed) {
    const [, host, portText] = bracketed;
    const port = parsePort(portText!);
    if (typeof port === "string") return port;
    const [ipText, scope] = host!.split("%", 2) as [string, string | undefined];
    const ip = parseIPv6(ipText);
    if (ip === null) return `"${ipText}" is not an IPv6 address`;
    if (scope === "") return `empty scope after '%' in "${host}"`;
    const numericScope = scope !== undefined && /^\d+$/.test(scope) ? Number(scope) : 0;
    const spec: ListenSpec = { kind, address: { family: "inet6", ip, port, scopeId: numericScope }, anyAddress: false };
    if (scope !== undefined && !/^\d+$/.test(scope)) spec.scopeInterface = scope;
    return spec;
  }
  const plain = /^([^:\[\]]+):(\d+)$/.exec(text);
  if (plain) {
    const ip = parseIPv4(plain[1]!);
    if (ip === null) return `"${plain[1]}" is not an IPv4 address (host names are not resolved)`;
    const port = parsePort(plain[2]!);
    if (typeof port === "string") return port;
    return { kind, address: { family: "inet", ip, port }, anyAddress: false };
  }
  return `cannot read "${text}" as an address`;
}

/**
 * "FAMILY [GROUPS]" as systemd's socket_address_parse_netlink reads it: the first word is
 * a family by name (NETLINK_FAMILIES) or number; the rest, if any, one unsigned number
 * (C's strtoul base 0: decimal, 0x hex, 0 octal), the nl_groups mask; 0 when left out.
 */
function parseNetlink(text: string): ListenSpec | string {
  const match = /^[ \t\n\r]*([^ \t\n\r]+)[ \t\n\r]*(.*)$/s.exec(text.trimEnd()); // systemd strips a line's end
  if (!match) return "a netlink socket needs a family: \"FAMILY [GROUPS]\", e.g. \"kobject-uevent 1\"";
  const [, family, rest] = match as unknown as [string, string, string];
  const protocol = Object.hasOwn(NETLINK_FAMILIES, family) ? NETLINK_FAMILIES[family]! : parseUnsigned(family);
  if (protocol === null || protocol > NETLINK_FAMILY_MAX) {
    return `unknown netlink family "${family}" (${Object.keys(NETLINK_FAMILIES).join(", ")}, or a number)`;
  }
  const groups = rest === "" ? 0 : parseUnsigned(rest);
  if (groups === null || groups > 0xffff_ffff) return `netlink groups "${rest}" are not a number from 0 to 4294967295 (a bit mask)`;
  return { kind: "netlink", protocol, groups };
}

/** C's strtoul with base 0 on the whole string (leading spaces allowed, no sign but "+"); null when it is not one. */
function parseUnsigned(text: string): number | null {
  const body = text.replace(/^[ \t\n\r]*\+?/, "");
  const value = /^0[xX][0-9a-fA-F]+$/.test(body) ? Number.parseInt(body.slice(2), 16)
    : /^0[0-7]*$/.test(body) ? Number.parseInt(body, 8)
    : /^[1-9]\d*$/.test(body) ? Number(body)
    : null;
  return value !== null && Number.isSafeInteger(value) ? value : null;
}

function parsePort(text: string): number | string {
  const port = Number(text);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : `"${text}" is not a port (1 to 65535)`;
}

// ---------------------------------------------------------------- IP text <-> bytes

/** "192.0.2.1" as 4 bytes; null unless exactly four decimal numbers 0..255. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part.startsWith("0"))) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** An IPv6 address in RFC 4291 text form (with "::" and a trailing dotted quad) as 16 bytes. */
export function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

export function formatIPv4(ip: Uint8Array): string {
  return Array.from(ip.subarray(0, 4)).join(".");
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d): what a dual-stack socket reports for an IPv4 peer. */
export function isIPv4Mapped(ip: Uint8Array): boolean {
  return ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as "::". */
export function formatIPv6(ip: Uint8Array): string {
  if (isIPv4Mapped(ip)) return `::ffff:${formatIPv4(ip.subarray(12))}`;
  const groups = Array.from({ length: 8 }, (_, i) => (ip[2 * i]! << 8) | ip[2 * i + 1]!);
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

// ---------------------------------------------------------------- printing

/**
 * An address as a user would write it. With `plainIPv4`, an IPv4-mapped IPv6 address is
 * shown as IPv4 (as systemd does for REMOTE_ADDR).
 */
export function formatAddress(address: SocketAddress, plainIPv4 = false): string {
  const host = formatHost(address, plainIPv4);
  if (address.family === "unix") return host;
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/** The host part alone: a unix path, an IPv4 or an IPv6 address (with "%scope"). */
export function formatHost(address: SocketAddress, plainIPv4 = false): string {
  switch (address.family) {
    case "unix": return address.path === "" ? "(unnamed)" : address.path;
    case "inet": return formatIPv4(address.ip);
    case "inet6":
      if (plainIPv4 && isIPv4Mapped(address.ip)) return formatIPv4(address.ip.subarray(12));
      return `${formatIPv6(address.ip)}${address.scopeId ? `%${address.scopeId}` : ""}`;
  }
}

const KIND_LABEL: Record<ListenKind, string> = {
  stream: "Stream", datagram: "Datagram", seqpacket: "SequentialPacket", fifo: "FIFO", netlink: "Netlink", special: "Special",
};

/**
 * "/run/foo.sk (Stream)", "[::]:80 (Stream)", "kobject-uevent 1 (Netlink)": the Listen:
 * line of `hearth ctl status`, as systemctl prints it.
 */
export function describeListen(spec: ListenSpec): string {
  return `${listenTarget(spec)} (${KIND_LABEL[spec.kind]})`;
}

function listenTarget(spec: ListenSpec): string {
  switch (spec.kind) {
    case "fifo": case "special": return spec.path;
    case "netlink": return `${netlinkFamilyName(spec.protocol)} ${spec.groups}`;
    default: return formatAddress(spec.address);
  }
}

/** REMOTE_ADDR and REMOTE_PORT for an accepted connection (IP peers only, as systemd). */
export function remoteEnvironment(peer: SocketAddress | null): Record<string, string> {
  if (peer === null || peer.family === "unix") return {};
  return { REMOTE_ADDR: formatHost(peer, true), REMOTE_PORT: String(peer.port) };
}
