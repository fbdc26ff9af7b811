// Unix sockets (ffi/socket.ts): the notify socket with credentials and fds, and the
// control socket's stream side.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SO, SOL_SOCKET } from "../../ffi/constants.ts";
import { close, isCloseOnExec, isNonBlocking, listOpenFds, pipe, readNonBlocking, writeSome } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import {
  acceptConnection, connectUnixStream, getIntOption, listenUnixStream, NOTIFY_RECEIVE_BUFFER,
  DatagramReceiver, notifySocket, peerCredentials, type ReceivedDatagram, sendDatagram, unixAddress,
} from "../../ffi/socket.ts";
import { spawn } from "../../src/exec/spawner.ts";
import { reapChild } from "../../src/exec/reaper.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-socket-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = join(import.meta.dir, "..", "..");

/** One waiting datagram (its payload copied), or null. */
function recvWithCredentials(fd: number): ReceivedDatagram | null {
  const d = new DatagramReceiver(1).receive(fd)[0];
  return d ? { ...d, data: d.data.slice() } : null;
}

function text(data: Uint8Array): string {
  return Buffer.from(data).toString();
}

describe("notify socket", () => {
  test("is a non-blocking, close-on-exec datagram socket with SO_PASSCRED and a large buffer", () => {
    const path = join(dir, "notify-opts");
    const fd = notifySocket(path);
    try {
      expect(isNonBlocking(fd)).toBe(true);
      expect(isCloseOnExec(fd)).toBe(true);
      expect(getIntOption(fd, SOL_SOCKET, SO.PASSCRED)).toBe(1);
      // the kernel reports twice what was set (socket(7)); as root SO_RCVBUFFORCE passes rmem_max
      const expected = libc.geteuid() === 0 ? 2 * NOTIFY_RECEIVE_BUFFER : 1;
      expect(getIntOption(fd, SOL_SOCKET, SO.RCVBUF)).toBeGreaterThanOrEqual(expected);
      expect(statSync(path).isSocket()).toBe(true);
    } finally {
      close(fd);
    }
  });

  test("receives a datagram with the sender's credentials; null when empty", () => {
    const path = join(dir, "notify-creds");
    const fd = notifySocket(path);
    try {
      expect(recvWithCredentials(fd)).toBeNull();
      sendDatagram(path, "READY=1\nSTATUS=up\n");
      const got = recvWithCredentials(fd)!;
      expect(text(got.data)).toBe("READY=1\nSTATUS=up\n");
      expect(got).toMatchObject({ pid: process.pid, uid: libc.geteuid(), gid: libc.getegid(), fds: [], truncated: false });
      expect(recvWithCredentials(fd)).toBeNull();
    } finally {
      close(fd);
    }
  });

  test("fds passed with SCM_RIGHTS arrive open, close-on-exec, and lead to the same pipe", () => {
    const path = join(dir, "notify-fds");
    const fd = notifySocket(path);
    const p = pipe();
    try {
      sendDatagram(path, "FDSTORE=1\nFDNAME=pipe", [p.read, p.write]);
      const got = recvWithCredentials(fd)!;
      expect(got.fds).toHaveLength(2);
      for (const received of got.fds) expect(isCloseOnExec(received)).toBe(true);
      const [readEnd, writeEnd] = got.fds as [number, number];
      writeSome(writeEnd, Buffer.from("via passed fd"));
      const buf = new Uint8Array(64);
      const n = readNonBlocking(readEnd, buf);
      expect(typeof n === "number" ? text(buf.subarray(0, n)) : n).toBe("via passed fd");
      for (const received of got.fds) close(received);
    } finally {
      close(p.read);
      close(p.write);
      close(fd);
    }
  });

  test("an oversized datagram is marked truncated", () => {
    const path = join(dir, "notify-big");
    const fd = notifySocket(path);
    try {
      sendDatagram(path, "X".repeat(5000));
      const got = recvWithCredentials(fd)!;
      expect(got.truncated).toBe(true);
      expect(got.data.byteLength).toBe(4096);
    } finally {
      close(fd);
    }
  });

  test("a stale file at the path is replaced; abstract names work too", () => {
    const path = join(dir, "notify-stale");
    writeFileSync(path, "left over");
    const fd = notifySocket(path);
    close(fd);
    expect(statSync(path).isSocket()).toBe(true);

    const name = `@hearth-test-${process.pid}`;
    const abstract = notifySocket(name);
    try {
      sendDatagram(name, "WATCHDOG=1");
      expect(text(recvWithCredentials(abstract)!.data)).toBe("WATCHDOG=1");
    } finally {
      close(abstract);
    }
  });

  test("credentials of a sender running as another user (a child spawned as uid 65534)", async () => {
    if (libc.geteuid() !== 0) return;
    const name = `@hearth-test-child-${process.pid}`;
    const fd = notifySocket(name);
    chmodSync(dir, 0o755); // the sender runs as nobody
    const script = join(dir, "sender.ts");
    writeFileSync(script, `import { sendDatagram } from "${root}/ffi/socket.ts"; sendDatagram("${name}", "READY=1");`);
    try {
      const result = spawn({
        path: process.execPath, argv: ["bun", script], env: { BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
        uid: 65534, gid: 65534, cwd: "/",
      });
      if (!result.ok) throw new Error(result.message);
      let got = recvWithCredentials(fd);
      for (let i = 0; !got && i < 2500; i++) {
        await Bun.sleep(2);
        got = recvWithCredentials(fd);
      }
      expect(got).toMatchObject({ pid: result.pid, uid: 65534, gid: 65534 });
      for (let i = 0; !reapChild(result.pid) && i < 2500; i++) await Bun.sleep(2);
    } finally {
      close(fd);
    }
  });
});

describe("stream sockets", () => {
  test("the socket file appears under its name only once it listens (made as NAME.new, renamed), over a stale one", () => {
    const path = join(dir, "atomic.sock");
    writeFileSync(path, "stale"); // a leftover of an earlier run
    const listener = listenUnixStream(path, 0o666);
    try {
      expect(statSync(path).isSocket()).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o666);
      expect(existsSync(`${path}.new`)).toBe(false);
      const client = connectUnixStream(path);
      expect(acceptConnection(listener)).not.toBeNull();
      close(client);
    } finally {
      close(listener);
    }
    // A name too long for a staging name is bound as it is.
    const long = join(dir, "l".repeat(107 - dir.length - 2));
    expect(Buffer.byteLength(long)).toBe(106);
    close(listenUnixStream(long, 0o600));
    expect(statSync(long).isSocket()).toBe(true);
  });

  test("listen with a mode, connect, accept, peer credentials, data both ways", () => {
    const path = join(dir, "control.sock");
    const listener = listenUnixStream(path, 0o600);
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(isNonBlocking(listener)).toBe(true);
      expect(acceptConnection(listener)).toBeNull();
      const client = connectUnixStream(path);
      const server = acceptConnection(listener)!;
      expect(server).toBeGreaterThan(2);
      expect(isNonBlocking(server) && isCloseOnExec(server)).toBe(true);
      expect(isNonBlocking(client)).toBe(false);
      expect(peerCredentials(server)).toEqual({ pid: process.pid, uid: libc.geteuid(), gid: libc.getegid() });
      writeSome(client, Buffer.from('{"verb":"list"}\n'));
      const buf = new Uint8Array(64);
      const n = readNonBlocking(server, buf);
      expect(typeof n === "number" ? text(buf.subarray(0, n)) : n).toBe('{"verb":"list"}\n');
      close(client);
      expect(readNonBlocking(server, buf)).toBe("eof");
      close(server);
    } finally {
      close(listener);
    }
  });

  test("connecting to nothing fails and leaks no fd", () => {
    const before = listOpenFds();
    expect(() => connectUnixStream(join(dir, "nobody-listens"))).toThrow(/connect/);
    expect(listOpenFds()).toEqual(before);
  });
});

test("unixAddress: lengths and the abstract namespace", () => {
  expect(unixAddress("/run/a").length).toBe(2 + 6 + 1);
  const abstract = unixAddress("@name");
  expect(abstract.length).toBe(2 + 1 + 4);
  expect(abstract.bytes[2]).toBe(0);
  expect(() => unixAddress(`/${"x".repeat(107)}`)).toThrow(RangeError);
  expect(() => unixAddress("")).toThrow(RangeError);
});
