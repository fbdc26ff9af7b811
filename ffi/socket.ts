// Unix sockets for the manager: the notify socket (datagrams with credentials and fds),
// the control socket (stream, peer credentials), and a client side for `hearth ctl`
// and tests. Addresses starting with "@" are in the abstract namespace.
//
// Struct layouts (msghdr, mmsghdr, cmsghdr, ucred, sockaddr_un) are in ffi/constants.ts.

import { ptr } from "bun:ffi";
import {
  AF_UNIX, CMSGHDR, E, IOVEC, MMSGHDR, MSG, MSGHDR, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SO,
  SOCK, SOCKADDR_UN, SOL_SOCKET, UCRED,
} from "./constants.ts";
import { close, setNonBlocking } from "./fd.ts";
import { check, cString, lastErrno, libc, retryExpecting, retryOnEintr, SysError } from "./libc.ts";

// ---------------------------------------------------------------- addresses

export interface UnixAddress {
  bytes: Uint8Array; // a struct sockaddr_un
  length: number; // the socklen_t to pass with it
}

/**
 * A sockaddr_un for a path, or for an abstract name given as "@name" (the kernel takes
 * the name's exact length, with a leading NUL and no terminator).
 */
export function unixAddress(path: string): UnixAddress {
  const abstract = path.startsWith("@");
  const name = Buffer.from(abstract ? path.slice(1) : path, "utf8");
  const pathBytes = name.length + 1; // the leading NUL (abstract) or the terminator
  if (name.length === 0 || pathBytes > SOCKADDR_UN.pathMax) {
    throw new RangeError(`unix socket address must be 1..${SOCKADDR_UN.pathMax - 1} bytes: ${path}`);
  }
  const bytes = new Uint8Array(SOCKADDR_UN.size);
  new DataView(bytes.buffer).setUint16(SOCKADDR_UN.family, AF_UNIX, true);
  bytes.set(name, SOCKADDR_UN.path + (abstract ? 1 : 0));
  return { bytes, length: SOCKADDR_UN.path + pathBytes };
}

function isAbstract(path: string): boolean {
  return path.startsWith("@");
}

/** Removes a socket file left by an earlier run; a missing file is fine. */
function unlinkStale(path: string): void {
  if (isAbstract(path)) return;
  if (libc.unlink(cString(path)) < 0 && lastErrno() !== E.ENOENT) {
    throw new SysError("unlink", lastErrno(), path);
  }
}

function openSocket(type: number): number {
  return check("socket", libc.socket(AF_UNIX, type | SOCK.CLOEXEC, 0));
}

/** Runs setup on a fresh fd; closes the fd if setup throws. */
function withFd(fd: number, setup: (fd: number) => void): number {
  try {
    setup(fd);
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

function bindTo(fd: number, path: string): void {
  const address = unixAddress(path);
  check("bind", libc.bind(fd, address.bytes, address.length), path);
}

// ---------------------------------------------------------------- socket options

export function setIntOption(fd: number, level: number, option: number, value: number): void {
  const cell = new Int32Array([value]);
  check("setsockopt", libc.setsockopt(fd, level, option, cell, 4), `option ${option}`);
}

export function getIntOption(fd: number, level: number, option: number): number {
  const cell = new Int32Array(1);
  const length = new Uint32Array([4]);
  check("getsockopt", libc.getsockopt(fd, level, option, cell, length), `option ${option}`);
  return cell[0]!;
}

/** systemd's size for the notify socket's receive buffer. */
export const NOTIFY_RECEIVE_BUFFER = 8 * 1024 * 1024;

/** SO_RCVBUFFORCE passes the rmem_max cap but needs CAP_NET_ADMIN; SO_RCVBUF otherwise. */
function setReceiveBuffer(fd: number, bytes: number): void {
  const cell = new Int32Array([bytes]);
  if (libc.setsockopt(fd, SOL_SOCKET, SO.RCVBUFFORCE, cell, 4) === 0) return;
  setIntOption(fd, SOL_SOCKET, SO.RCVBUF, bytes);
}

// ---------------------------------------------------------------- the notify socket

/**
 * The sd_notify socket: SOCK_DGRAM, close-on-exec, non-blocking, bound to `path`
 * (a stale file is removed first) or to "@name", with SO_PASSCRED so every datagram
 * carries its sender's pid, uid and gid, and an 8 MiB receive buffer.
 */
export function notifySocket(path: string): number {
  return credentialedDatagramSocket(path, NOTIFY_RECEIVE_BUFFER);
}

/** A datagram socket as the notify socket, with a receive buffer of this size (the syslog socket). */
export function credentialedDatagramSocket(path: string, receiveBuffer: number): number {
  return withFd(openSocket(SOCK.DGRAM | SOCK.NONBLOCK), (fd) => {
    unlinkStale(path);
    bindTo(fd, path);
    setIntOption(fd, SOL_SOCKET, SO.PASSCRED, 1);
    setReceiveBuffer(fd, receiveBuffer);
  });
}

export interface ReceivedDatagram {
  /** The payload: a view into the receiver's buffer, valid until its next receive. */
  data: Uint8Array;
  /** From SCM_CREDENTIALS; pid 0 and uid/gid -1 if the kernel attached none. */
  pid: number;
  uid: number;
  gid: number;
  /** Fds passed with SCM_RIGHTS, already O_CLOEXEC: the caller must keep or close each. */
  fds: number[];
  /** The payload or the fds did not fit (MSG_TRUNC / MSG_CTRUNC): treat as malformed. */
  truncated: boolean;
}

/** CMSG_SPACE(n): a cmsghdr plus n bytes of data, rounded up to the alignment. */
export function cmsgSpace(dataBytes: number): number {
  return CMSGHDR.size + alignCmsg(dataBytes);
}

function alignCmsg(bytes: number): number {
  return Math.ceil(bytes / CMSGHDR.align) * CMSGHDR.align;
}

/** The largest datagram systemd accepts on its notify socket (NOTIFY_BUFFER_MAX). */
export const NOTIFY_DATAGRAM_MAX = 4096;

/** Room for the credentials and the most fds the kernel passes with one datagram. */
const CONTROL_SPACE = cmsgSpace(UCRED.size) + cmsgSpace(4 * SCM_MAX_FD);

export function fillMessageHeader(
  header: Uint8Array, iovec: Uint8Array, data: Uint8Array, control: Uint8Array | null,
  name: UnixAddress | null,
): void {
  const iov = new DataView(iovec.buffer, iovec.byteOffset, IOVEC.size);
  iov.setBigUint64(IOVEC.base, data.byteLength > 0 ? BigInt(ptr(data)) : 0n, true);
  iov.setBigUint64(IOVEC.len, BigInt(data.byteLength), true);
  const view = new DataView(header.buffer, header.byteOffset, MSGHDR.size);
  header.fill(0);
  if (name) {
    view.setBigUint64(MSGHDR.name, BigInt(ptr(name.bytes)), true);
    view.setUint32(MSGHDR.namelen, name.length, true);
  }
  view.setBigUint64(MSGHDR.iov, BigInt(ptr(iovec)), true);
  view.setBigUint64(MSGHDR.iovlen, 1n, true);
  if (control && control.byteLength > 0) {
    view.setBigUint64(MSGHDR.control, BigInt(ptr(control)), true);
    view.setBigUint64(MSGHDR.controllen, BigInt(control.byteLength), true);
  }
}

/**
 * Receives datagrams with their senders' credentials and fds, many per system call
 * (recvmmsg), into buffers laid out once and reused: one wake-up of a flooded socket
 * costs one call, not one per datagram. Payloads are views into those buffers, so a
 * batch must be used up before the next receive.
 */
export class DatagramReceiver {
  private readonly data: Uint8Array;
  private readonly control: Uint8Array;
  private readonly iovecs: Uint8Array; // referenced by the headers: kept alive here
  private readonly headers: Uint8Array;
  private readonly view: DataView;
  private readonly controlView: DataView;

  /** `datagramMax`: the bytes kept of each datagram; a longer one comes truncated. */
  constructor(readonly capacity: number, readonly datagramMax: number = NOTIFY_DATAGRAM_MAX) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1024) {
      throw new RangeError(`a receive batch holds 1..1024 datagrams, not ${capacity}`);
    }
    if (!Number.isInteger(datagramMax) || datagramMax < 1 || datagramMax > 65536) {
      throw new RangeError(`a received datagram keeps 1..65536 bytes, not ${datagramMax}`);
    }
    this.data = new Uint8Array(capacity * datagramMax);
    this.control = new Uint8Array(capacity * CONTROL_SPACE);
    this.iovecs = new Uint8Array(capacity * IOVEC.size);
    this.headers = new Uint8Array(capacity * MMSGHDR.size);
    this.view = new DataView(this.headers.buffer);
    this.controlView = new DataView(this.control.buffer);
    const iov = new DataView(this.iovecs.buffer);
    const [data, control, iovecs] = [BigInt(ptr(this.data)), BigInt(ptr(this.control)), BigInt(ptr(this.iovecs))];
    for (let i = 0; i < capacity; i++) {
      iov.setBigUint64(i * IOVEC.size + IOVEC.base, data + BigInt(i * datagramMax), true);
      iov.setBigUint64(i * IOVEC.size + IOVEC.len, BigInt(datagramMax), true);
      const header = i * MMSGHDR.size + MMSGHDR.hdr;
      this.view.setBigUint64(header + MSGHDR.iov, iovecs + BigInt(i * IOVEC.size), true);
      this.view.setBigUint64(header + MSGHDR.iovlen, 1n, true);
      this.view.setBigUint64(header + MSGHDR.control, control + BigInt(i * CONTROL_SPACE), true);
    }
  }

  /**
   * Receives up to `max` (at most the capacity) waiting datagrams without blocking
   * (MSG_DONTWAIT), fds close-on-exec (MSG_CMSG_CLOEXEC); [] when none is waiting.
   */
  receive(fd: number, max: number = this.capacity): ReceivedDatagram[] {
    const count = Math.max(1, Math.min(max, this.capacity));
    const view = this.view;
    for (let i = 0; i < count; i++) {
      // The kernel wrote the last call's sizes here: give each slot its whole space again.
      const header = i * MMSGHDR.size + MMSGHDR.hdr;
      view.setUint32(header + MSGHDR.controllen, CONTROL_SPACE, true);
      view.setUint32(header + MSGHDR.controllen + 4, 0, true);
      view.setInt32(header + MSGHDR.flags, 0, true);
    }
    const flags = MSG.DONTWAIT | MSG.CMSG_CLOEXEC;
    const received = retryExpecting("recvmmsg", () => libc.recvmmsg(fd, this.headers, count, flags, null), [E.EAGAIN]);
    if (typeof received !== "number") return [];
    const batch: ReceivedDatagram[] = new Array(received);
    for (let i = 0; i < received; i++) {
      const header = i * MMSGHDR.size + MMSGHDR.hdr;
      const length = Math.min(view.getUint32(i * MMSGHDR.size + MMSGHDR.len, true), this.datagramMax);
      const controlLength = Math.min(view.getUint32(header + MSGHDR.controllen, true), CONTROL_SPACE);
      const messageFlags = view.getInt32(header + MSGHDR.flags, true);
      const at = i * this.datagramMax;
      const datagram: ReceivedDatagram = {
        data: this.data.subarray(at, at + length),
        pid: 0, uid: -1, gid: -1, fds: [],
        truncated: (messageFlags & (MSG.TRUNC | MSG.CTRUNC)) !== 0,
      };
      parseControlMessages(this.controlView, i * CONTROL_SPACE, i * CONTROL_SPACE + controlLength, datagram);
      batch[i] = datagram;
    }
    return batch;
  }
}

/**
 * A datagram socket's queue, drained in batches (DatagramReceiver) of at most `perCall`,
 * at most `perWakeup` per drain, each batch handed on before the next receive (its
 * payloads are views that the next receive overwrites). A drain called from within the
 * handler does nothing: the batch being handled goes on, in order.
 */
export class DatagramDrain {
  private readonly receiver: DatagramReceiver;
  private draining = false;

  constructor(
    private readonly fd: number,
    private readonly perWakeup: number,
    perCall: number,
    datagramMax: number,
    private readonly handle: (batch: ReceivedDatagram[]) => void,
  ) {
    this.receiver = new DatagramReceiver(perCall, datagramMax);
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      // Until the queue is empty: the sender a short batch woke may be refilling it right
      // now, and a receive is cheaper than a wake-up through the reactor.
      for (let left = this.perWakeup; left > 0;) {
        const batch = this.receiver.receive(this.fd, Math.min(left, this.receiver.capacity));
        if (batch.length === 0) return;
        this.handle(batch);
        left -= batch.length;
      }
    } finally {
      this.draining = false;
    }
  }
}

/** Walks the cmsghdr chain (CMSG_FIRSTHDR/CMSG_NXTHDR) in view[start, end) and records creds and fds. */
export function parseControlMessages(view: DataView, start: number, end: number, into: ReceivedDatagram): void {
  for (let offset = start; offset + CMSGHDR.size <= end;) {
    // cmsg_len is a size_t no larger than the buffer: its high half is 0 (else stop below)
    const length = view.getUint32(offset + CMSGHDR.len + 4, true) === 0 ? view.getUint32(offset + CMSGHDR.len, true) : Infinity;
    if (length < CMSGHDR.size || offset + length > end) break;
    const level = view.getInt32(offset + CMSGHDR.level, true);
    const type = view.getInt32(offset + CMSGHDR.type, true);
    const data = offset + CMSGHDR.data;
    const dataLength = length - CMSGHDR.size;
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let at = 0; at + 4 <= dataLength; at += 4) into.fds.push(view.getInt32(data + at, true));
    } else if (level === SOL_SOCKET && type === SCM_CREDENTIALS && dataLength >= UCRED.size) {
      into.pid = view.getInt32(data + UCRED.pid, true);
      into.uid = view.getUint32(data + UCRED.uid, true);
      into.gid = view.getUint32(data + UCRED.gid, true);
    }
    offset += alignCmsg(length);
  }
}

// ---------------------------------------------------------------- stream sockets

/**
 * A listening SOCK_STREAM socket (close-on-exec, non-blocking) at `path` with the given
 * file mode, set before listen(2) so that no one connects through a wider mode.
 */
export function listenUnixStream(path: string, mode: number, backlog: number = 128): number {
  return withFd(openSocket(SOCK.STREAM | SOCK.NONBLOCK), (fd) => {
    if (isAbstract(path)) {
      bindTo(fd, path);
      check("listen", libc.listen(fd, backlog), path);
      return;
    }
    // Made under a staging name and renamed into place once listening: a client that waits
    // for the file to appear (hearthctl, a script) never meets a socket that refuses it.
    const staging = Buffer.byteLength(path) + STAGING_SUFFIX.length < SOCKADDR_UN.pathMax ? path + STAGING_SUFFIX : path;
    unlinkStale(staging);
    bindTo(fd, staging);
    try {
      check("chmod", libc.chmod(cString(staging), mode), staging);
      check("listen", libc.listen(fd, backlog), staging);
      if (staging !== path) check("rename", libc.rename(cString(staging), cString(path)), path);
    } catch (e) {
      libc.unlink(cString(staging));
      throw e;
    }
  });
}

const STAGING_SUFFIX = ".new";

/** accept4 (CLOEXEC|NONBLOCK); null when no connection is waiting. */
export function acceptConnection(fd: number): number | null {
  const flags = SOCK.CLOEXEC | SOCK.NONBLOCK;
  for (;;) {
    const accepted = retryExpecting("accept4", () => libc.accept4(fd, null, null, flags), [E.EAGAIN, E.ECONNABORTED]);
    if (typeof accepted === "number") return accepted;
    if (accepted.errno === E.EAGAIN) return null;
    // ECONNABORTED: the peer gave up before we accepted; try the next one.
  }
}

export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The credentials of a connected peer, as of connect(2) (SO_PEERCRED). */
export function peerCredentials(fd: number): Credentials {
  const ucred = new Uint8Array(UCRED.size);
  const length = new Uint32Array([UCRED.size]);
  check("getsockopt", libc.getsockopt(fd, SOL_SOCKET, SO.PEERCRED, ucred, length), "SO_PEERCRED");
  const view = new DataView(ucred.buffer);
  return {
    pid: view.getInt32(UCRED.pid, true),
    uid: view.getUint32(UCRED.uid, true),
    gid: view.getUint32(UCRED.gid, true),
  };
}

/** A blocking, close-on-exec stream connection (for the ctl client and tests). */
export function connectUnixStream(path: string): number {
  return withFd(openSocket(SOCK.STREAM), (fd) => {
    const address = unixAddress(path);
    retryOnEintr("connect", () => libc.connect(fd, address.bytes, address.length), path);
  });
}

/**
 * A close-on-exec stream connection to the socket file at `path` that never waits: a
 * unix stream connect completes at once or fails (EAGAIN when the listener's backlog is
 * full, ECONNREFUSED when no one listens). The fd is left blocking, for a service's stdio.
 */
export function connectUnixStreamNow(path: string): number {
  return withFd(openSocket(SOCK.STREAM | SOCK.NONBLOCK), (fd) => {
    const address = unixAddress(path);
    retryOnEintr("connect", () => libc.connect(fd, address.bytes, address.length), path);
    setNonBlocking(fd, false);
  });
}

// ---------------------------------------------------------------- sending datagrams

/**
 * Sends one datagram to the socket at `path` from a fresh unbound socket, with `fds`
 * attached as SCM_RIGHTS. The kernel adds the sender's credentials itself when the
 * receiver has SO_PASSCRED. (Used by tests as an sd_notify client.)
 */
export function sendDatagram(path: string, data: Uint8Array | string, fds: number[] = []): void {
  const payload = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const fd = openSocket(SOCK.DGRAM);
  try {
    const header = new Uint8Array(MSGHDR.size);
    const iovec = new Uint8Array(IOVEC.size);
    const control = fds.length > 0 ? rightsMessage(fds) : null;
    fillMessageHeader(header, iovec, payload, control, unixAddress(path));
    retryOnEintr("sendmsg", () => Number(libc.sendmsg(fd, header, MSG.NOSIGNAL)), path);
  } finally {
    close(fd);
  }
}

/** A control buffer holding one SCM_RIGHTS message with these fds. */
function rightsMessage(fds: number[]): Uint8Array {
  if (fds.length > SCM_MAX_FD) throw new RangeError(`at most ${SCM_MAX_FD} fds per message`);
  const control = new Uint8Array(cmsgSpace(4 * fds.length));
  const view = new DataView(control.buffer);
  view.setBigUint64(CMSGHDR.len, BigInt(CMSGHDR.size + 4 * fds.length), true);
  view.setInt32(CMSGHDR.level, SOL_SOCKET, true);
  view.setInt32(CMSGHDR.type, SCM_RIGHTS, true);
  fds.forEach((passed, i) => view.setInt32(CMSGHDR.data + 4 * i, passed, true));
  return control;
}
