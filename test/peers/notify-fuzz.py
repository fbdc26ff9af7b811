#!/usr/bin/python3
"""usage: notify-fuzz.py SEED SECONDS [MANAGER_PID | parent]

Sends malformed and random notify datagrams to $TARGET_NOTIFY_SOCKET (a path, or
"@name"; default $NOTIFY_SOCKET, as a service has it) for SECONDS, from a sequence
fixed by SEED: random bytes, oversized datagrams (up to 200 KB), up to 253 fds
through SCM_RIGHTS, bad UTF-8, lines without "=", NUL bytes, 10,000 lines, forged
and out-of-range fields (MAINPID=0, junk, pids past pid_max, MANAGER_PID; never 1
nor a pid that may be someone else's), and datagrams from short-lived children that are gone
before the manager reads them. A full receive queue is waited on up to 1 s per
datagram, then skipped. Prints "sent N skipped M" and exits 0."""
import os
import random
import socket
import sys
import time

if len(sys.argv) < 3 or sys.argv[1] in ("--help", "-h"):
    print(__doc__.strip())
    sys.exit(0 if len(sys.argv) > 1 else 2)
seed, seconds = int(sys.argv[1]), float(sys.argv[2])
manager_pid = sys.argv[3] if len(sys.argv) > 3 else "0"
if manager_pid == "parent":  # run as a service: the manager is our parent
    manager_pid = str(os.getppid())
target = os.environ.get("TARGET_NOTIFY_SOCKET") or os.environ.get("NOTIFY_SOCKET", "")
address = "\0" + target[1:] if target.startswith("@") else target
rng = random.Random(seed)

KEYS = ["READY", "RELOADING", "STOPPING", "STATUS", "ERRNO", "BUSERROR", "MAINPID", "WATCHDOG",
        "WATCHDOG_USEC", "EXTEND_TIMEOUT_USEC", "FDSTORE", "FDSTOREREMOVE", "FDNAME", "FDPOLL",
        "BARRIER", "MONOTONIC_USEC", "NOTIFYACCESS", "X_CUSTOM", "ready", "READY ", ""]
WEIRD = ["1", "0", "-1", "", " ", "trigger", "18446744073709551616", "99999999999999999999999999",
         "4194305", "2147483648", "1e9", "0x10", "NaN", "Infinity", "\u00e9\u00e8", "a" * 300]


def weird_value() -> str:
    return rng.choice(WEIRD + [str(rng.randrange(0, 2**64)), "x" * rng.randrange(0, 5000)])


# Never 1, nor a value that may name a process of someone else: pid_max is at most 2^22.
MAINPIDS = ["0", "", "-1", "abc", " 7", "4194305", "2147483647", "2147483648", "99999999999999999999", manager_pid]


def fields() -> bytes:
    lines = []
    for _ in range(rng.randrange(1, 12)):
        key = rng.choice(KEYS)
        value = rng.choice(MAINPIDS) if key.strip().upper() == "MAINPID" else weird_value()
        lines.append(f"{key}={value}")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def bad_utf8() -> bytes:
    junk = rng.choice([b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80"])
    return b"STATUS=" + junk + b"\nREADY=1"


GENERATORS = [
    lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(0, 512))),
    fields,
    lambda: b"\n".join(b"no equals sign %d" % i for i in range(rng.randrange(1, 20))),
    lambda: b"READY=1\x00STATUS=nul\x00" + bytes(rng.randrange(1, 64)),
    bad_utf8,
    lambda: b"STATUS=" + b"o" * rng.choice([4096, 65536, 200_000]),
    lambda: b"\n".join([b"X=1"] * 10_000),
    lambda: b"",
    lambda: b"\n\n\n=\n==\n=1\nREADY\n",
]

devnull = os.open("/dev/null", os.O_RDONLY)
sent = skipped = 0


def send(s: socket.socket, payload: bytes, nfds: int) -> None:
    global sent, skipped
    try:
        if nfds:
            fds = [os.dup(devnull) for _ in range(nfds)]
            try:
                socket.send_fds(s, [payload], fds, address=address)
            finally:
                for fd in fds:
                    os.close(fd)
        else:
            s.sendto(payload, address)
        sent += 1
    except (TimeoutError, BlockingIOError, ConnectionRefusedError, OSError):
        skipped += 1


with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.settimeout(1.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        payload = rng.choice(GENERATORS)()
        nfds = rng.choice([0, 0, 0, 1, rng.randrange(2, 254)]) if rng.random() < 0.3 else 0
        if rng.random() < 0.02:
            # From a child that exits at once: its pid is gone when the manager reads.
            pid = os.fork()
            if pid == 0:
                send(s, payload, nfds)
                os._exit(0)
            os.waitpid(pid, 0)
            sent += 1
        else:
            send(s, payload, nfds)
print(f"sent {sent} skipped {skipped}", flush=True)
