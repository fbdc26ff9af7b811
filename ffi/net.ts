// Sockets of every family the manager listens on for services (socket activation):
// unix (paths and "@abstract" names), IPv4 and IPv6; binding, listening, accepting with
// the peer's address, local addresses, FIFOs, and comparing two fds' open files.
//
// Addresses cross this boundary as bytes (an IPv4 address is 4 bytes, IPv6 16): the
// text forms ("[::1]:80") are parsed and printed by src/sockets/address.ts, which is pure.
// Struct layouts (sockaddr_in, sockaddr_in6, sockaddr_un) are in ffi/constants.ts.

import {
  AF_INET, AF_INET6, AF_UNIX, E, KCMP_FILE, SOCK, SOCKADDR_IN, SOCKADDR_IN6, SOCKADDR_STORAGE_SIZE,
  SOCKADDR_UN, SYS,
} from "./constants.ts";
import { check, cString, lastErrno, libc, retryExpecting, SysError } from "./libc.ts";
import { unixAddress } from "./socket.ts";

/** A socket address as the kernel sees it. Unix names starting with "@" are abstract. */
export type SocketAddress =
  | { family: "unix"; path: string } // "" for an unnamed (unbound) peer
  | { family: "inet"; ip: Uint8Array; port: number } // ip: 4 bytes, network order
  | { family: "inet6"; ip: Uint8Array; port: number; scopeId: number }; // ip: 16 bytes

export type SocketType = "stream" | "datagram" | "seqpacket";

const SOCKET_TYPES: Record<SocketType, number> = {
  stream: SOCK.STREAM, datagram: SOCK.DGRAM, seqpacket: SOCK.SEQPACKET,
};

const FAMILIES = { unix: AF_UNIX, inet: AF_INET, inet6: AF_INET6 } as const;

export function familyNumber(family: SocketAddress["family"]): number {
  return FAMILIES[family];
}

// ---------------------------------------------------------------- struct sockaddr

/** The struct sockaddr for an address, and the length to pass with it. */
export function encodeAddress(address: SocketAddress): { bytes: Uint8Array; length: number } {
  if (address.family === "unix") return unixAddress(address.path);
  const inet = address.family === "inet";
  const layout = inet ? SOCKADDR_IN : SOCKADDR_IN6;
  const bytes = new Uint8Array(layout.size);
  const view = new DataView(bytes.buffer);
  view.setUint16(layout.family, inet ? AF_INET : AF_INET6, true);
  view.setUint16(layout.port, address.port, false); // network byte order
  if (address.ip.byteLength !== (inet ? 4 : 16)) throw new RangeError(`bad ${address.family} address length ${address.ip.byteLength}`);
  bytes.set(address.ip, layout.addr);
  if (address.family === "inet6") view.setUint32(SOCKADDR_IN6.scopeId, address.scopeId, true);
  return { bytes, length: layout.size };
}

/** Reads a struct sockaddr the kernel filled in (accept4, getsockname); null for other families. */
export function decodeAddress(bytes: Uint8Array, length: number): SocketAddress | null {
  if (length < 2) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  if (family === AF_INET && length >= SOCKADDR_IN.size) {
    return {
      family: "inet", port: view.getUint16(SOCKADDR_IN.port, false),
      ip: bytes.slice(SOCKADDR_IN.addr, SOCKADDR_IN.addr + 4),
    };
  }
  if (family === AF_INET6 && length >= SOCKADDR_IN6.size) {
    return {
      family: "inet6", port: view.getUint16(SOCKADDR_IN6.port, false),
      ip: bytes.slice(SOCKADDR_IN6.addr, SOCKADDR_IN6.addr + 16),
      scopeId: view.getUint32(SOCKADDR_IN6.scopeId, true),
    };
  }
  if (family === AF_UNIX) {
    const name = bytes.subarray(SOCKADDR_UN.path, Math.min(length, SOCKADDR_UN.size));
    if (name.byteLength === 0) return { family: "unix", path: "" };
    if (name[0] === 0) return { family: "unix", path: `@${Buffer.from(name.subarray(1)).toString("utf8")}` };
    const end = name.indexOf(0);
    return { family: "unix", path: Buffer.from(end < 0 ? name : name.subarray(0, end)).toString("utf8") };
  }
  return null;
}

// ---------------------------------------------------------------- sockets

/** socket(2), always close-on-exec; non-blocking on request. */
export function openSocket(family: SocketAddress["family"], type: SocketType, nonBlocking: boolean): number {
  const flags = SOCKET_TYPES[type] | SOCK.CLOEXEC | (nonBlocking ? SOCK.NONBLOCK : 0);
  return check("socket", libc.socket(familyNumber(family), flags, 0), `(${family}, ${type})`);
}

/** bind(2); `label` names the address in the error. */
export function bindSocket(fd: number, address: SocketAddress, label: string): void {
  const { bytes, length } = encodeAddress(address);
  check("bind", libc.bind(fd, bytes, length), label);
}

/** bind(2) returning the errno instead of throwing (to retry after removing a stale file). */
export function tryBind(fd: number, address: SocketAddress): number {
  const { bytes, length } = encodeAddress(address);
  return libc.bind(fd, bytes, length) === 0 ? 0 : lastErrno();
}

export function listenSocket(fd: number, backlog: number, label: string): void {
  check("listen", libc.listen(fd, backlog), label);
}

/** The address a socket is bound to (getsockname(2)). */
export function localAddress(fd: number): SocketAddress | null {
  const storage = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const length = new Uint32Array([SOCKADDR_STORAGE_SIZE]);
  check("getsockname", libc.getsockname(fd, storage, length));
  return decodeAddress(storage, length[0]!);
}

export interface Accepted {
  fd: number;
  /** The peer's address; null for a family this module does not read. */
  peer: SocketAddress | null;
}

// accept4's address buffer is reused: the JS thread is the only caller.
const peerStorage = new Uint8Array(SOCKADDR_STORAGE_SIZE);
const peerLength = new Uint32Array(1);

/**
 * accept4(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK on request) on a non-blocking listening
 * socket. Returns null when no connection is waiting; a connection the peer abandoned
 * before it was accepted (ECONNABORTED) is skipped.
 */
export function acceptWithPeer(fd: number, nonBlocking: boolean = false): Accepted | null {
  const flags = SOCK.CLOEXEC | (nonBlocking ? SOCK.NONBLOCK : 0);
  for (;;) {
    peerLength[0] = SOCKADDR_STORAGE_SIZE;
    const accepted = retryExpecting("accept4", () => libc.accept4(fd, peerStorage, peerLength, flags), [E.EAGAIN, E.ECONNABORTED]);
    if (typeof accepted === "number") return { fd: accepted, peer: decodeAddress(peerStorage, peerLength[0]!) };
    if (accepted.errno === E.EAGAIN) return null;
  }
}

/** The index of a network interface ("eth0"), for IPv6 scope ids; null if there is none. */
export function interfaceIndex(name: string): number | null {
  const index = libc.if_nametoindex(cString(name));
  return index === 0 ? null : index;
}

// ---------------------------------------------------------------- FIFOs and files

/**
 * mkfifo(3) at `path` with `mode` (the umask applies; chmod afterwards to be exact).
 * Returns "created", or "exists" when something is already there (the caller checks
 * that it is a FIFO).
 */
export function makeFifo(path: string, mode: number): "created" | "exists" {
  if (libc.mkfifo(cString(path), mode) === 0) return "created";
  const errno = lastErrno();
  if (errno === E.EEXIST) return "exists";
  throw new SysError("mkfifo", errno, path);
}

/**
 * Whether two fds of this process refer to the same open file description (kcmp(2)
 * KCMP_FILE). null when the kernel cannot tell (built without CONFIG_KCMP, or a
 * sandbox forbids it).
 */
export function sameOpenFile(a: number, b: number): boolean | null {
  const pid = process.pid;
  const result = Number(libc.syscall(SYS.kcmp, pid, pid, KCMP_FILE, a, b));
  if (result >= 0) return result === 0;
  const errno = lastErrno();
  if (errno === E.ENOSYS || errno === E.EPERM || errno === E.EACCES) return null;
  throw new SysError("kcmp", errno, `fds ${a} and ${b}`);
}
