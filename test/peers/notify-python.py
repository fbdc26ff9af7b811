#!/usr/bin/python3
"""A Type=notify test service using python3-systemd (systemd.daemon.notify).

Same behaviour as notify-libsystemd.c:
  1. sleeps $DELAY_MS milliseconds (default 0)
  2. notify "STATUS=starting"
  3. notify "READY=1\\nSTATUS=serving\\nMAINPID=<pid>"
  4. prints "tick N" on stdout every second; when WATCHDOG_USEC is set (and
     WATCHDOG_PID, if set, is our pid) and $PING is not "0", sends WATCHDOG=1
     every WATCHDOG_USEC/2
  5. SIGTERM/SIGINT: notify "STOPPING=1", exit 0

Runs with Debian's /usr/bin/python3 on purpose: python3-systemd is installed
for that interpreter, not for a pyenv or venv python that may come first in PATH.
"""
import os
import select
import signal
import sys
import time

from peer_args import handle_args  # test/peers/peer_args.py, next to this file

handle_args(__doc__)

from systemd import daemon  # noqa: E402  (after --help, so --help works without it)


def notify(msg: str) -> None:
    sent = daemon.notify(msg)
    shown = msg.replace("\n", "|")
    print(f"sent: {shown}" if sent else f"not sent: {shown}", file=sys.stderr, flush=True)


def watchdog_usec() -> int:
    """sd_watchdog_enabled(): WATCHDOG_USEC, if WATCHDOG_PID is unset or ours."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return 0
    if pid and pid != str(os.getpid()):
        return 0
    return int(usec)


terminate = False


def on_term(_sig, _frame) -> None:
    global terminate
    terminate = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
# time.sleep() resumes after a signal handler (PEP 475); a self-pipe that the
# signal writes to lets the wait below end at once instead.
wake_r, wake_w = os.pipe()
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)

delay_ms = os.environ.get("DELAY_MS", "0")
if delay_ms.isdigit() and int(delay_ms) > 0:
    time.sleep(int(delay_ms) / 1000)

notify("STATUS=starting")
notify(f"READY=1\nSTATUS=serving\nMAINPID={os.getpid()}")

wd = watchdog_usec()
pinging = wd > 0 and os.environ.get("PING") != "0"
if wd:
    print(f"watchdog: {wd} usec, {'pinging every half' if pinging else 'not pinging (PING=0)'}",
          file=sys.stderr, flush=True)

start = time.monotonic()
next_tick = start + 1.0
next_ping = start + wd / 2e6 if pinging else float("inf")
ticks = 0
while not terminate:
    now = time.monotonic()
    if now >= next_tick:
        ticks += 1
        print(f"tick {ticks}", flush=True)
        next_tick += 1.0
    if now >= next_ping:
        notify("WATCHDOG=1")
        next_ping = now + wd / 2e6
    ready, _, _ = select.select([wake_r], [], [], max(0.0, min(next_tick, next_ping) - time.monotonic()))
    if ready:
        os.read(wake_r, 512)

notify("STOPPING=1")
sys.exit(0)
