#!/usr/bin/python3
"""Reads back the socket options of the sockets the manager passed, then reports the
ancillary data of every datagram received on them.

For each fd of LISTEN_FDS (named by LISTEN_FDNAMES) prints one line:
  "fd N name=NAME ino=INODE family=F timestamp=0|1 timestampns=0|1 passsec=0|1 passcred=0|1 pktinfo=0|1|-"
(pktinfo: IP_PKTINFO, IPV6_RECVPKTINFO or NETLINK_PKTINFO by the family; "-" for a unix
socket, which has none; "-" too for an option the kernel does not have for the family),
then "probed". Then, for each datagram on a datagram socket:
  "datagram name=NAME data=TEXT cmsg=LIST"
where LIST names the control messages that came with it, comma-separated:
SCM_TIMESTAMP, SCM_TIMESTAMPNS, SCM_CREDENTIALS, SCM_SECURITY, IP_PKTINFO(ifindex=N dst=A),
IPV6_PKTINFO(ifindex=N dst=A). Stdlib only; the option numbers are Linux's (64-bit).
"""
import os
import select
import socket
import struct
import sys

from peer_args import handle_args  # test/peers/peer_args.py, next to this file

handle_args(__doc__)

SOL_SOCKET, SOL_NETLINK = 1, 270
SO_PASSCRED, SO_TIMESTAMP, SO_PASSSEC, SO_TIMESTAMPNS = 16, 29, 34, 35
IP_PKTINFO, IPV6_RECVPKTINFO, IPV6_PKTINFO, NETLINK_PKTINFO = 8, 49, 50, 3
SCM_CREDENTIALS = 2
PKTINFO = {
    socket.AF_INET: (socket.IPPROTO_IP, IP_PKTINFO),
    socket.AF_INET6: (socket.IPPROTO_IPV6, IPV6_RECVPKTINFO),
    socket.AF_NETLINK: (SOL_NETLINK, NETLINK_PKTINFO),
}

if os.environ.get("LISTEN_PID") != str(os.getpid()):
    print("LISTEN_PID is not this process", file=sys.stderr)
    sys.exit(1)
count = int(os.environ.get("LISTEN_FDS", "0"))
names = os.environ.get("LISTEN_FDNAMES", "").split(":")
datagrams = {}
for i in range(count):
    fd, name = 3 + i, names[i] if i < len(names) else "unknown"
    sock = socket.socket(fileno=fd)
    def opt(level, option, sock=sock):
        try:
            return sock.getsockopt(level, option)
        except OSError:  # not an option of this family (SO_PASSSEC on an IP socket in newer kernels)
            return "-"
    pkt = PKTINFO.get(sock.family)
    print(f"fd {fd} name={name} ino={os.fstat(fd).st_ino} family={int(sock.family)} timestamp={opt(SOL_SOCKET, SO_TIMESTAMP)}"
          f" timestampns={opt(SOL_SOCKET, SO_TIMESTAMPNS)} passsec={opt(SOL_SOCKET, SO_PASSSEC)}"
          f" passcred={opt(SOL_SOCKET, SO_PASSCRED)} pktinfo={opt(*pkt) if pkt else '-'}", flush=True)
    if sock.type == socket.SOCK_DGRAM:
        datagrams[fd] = (sock, name)
print("probed", flush=True)


def describe(level, kind, data):
    if level == SOL_SOCKET and kind == SO_TIMESTAMP:
        return "SCM_TIMESTAMP"
    if level == SOL_SOCKET and kind == SO_TIMESTAMPNS:
        return "SCM_TIMESTAMPNS"
    if level == SOL_SOCKET and kind == SCM_CREDENTIALS:
        return "SCM_CREDENTIALS"
    if level == SOL_SOCKET and kind == SO_PASSSEC:
        return "SCM_SECURITY"
    if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
        index, _local, dst = struct.unpack("i4s4s", data[:12])
        return f"IP_PKTINFO(ifindex={index} dst={socket.inet_ntop(socket.AF_INET, dst)})"
    if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
        dst, index = struct.unpack("16sI", data[:20])
        return f"IPV6_PKTINFO(ifindex={index} dst={socket.inet_ntop(socket.AF_INET6, dst)})"
    return f"{level}/{kind}"


while datagrams:
    ready, _, _ = select.select(list(datagrams), [], [])
    for fd in ready:
        sock, name = datagrams[fd]
        data, ancillary, _flags, _addr = sock.recvmsg(4096, 1024)
        listed = ",".join(describe(level, kind, extra) for level, kind, extra in ancillary)
        print(f"datagram name={name} data={data.decode(errors='replace')} cmsg={listed}", flush=True)
