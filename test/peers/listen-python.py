#!/usr/bin/python3
"""A socket-activated echo server using python3-systemd (systemd.daemon.listen_fds).

Takes the sockets passed by the manager with daemon.listen_fds_with_names()
(LISTEN_FDS, LISTEN_PID must be our pid, LISTEN_FDNAMES), prints one line per
socket ("fd 3 name=NAME stream|datagram"), sends READY=1, then answers every
line a client sends on a stream socket, and every datagram, with "py: " and
what it got. SIGTERM ends it.

Runs with Debian's /usr/bin/python3, for which python3-systemd is installed.
"""
import selectors
import socket
import sys

from peer_args import handle_args  # test/peers/peer_args.py, next to this file

handle_args(__doc__)

from systemd import daemon  # noqa: E402  (after --help, so --help works without it)

passed = daemon.listen_fds_with_names()
if not passed:
    print("no sockets passed (LISTEN_FDS/LISTEN_PID)", file=sys.stderr)
    sys.exit(1)

selector = selectors.DefaultSelector()
for fd, name in sorted(passed.items()):
    sock = socket.socket(fileno=fd)  # family and type are read from the fd
    kind = "stream" if sock.type == socket.SOCK_STREAM else "datagram"
    print(f"fd {fd} name={name} {kind}", flush=True)
    selector.register(sock, selectors.EVENT_READ, kind)

daemon.notify("READY=1")

while True:
    for key, _ in selector.select():
        sock, kind = key.fileobj, key.data
        if kind == "stream":
            conn, _ = sock.accept()
            selector.register(conn, selectors.EVENT_READ, "connection")
        elif kind == "datagram":
            data, peer = sock.recvfrom(65536)
            sock.sendto(b"py: " + data, peer)
        else:
            data = sock.recv(65536)
            if data:
                sock.sendall(b"py: " + data)
            else:
                selector.unregister(sock)
                sock.close()
