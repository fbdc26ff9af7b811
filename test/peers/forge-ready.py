#!/usr/bin/python3
"""usage: forge-ready.py [PAYLOAD]     (default payload: READY=1)

Sends a notify message to $TARGET_NOTIFY_SOCKET from an unrelated process.

The manager must reject it: the sender is not the service's main process (nor
in its control group), so NotifyAccess=main (or exec) refuses it. The target
is a path, or "@name" for the abstract namespace, as in NOTIFY_SOCKET.
Uses only the standard library (no libsystemd), so the sender's credentials
are plainly this process's. Exits 0 once the datagram is sent, 1 otherwise.
"""
import os
import socket
import sys

if len(sys.argv) > 1 and sys.argv[1] in ("--help", "-h"):
    print(__doc__.strip())
    sys.exit(0)

target = os.environ.get("TARGET_NOTIFY_SOCKET", "")
if not target:
    print("forge-ready: TARGET_NOTIFY_SOCKET is not set", file=sys.stderr)
    sys.exit(1)
payload = sys.argv[1] if len(sys.argv) > 1 else "READY=1"
address = "\0" + target[1:] if target.startswith("@") else target

try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.sendto(payload.encode(), address)
except OSError as e:
    print(f"forge-ready: cannot send to {target}: {e}", file=sys.stderr)
    sys.exit(1)
print(f"forge-ready: sent {payload!r} to {target} from pid {os.getpid()}", file=sys.stderr)
