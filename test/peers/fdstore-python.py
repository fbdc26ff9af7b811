#!/usr/bin/python3
"""A service that keeps a counter in the manager's fd store (FDSTORE=1).

At start it looks for a passed fd named "memo" (daemon.listen_fds_with_names):
if there is one, it is the memfd an earlier run of the service stored; the
counter in it is read, incremented and written back, and the same fd stored
again (the manager must not keep it twice). Otherwise a new memfd holding 1 is
made and stored with FDSTORE=1 and FDNAME=memo. It prints "generation N" and
the names of the fds it got, waits until the manager has handled the message
(BARRIER=1, as sd_notify_barrier does), sends READY=1, then:
  - with CRASH_ON_FIRST=1 and N == 1: exits 1 (a crash, for Restart=);
  - otherwise sleeps until SIGTERM.
"""
import os
import select
import sys
import time

from peer_args import handle_args  # test/peers/peer_args.py, next to this file

handle_args(__doc__)

from systemd import daemon  # noqa: E402


def barrier():
    """Returns once the manager has handled every message sent before."""
    r, w = os.pipe()
    daemon.notify("BARRIER=1", fds=[w])
    os.close(w)
    select.select([r], [], [], 5)
    os.close(r)


passed = daemon.listen_fds_with_names()
print("passed: " + " ".join(f"{fd}={name}" for fd, name in sorted(passed.items())), flush=True)
memo = next((fd for fd, name in passed.items() if name == "memo"), None)
if memo is None:
    memo = os.memfd_create("memo")
    generation = 1
else:
    generation = int(os.pread(memo, 32, 0).decode()) + 1
os.pwrite(memo, str(generation).encode().ljust(16), 0)
daemon.notify("FDSTORE=1\nFDNAME=memo", fds=[memo])
barrier()
print(f"generation {generation}", flush=True)
daemon.notify("READY=1")

if os.environ.get("CRASH_ON_FIRST") == "1" and generation == 1:
    sys.exit(1)
while True:
    time.sleep(3600)
