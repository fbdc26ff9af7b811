// The activator (src/sockets/activator.ts) decides nothing: when accept(2) fails it tells
// the engine, which decides when the socket is watched again — it never re-watches a
// socket on a timer of its own (that overrode max_connections and stopped templates).
import { afterAll, expect, spyOn, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SocketSection } from "../../src/config/types.ts";
import type { EngineEvent } from "../../src/engine/types.ts";
import { SocketActivator } from "../../src/sockets/activator.ts";
import { close } from "../../ffi/fd.ts";
import type { ReadyCallback, Reactor } from "../../ffi/reactor.ts";
import { service } from "../support/units.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-activator-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("accept(2) failing is an event for the engine; the activator sets no timer of its own", () => {
  const callbacks = new Map<number, ReadyCallback>();
  const reactor: Reactor = {
    watch: (fd, _interest, cb) => void callbacks.set(fd, cb),
    unwatch: (fd) => void callbacks.delete(fd),
    size: 0, staleEventsDropped: 0,
  };
  const events: EngineEvent[] = [];
  const socket = { listen_stream: join(dir, "echo.sk"), accept: true, socket_mode: 0o666, fd_name: null, service: "echo@" } as SocketSection;
  const activator = new SocketActivator([{ ...service("echo"), sockets: [socket] }], {
    reactor, dispatch: (e) => void events.push(e), log: () => {},
  });
  expect(activator.open().failed).toEqual([]);
  activator.setWatching("echo", 0, true);
  const [[fd, onReady]] = [...callbacks];
  close(fd!); // accept4 on it now fails (EBADF), as it would for want of fds
  const timers = spyOn(globalThis, "setTimeout");
  try {
    onReady!({ readable: true, writable: false, hangup: false });
    expect(events).toEqual([expect.objectContaining({ type: "accept-failed", unit: "echo", index: 0 })]);
    expect(timers).not.toHaveBeenCalled();
  } finally {
    timers.mockRestore();
  }
});
