// Making one [[socket]] real: a bound, listening socket (or an open FIFO, a bound netlink
// socket, an open special file) with every option of the entry applied, in systemd's
// order — socket options before bind, the file's mode and owner after bind and before
// listen, so that no one connects through a wider mode than asked for.
//
// A failure that makes the socket useless (the address is in use, a directory cannot be
// made, the kernel refuses the family) is an error naming the socket; an option the
// kernel refuses (TCP_NODELAY on a unix socket, a buffer size over the limit) is a
// warning, as systemd has it, and the socket is used without it.

import { chmodSync, chownSync, fstatSync, lstatSync, mkdirSync, unlinkSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import {
  E, IP_PKTINFO, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6_RECVPKTINFO, IPV6_V6ONLY, NETLINK_PKTINFO, O, SO, SOL_NETLINK,
  SOL_SOCKET, TCP_NODELAY,
} from "../../ffi/constants.ts";
import { canPoll, close, openFile, setNonBlocking } from "../../ffi/fd.ts";
import { SysError } from "../../ffi/libc.ts";
import {
  bindSocket, interfaceIndex, listenSocket, makeFifo, openSocket, tryBind, type SocketAddress,
} from "../../ffi/net.ts";
import { setIntOption } from "../../ffi/socket.ts";
import { findGroupId, findUser, readUserDatabase, type UserDatabase } from "../exec/users.ts";
import type { SocketSection } from "../config/types.ts";
import { describeListen, LISTEN_KEYS, parseListen, socketFilePath, type ListenSpec } from "../config/socket-address.ts";
import { existsNoFollow } from "../config/read-file.ts";
import { makeSymlinks, removeSymlinks } from "./symlinks.ts";

/** The netlink bindings (shared with the device events), loaded by the first listen_netlink socket: a chunk of its own. */
const netlink = (): typeof import("../../ffi/netlink.ts") => require("../../ffi/netlink.ts");

/** The defaults of docs/configuration.md, for entries built by hand (tests). */
const DEFAULTS = {
  backlog: 4096, directory_mode: 0o755, remove_on_stop: false, reuse_port: false,
  bind_ipv6_only: "default", pass_credentials: false, keep_alive: false, no_delay: false, timestamping: "off",
} as const;

export interface OpenedSocket {
  fd: number;
  spec: ListenSpec;
  /** "/run/foo.sk (Stream)": how the socket is named in messages and in `status`. */
  label: string;
  /** Options the kernel refused; the socket works without them. */
  warnings: string[];
}

export class ListenError extends Error {
  constructor(readonly label: string, message: string) {
    super(`${label}: ${message}`);
    this.name = "ListenError";
  }
}

/** The listen_* value of an entry and its kind; the loader guarantees exactly one. */
export function listenSpecOf(config: SocketSection): ListenSpec | string {
  for (const [key, kind] of Object.entries(LISTEN_KEYS)) {
    const value = config[key];
    if (typeof value === "string") return parseListen(kind, value);
  }
  return "no listen_* address";
}

/**
 * Creates the socket or FIFO of one [[socket]] entry. Throws ListenError naming it when
 * it cannot be made. `nonBlocking`: the manager accepts on it itself (accept = true).
 */
export function openListener(config: SocketSection, nonBlocking: boolean, users: () => UserDatabase = readUserDatabase): OpenedSocket {
  const spec = listenSpecOf(config);
  if (typeof spec === "string") throw new ListenError("[[socket]]", spec);
  const label = describeListen(spec);
  const warnings: string[] = [];
  try {
    const fd = openFor(spec, label, config, nonBlocking, warnings, users);
    const links = config.symlinks ?? [];
    if (links.length > 0) {
      const path = socketFilePath(spec);
      const dirMode = config.directory_mode ?? DEFAULTS.directory_mode;
      if (path === null) warnings.push("symlinks need a socket file or FIFO: none made");
      else warnings.push(...makeSymlinks(path, links, config.remove_on_stop ?? false, (link) => makeParents(link, dirMode)));
    }
    return { fd, spec, label, warnings };
  } catch (error) {
    if (error instanceof ListenError) throw error;
    throw new ListenError(label, explain(error));
  }
}

/** What went wrong, without the stack: SysError and fs errors read well as they are. */
function explain(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function openFor(spec: ListenSpec, label: string, config: SocketSection, nonBlocking: boolean, warnings: string[],
  users: () => UserDatabase): number {
  switch (spec.kind) {
    case "fifo": return openFifo(spec.path, config, users);
    case "special": return openSpecial(spec.path, config.writable ?? false);
    case "netlink": return openNetlink(spec, label, config, warnings);
    default: return openSocketFor(spec, config, nonBlocking, warnings, users);
  }
}

// ---------------------------------------------------------------- sockets

function openSocketFor(spec: Extract<ListenSpec, { address: unknown }>, config: SocketSection, nonBlocking: boolean,
  warnings: string[], users: () => UserDatabase): number {
  let address = resolveScope(spec);
  let fd: number;
  try {
    fd = openSocket(address.family, spec.kind, nonBlocking);
  } catch (error) {
    // A port alone on a kernel without IPv6: all IPv4 addresses, as systemd falls back.
    if (!(spec.anyAddress && error instanceof SysError && error.errno === E.EAFNOSUPPORT)) throw error;
    address = { family: "inet", ip: new Uint8Array(4), port: (address as { port: number }).port };
    fd = openSocket("inet", spec.kind, nonBlocking);
  }
  try {
    applyOptions(fd, address.family, spec.kind, config, warnings);
    bindTo(fd, address, config);
    if (address.family === "unix" && !address.path.startsWith("@")) setOwnership(address.path, config, users);
    if (spec.kind !== "datagram") listenSocket(fd, config.backlog ?? DEFAULTS.backlog, describeListen(spec));
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

function resolveScope(spec: Extract<ListenSpec, { address: unknown }>): SocketAddress {
  if (spec.scopeInterface === undefined || spec.address.family !== "inet6") return spec.address;
  const index = interfaceIndex(spec.scopeInterface);
  if (index === null) throw new Error(`no network interface "${spec.scopeInterface}" for the IPv6 scope`);
  return { ...spec.address, scopeId: index };
}

/** One setsockopt; a refusal becomes a warning. */
function option(fd: number, level: number, name: number, value: number, what: string, warnings: string[]): void {
  try {
    setIntOption(fd, level, name, value);
  } catch (error) {
    warnings.push(`${what} not set: ${(error as Error).message}`);
  }
}

/** SO_RCVBUFFORCE passes net.core.rmem_max as root; SO_RCVBUF otherwise (systemd's order). */
function bufferOption(fd: number, force: number, plain: number, bytes: number, what: string, warnings: string[]): void {
  try {
    setIntOption(fd, SOL_SOCKET, force, bytes);
  } catch {
    option(fd, SOL_SOCKET, plain, bytes, what, warnings);
  }
}

function applyOptions(fd: number, family: SocketAddress["family"] | "netlink", kind: ListenSpec["kind"], config: SocketSection,
  warnings: string[]): void {
  const ip = family === "inet" || family === "inet6";
  if (ip) option(fd, SOL_SOCKET, SO.REUSEADDR, 1, "SO_REUSEADDR", warnings);
  if (config.reuse_port) option(fd, SOL_SOCKET, SO.REUSEPORT, 1, "SO_REUSEPORT", warnings);
  const v6only = config.bind_ipv6_only ?? DEFAULTS.bind_ipv6_only;
  if (family === "inet6" && v6only !== "default") {
    option(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only === "ipv6-only" ? 1 : 0, "IPV6_V6ONLY", warnings);
  }
  if (typeof config.receive_buffer === "number") bufferOption(fd, SO.RCVBUFFORCE, SO.RCVBUF, config.receive_buffer, "SO_RCVBUF", warnings);
  if (typeof config.send_buffer === "number") bufferOption(fd, SO.SNDBUFFORCE, SO.SNDBUF, config.send_buffer, "SO_SNDBUF", warnings);
  if (config.pass_credentials) option(fd, SOL_SOCKET, SO.PASSCRED, 1, "SO_PASSCRED", warnings);
  if (config.pass_security) option(fd, SOL_SOCKET, SO.PASSSEC, 1, "SO_PASSSEC", warnings);
  if (config.pass_packet_info) packetInfo(fd, family, warnings);
  const stamps = config.timestamping ?? DEFAULTS.timestamping;
  if (stamps !== "off") {
    const [name, what] = stamps === "ns" ? [SO.TIMESTAMPNS, "SO_TIMESTAMPNS"] : [SO.TIMESTAMP, "SO_TIMESTAMP"];
    option(fd, SOL_SOCKET, name, 1, what, warnings);
  }
  if (config.keep_alive) option(fd, SOL_SOCKET, SO.KEEPALIVE, 1, "SO_KEEPALIVE", warnings);
  if (config.no_delay) {
    if (ip && kind === "stream") option(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", warnings);
    else warnings.push("no_delay applies to TCP sockets only: ignored");
  }
}

/** The packet-info option of the socket's family, as systemd's socket_set_recvpktinfo picks it. */
function packetInfo(fd: number, family: SocketAddress["family"] | "netlink", warnings: string[]): void {
  if (family === "inet") option(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO", warnings);
  else if (family === "inet6") option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO", warnings);
  else if (family === "netlink") option(fd, SOL_NETLINK, NETLINK_PKTINFO, 1, "NETLINK_PKTINFO", warnings);
  else warnings.push("pass_packet_info applies to IP and netlink sockets only: ignored");
}

/**
 * A netlink socket of the family, with the entry's socket options (receive_buffer as
 * SO_RCVBUFFORCE, pass_credentials …), bound to its multicast groups; nothing to listen()
 * on: it is read like a datagram socket.
 */
function openNetlink(spec: Extract<ListenSpec, { kind: "netlink" }>, label: string, config: SocketSection, warnings: string[]): number {
  const { bindNetlink, openNetlinkSocket } = netlink();
  const fd = openNetlinkSocket(spec.protocol, label);
  try {
    applyOptions(fd, "netlink", spec.kind, config, warnings);
    bindNetlink(fd, spec.groups, label);
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

/**
 * bind(2). A unix socket file left by an earlier run (EADDRINUSE on a path that is a
 * socket) is removed and the bind retried, as systemd does; anything else at the path is
 * left alone and the bind fails.
 */
function bindTo(fd: number, address: SocketAddress, config: SocketSection): void {
  const label = addressLabel(address);
  if (address.family !== "unix" || address.path.startsWith("@")) return bindSocket(fd, address, label);
  makeParents(address.path, config.directory_mode ?? DEFAULTS.directory_mode);
  const errno = tryBind(fd, address);
  if (errno === 0) return;
  if (errno === E.EADDRINUSE && isSocketFile(address.path)) {
    unlinkSync(address.path);
    return bindSocket(fd, address, label);
  }
  throw new SysError("bind", errno, label);
}

function addressLabel(address: SocketAddress): string {
  return address.family === "unix" ? address.path : `port ${address.port}`;
}

function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Creates the missing directories above `path` with `mode` (exactly: the umask does not apply). */
function makeParents(path: string, mode: number): void {
  const missing: string[] = [];
  for (let dir = dirname(path); dir !== "/" && !existsNoFollow(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode });
      chmodSync(dir, mode);
    } catch (error) {
      throw new Error(`cannot create directory ${dir}: ${explain(error)}`);
    }
  }
}

/** socket_mode, then socket_user and socket_group (root's when unset). */
function setOwnership(path: string, config: SocketSection, users: () => UserDatabase): void {
  chmodSync(path, config.socket_mode);
  const owner = resolveOwner(config, users);
  if (owner !== null) chownSync(path, owner.uid, owner.gid);
}

function resolveOwner(config: SocketSection, users: () => UserDatabase): { uid: number; gid: number } | null {
  const user = config.socket_user ?? null, group = config.socket_group ?? null;
  if (user === null && group === null) return null;
  const db = users();
  let uid = 0, gid = 0;
  if (user !== null) {
    const entry = findUser(db, user);
    if (entry === null && !/^\d+$/.test(user)) throw new Error(`socket_user "${user}" is not in /etc/passwd`);
    uid = entry?.uid ?? Number(user);
    gid = entry?.gid ?? 0; // the user's primary group unless socket_group says otherwise
  }
  if (group !== null) {
    const id = findGroupId(db, group);
    if (id === null) throw new Error(`socket_group "${group}" is not in /etc/group`);
    gid = id;
  }
  return { uid, gid };
}

// ---------------------------------------------------------------- FIFOs

/**
 * A FIFO at `path` (an existing FIFO is reused; anything else there is an error), opened
 * read-write so that the open neither blocks nor sees end-of-file when writers come and go.
 */
function openFifo(path: string, config: SocketSection, users: () => UserDatabase): number {
  makeParents(path, config.directory_mode ?? DEFAULTS.directory_mode);
  if (makeFifo(path, config.socket_mode) === "exists" && !lstatSync(path).isFIFO()) {
    throw new Error(`${path} exists and is not a FIFO`);
  }
  const fd = openFile(path, O.RDWR | O.NONBLOCK | O.NOCTTY | O.NOFOLLOW);
  try {
    setNonBlocking(fd, false); // the service reads it as a plain, blocking fd
    setOwnership(path, config, users);
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

// ---------------------------------------------------------------- special files

/**
 * A character device, or a regular file of /proc or /sys, opened as systemd opens it
 * (read-only, or read-write with `writable`; never created; O_NOFOLLOW, O_NOCTTY,
 * O_NONBLOCK). Anything else fails before it is opened: a FIFO (its open would wake a
 * writer waiting for a reader), a directory, a socket, a block device. A file epoll
 * cannot watch (/dev/null, a file on disk) fails too, as in systemd, whose watch fails:
 * it would be ready forever and could never be waited on.
 */
function openSpecial(path: string, writable: boolean): number {
  refuseUnlessSpecial(path, lstatSync(path)); // ENOENT reads well as it is
  const fd = openFile(path, (writable ? O.RDWR : O.RDONLY) | O.NOCTTY | O.NONBLOCK | O.NOFOLLOW);
  try {
    refuseUnlessSpecial(path, fstatSync(fd)); // what was opened, should the path have changed
    if (!canPoll(fd)) throw new Error(`${path} cannot be waited on: the kernel does not poll it (as /dev/null or a file on disk)`);
    setNonBlocking(fd, false); // the service reads it as a plain, blocking fd
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

function refuseUnlessSpecial(path: string, stat: Stats): void {
  if (stat.isCharacterDevice() || stat.isFile()) return;
  throw new Error(`${path} is ${fileKind(stat)}: listen_special takes a character device or a regular file of /proc or /sys`);
}

function fileKind(stat: Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isDirectory()) return "a directory";
  if (stat.isSymbolicLink()) return "a symbolic link (not followed)";
  if (stat.isSocket()) return "a socket";
  if (stat.isBlockDevice()) return "a block device";
  return "not a character device or regular file";
}

/**
 * The file behind a socket or FIFO, removed when the manager lets it go (remove_on_stop),
 * with the entry's symlinks to it; the warnings of the links that could not go.
 */
export function removeSocketFile(spec: ListenSpec, symlinks: readonly string[] = []): string[] {
  const path = socketFilePath(spec);
  if (path === null) return [];
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return removeSymlinks(path, symlinks);
}
