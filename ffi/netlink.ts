// The kernel's device announcements: a NETLINK_KOBJECT_UEVENT socket in multicast group 1
// (the kernel's own uevents; udev re-broadcasts on group 2, and there is no udev on the
// boards). Each datagram comes with the sender's netlink port id (0: the kernel) and,
// with SO_PASSCRED, its credentials, so that a process that sends into the group
// (root may) is told apart from the kernel.
//
// Layouts: include/uapi/linux/netlink.h (struct sockaddr_nl: u16 family, u16 pad,
// u32 nl_pid, u32 nl_groups), include/uapi/linux/socket.h.

import { E, IOVEC, MSG, MSGHDR, SO, SOCK, SOL_SOCKET, UCRED } from "./constants.ts";
import { close } from "./fd.ts";
import { check, libc, retryExpecting, retryOnEintr } from "./libc.ts";
import { cmsgSpace, fillMessageHeader, parseControlMessages, setIntOption, type ReceivedDatagram } from "./socket.ts";

export const AF_NETLINK = 16;
export const NETLINK_KOBJECT_UEVENT = 15;
/** The kernel's uevents (lib/kobject_uevent.c broadcasts to group 1). */
export const UEVENT_GROUP_KERNEL = 1;
export const SOCKADDR_NL = { size: 12, family: 0, pid: 4, groups: 8 } as const;
/** UEVENT_BUFFER_SIZE is 2048 bytes of environment, plus the "ACTION@DEVPATH" header: 8 KiB is room enough. */
export const UEVENT_DATAGRAM_MAX = 8192;
/** Room for bursts (a USB hub plugged in announces tens of devices at once). */
const RECEIVE_BUFFER = 1024 * 1024;

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const bytes = new Uint8Array(SOCKADDR_NL.size);
  const view = new DataView(bytes.buffer);
  view.setUint16(SOCKADDR_NL.family, AF_NETLINK, true);
  view.setUint32(SOCKADDR_NL.pid, pid, true);
  view.setUint32(SOCKADDR_NL.groups, groups, true);
  return bytes;
}

/**
 * A netlink socket of `protocol` for a [[socket]] listen_netlink entry: SOCK_RAW as
 * systemd makes it, close-on-exec, blocking (the service reads it as a plain fd).
 */
export function openNetlinkSocket(protocol: number, label: string): number {
  return check("socket", libc.socket(AF_NETLINK, SOCK.RAW | SOCK.CLOEXEC, protocol), label);
}

/** bind(2) to the multicast groups `groups` (a bit mask, nl_groups); the kernel picks the port id. */
export function bindNetlink(fd: number, groups: number, label: string): void {
  const address = sockaddrNl(0, groups);
  check("bind", libc.bind(fd, address, address.length), label);
}

/** A non-blocking, close-on-exec uevent socket bound to the kernel's group, with SO_PASSCRED. */
export function openUeventSocket(): number {
  const fd = check("socket", libc.socket(AF_NETLINK, SOCK.DGRAM | SOCK.CLOEXEC | SOCK.NONBLOCK, NETLINK_KOBJECT_UEVENT), "NETLINK_KOBJECT_UEVENT");
  try {
    setIntOption(fd, SOL_SOCKET, SO.PASSCRED, 1);
    try {
      setIntOption(fd, SOL_SOCKET, SO.RCVBUFFORCE, RECEIVE_BUFFER); // root: past rmem_max
    } catch {
      setIntOption(fd, SOL_SOCKET, SO.RCVBUF, RECEIVE_BUFFER);
    }
    const address = sockaddrNl(0, UEVENT_GROUP_KERNEL); // nl_pid 0: the kernel picks our port id
    check("bind", libc.bind(fd, address, address.length), "NETLINK_KOBJECT_UEVENT group 1");
    return fd;
  } catch (error) {
    close(fd);
    throw error;
  }
}

export interface Uevent {
  data: Uint8Array; // valid until the next receive
  senderPort: number; // nl_pid of the sender: 0 for the kernel
  uid: number; // SCM_CREDENTIALS, -1 when none came
  truncated: boolean;
}

/** Receives uevent datagrams one at a time into a buffer laid out once. */
export class UeventReceiver {
  private readonly data = new Uint8Array(UEVENT_DATAGRAM_MAX);
  private readonly name = new Uint8Array(SOCKADDR_NL.size);
  private readonly control = new Uint8Array(cmsgSpace(UCRED.size) + 64);
  private readonly header = new Uint8Array(MSGHDR.size);
  private readonly iovec = new Uint8Array(IOVEC.size);
  private readonly headerView = new DataView(this.header.buffer);

  /** One datagram; null when none waits; "overflow" when the kernel dropped some (ENOBUFS). */
  receive(fd: number): Uevent | null | "overflow" {
    fillMessageHeader(this.header, this.iovec, this.data, this.control, { bytes: this.name, length: this.name.length });
    const n = retryExpecting("recvmsg", () => Number(libc.recvmsg(fd, this.header, MSG.DONTWAIT | MSG.CMSG_CLOEXEC)), [E.EAGAIN, E.ENOBUFS]);
    if (typeof n !== "number") return n.errno === E.ENOBUFS ? "overflow" : null;
    const flags = this.headerView.getInt32(MSGHDR.flags, true);
    const controlLength = Math.min(Number(this.headerView.getBigUint64(MSGHDR.controllen, true)), this.control.length);
    const creds: ReceivedDatagram = { data: this.data, pid: 0, uid: -1, gid: -1, fds: [], truncated: false };
    parseControlMessages(new DataView(this.control.buffer), 0, controlLength, creds);
    for (const fd of creds.fds) close(fd); // none is expected: never keep what a sender slipped in
    const nameLength = this.headerView.getUint32(MSGHDR.namelen, true);
    const nameView = new DataView(this.name.buffer);
    const fromNetlink = nameLength >= SOCKADDR_NL.size && nameView.getUint16(SOCKADDR_NL.family, true) === AF_NETLINK;
    return {
      data: this.data.subarray(0, Math.min(n, UEVENT_DATAGRAM_MAX)),
      senderPort: fromNetlink ? nameView.getUint32(SOCKADDR_NL.pid, true) : -1,
      uid: creds.uid,
      truncated: (flags & (MSG.TRUNC | MSG.CTRUNC)) !== 0,
    };
  }
}

/**
 * Sends a datagram into the kernel's uevent group from a socket of our own (whose port
 * id is not 0): a forged uevent, for tests that check it is told apart. Needs root.
 */
export function sendToUeventGroup(payload: Uint8Array): void {
  const fd = check("socket", libc.socket(AF_NETLINK, SOCK.DGRAM | SOCK.CLOEXEC, NETLINK_KOBJECT_UEVENT));
  try {
    const header = new Uint8Array(MSGHDR.size);
    const iovec = new Uint8Array(IOVEC.size);
    fillMessageHeader(header, iovec, payload, null, { bytes: sockaddrNl(0, UEVENT_GROUP_KERNEL), length: SOCKADDR_NL.size });
    retryOnEintr("sendmsg", () => Number(libc.sendmsg(fd, header, MSG.NOSIGNAL)), "uevent group");
  } finally {
    close(fd);
  }
}
