// The notify socket's server (src/notify/server.ts) on a real socket: datagrams taken
// many per system call are handed on one by one, in the order they were sent, each
// with its own fds; what is refused or malformed in a batch costs nothing to the rest,
// and no fd is left open that the receiver was not given.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, isCloseOnExec, listOpenFds, pipe } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import { DatagramReceiver, notifySocket, sendDatagram } from "../../ffi/socket.ts";
import type { Logger } from "../../src/log/manager-log.ts";
import { NotifyServer, type NotifyArrival } from "../../src/notify/server.ts";
import { poll } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-notify-server-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    unitName: "hearth", level: "debug", enabled: () => true,
    debug: (m) => void lines.push(`debug: ${m}`), info: (m) => void lines.push(`info: ${m}`),
    notice: (m) => void lines.push(`notice: ${m}`), warning: (m) => void lines.push(`warning: ${m}`),
    err: (m) => void lines.push(`err: ${m}`), unit: () => logger,
  };
  return logger;
}

describe("the notify server", () => {
  test("hands on a batch of datagrams in the order sent, each with its own fds; refused ones close theirs", () => {
    const path = join(dir, "batch.sock");
    const lines: string[] = [];
    const got: NotifyArrival[] = [];
    const server = new NotifyServer(path, recordingLogger(lines), (m) => {
      got.push(m);
      // A datagram sent meanwhile, and a drain from within a delivery (as the reaper's):
      // it must neither overtake the rest of the batch nor overwrite its buffers.
      if (m.msg.status === "one") sendDatagram(path, "STATUS=late");
      server.drain();
    });
    const stored = pipe(), closedByServer = pipe(), barrier = pipe(), malformed = pipe();
    const openBefore = listOpenFds();
    try {
      // Sent before the server runs: all ten wait in the socket's queue for one drain.
      sendDatagram(path, "STATUS=one");
      sendDatagram(path, "FDSTORE=1\nFDNAME=kept", [stored.read]);
      sendDatagram(path, "READY\0broken", [malformed.read]);
      sendDatagram(path, "STATUS=two\nMAINPID=1", [closedByServer.read]);
      sendDatagram(path, "BARRIER=1", [barrier.read]);
      sendDatagram(path, "STATUS=three");
      sendDatagram(path, "READY=1");
      sendDatagram(path, "STATUS=four");
      server.drain();
      expect(got.map((m) => m.msg.status ?? (m.msg.ready ? "READY" : m.msg.fdStore ? `FDSTORE ${m.msg.fdName}` : "?")))
        .toEqual(["one", "FDSTORE kept", "two", "three", "READY", "four", "late"]);
      expect(got.every((m) => m.pid === process.pid && m.uid === libc.geteuid())).toBe(true);
      expect(got[2]!.msg.mainPid).toBe(1);
      // The stored fd is the receiver's (open, close-on-exec); the others were closed.
      expect(got[1]!.fds).toHaveLength(1);
      const [kept] = got[1]!.fds as [number];
      expect(isCloseOnExec(kept)).toBe(true);
      expect(got.filter((m) => m !== got[1]).every((m) => m.fds.length === 0)).toBe(true);
      expect(lines.filter((l) => l.includes("malformed datagram from PID"))).toHaveLength(1);
      // Every other fd that came along was closed: only the one handed on is new.
      expect(listOpenFds()).toEqual([...openBefore, kept].sort((x, y) => x - y));
      close(kept);
    } finally {
      server.close();
      for (const p of [stored, closedByServer, barrier, malformed]) { close(p.read); close(p.write); }
    }
  });

  test("a flood longer than one batch arrives whole and in order, across calls and wake-ups", async () => {
    const path = join(dir, "flood.sock");
    const got: string[] = [];
    const server = new NotifyServer(path, recordingLogger([]), (m) => void got.push(m.msg.status ?? "?"));
    const count = 300;
    // Blocking sends from another process: the kernel's queue is short, so the sender
    // waits for the server, which drains on its wake-ups (at most a bounded batch each).
    const sender = Bun.spawn(["/usr/bin/python3", "-c", `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
for i in range(1, ${count + 1}):
    s.send(b"STATUS=%d" % i)
`, path]);
    try {
      await poll("every datagram handed on", () => got.length >= count, { timeoutMs: 20_000 });
      expect(await sender.exited).toBe(0);
      expect(got).toEqual(Array.from({ length: count }, (_, i) => String(i + 1)));
    } finally {
      sender.kill();
      server.close();
    }
  });
});

describe("the batch receiver", () => {
  test("takes at most its capacity per call, in order, each datagram with its own fds", () => {
    const path = join(dir, "receiver.sock");
    const fd = notifySocket(path);
    const a = pipe(), b = pipe();
    try {
      const receiver = new DatagramReceiver(3);
      expect(receiver.receive(fd)).toEqual([]);
      sendDatagram(path, "N=1", [a.read]);
      sendDatagram(path, "N=2");
      sendDatagram(path, "N=3", [b.read, b.write]);
      sendDatagram(path, "N=4");
      const first = receiver.receive(fd);
      expect(first.map((d) => Buffer.from(d.data).toString())).toEqual(["N=1", "N=2", "N=3"]);
      expect(first.map((d) => d.fds.length)).toEqual([1, 0, 2]);
      expect(first.every((d) => d.pid === process.pid && !d.truncated)).toBe(true);
      for (const d of first) for (const passed of d.fds) close(passed);
      const second = receiver.receive(fd, 2);
      expect(second.map((d) => Buffer.from(d.data).toString())).toEqual(["N=4"]);
      expect(receiver.receive(fd)).toEqual([]);
    } finally {
      close(fd);
      for (const p of [a, b]) { close(p.read); close(p.write); }
    }
  });
});
