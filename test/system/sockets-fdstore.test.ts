// The fd store (src/sockets/fd-store.ts) and the notify socket's part in it: real fds,
// real datagrams, the real reactor.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { F, O } from "../../ffi/constants.ts";
import { close, openFile, pipe } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import { getReactor } from "../../ffi/reactor.ts";
import { sendDatagram } from "../../ffi/socket.ts";
import { sameOpenFile } from "../../ffi/net.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { NotifyServer, type NotifyArrival } from "../../src/notify/server.ts";
import { FdStore } from "../../src/sockets/fd-store.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-fdstore-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function isOpen(fd: number): boolean {
  return libc.fcntl(fd, F.GETFD, 0) >= 0;
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(5);
  if (!check()) throw new Error(`${what}: not within 1 s`);
}

function newStore() {
  const lines: string[] = [];
  const store = new FdStore(getReactor(), (unit, level, text) => lines.push(`${unit} ${level}: ${text}`));
  return { store, lines };
}

describe("FdStore", () => {
  test("keeps fds up to fd_store_max, each open file once; closes the rest", () => {
    const { store, lines } = newStore();
    const a = pipe(), b = pipe(), c = pipe();
    const again = libc.dup(a.read); // the same open file as a.read
    expect(sameOpenFile(a.read, again)).toBe(true);
    expect(sameOpenFile(a.read, b.read)).toBe(false);
    store.add("svc", 2, [a.read, again, b.read, c.read], "x", true);
    expect(store.entries("svc").map((s) => s.fd)).toEqual([a.read, b.read]);
    expect(isOpen(again)).toBe(false);
    expect(isOpen(c.read)).toBe(false);
    expect(lines).toEqual(['svc warning: FDSTORE=1: fd "x" not kept: the store is full (fd_store_max = 2)']);
    store.release("svc");
    expect(isOpen(a.read) || isOpen(b.read)).toBe(false);
    expect(store.entries("svc")).toEqual([]);
    [a.write, b.write, c.write].forEach((fd) => close(fd));
  });

  test("FDSTOREREMOVE closes the fds of one name", () => {
    const { store } = newStore();
    const a = pipe(), b = pipe();
    store.add("svc", 8, [a.read], "keep", true);
    store.add("svc", 8, [b.read], "drop", true);
    store.remove("svc", "drop");
    expect(store.entries("svc").map((s) => s.name)).toEqual(["keep"]);
    expect(isOpen(b.read)).toBe(false);
    store.closeAll();
    expect(isOpen(a.read)).toBe(false);
    [a.write, b.write].forEach((fd) => close(fd));
  });

  test("an fd whose peer hangs up leaves the store, unless stored with FDPOLL=0", async () => {
    const { store, lines } = newStore();
    const polled = pipe(), unpolled = pipe();
    store.add("svc", 8, [polled.read], "polled", true);
    store.add("svc", 8, [unpolled.read], "unpolled", false);
    close(polled.write);
    close(unpolled.write);
    await until("the hang-up to be seen", () => store.entries("svc").length === 1);
    expect(store.entries("svc").map((s) => s.name)).toEqual(["unpolled"]);
    expect(isOpen(polled.read)).toBe(false);
    expect(lines).toContain('svc info: stored fd "polled" hung up: removed from the fd store');
    store.closeAll();
  });

  test("a regular file cannot be polled and is kept all the same", () => {
    const { store } = newStore();
    const fd = openFile(import.meta.path, O.RDONLY); // epoll refuses regular files (EPERM)
    store.add("svc", 1, [fd], "file", true);
    expect(store.entries("svc")).toEqual([{ fd, name: "file", polled: false }]);
    store.closeAll();
  });
});

describe("the notify socket hands FDSTORE fds on", () => {
  test("with FDSTORE=1 the fds go to the manager; without, and with BARRIER=1, they are closed", async () => {
    const arrivals: NotifyArrival[] = [];
    const log = createLogger({ level: "err", sink: () => {} });
    const server = new NotifyServer(join(dir, "notify.sock"), log, (a) => arrivals.push(a));
    try {
      const p = pipe();
      sendDatagram(server.path, "FDSTORE=1\nFDNAME=conn", [p.read]);
      sendDatagram(server.path, "STATUS=no store", [p.read]);
      await until("two messages", () => arrivals.length === 2);
      const [stored, plain] = arrivals;
      expect(stored!.msg.fdName).toBe("conn");
      expect(stored!.fds.length).toBe(1);
      expect(sameOpenFile(stored!.fds[0]!, p.read)).toBe(true);
      expect(plain!.fds).toEqual([]);

      // BARRIER=1: the fd is closed at once, so the sender's end sees EOF.
      const barrier = pipe();
      sendDatagram(server.path, "BARRIER=1", [barrier.write]);
      close(barrier.write);
      const buf = new Uint8Array(1);
      await until("the barrier's pipe to close", () => Number(libc.read(barrier.read, buf, 1)) === 0);
      close(barrier.read);
      stored!.fds.forEach((fd) => close(fd));
      close(p.read);
      close(p.write);
    } finally {
      server.close();
    }
  });
});
