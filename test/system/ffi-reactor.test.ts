// The readiness bridge (ffi/reactor.ts) with pipes.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, pipe, readNonBlocking, setNonBlocking, writeSome, type Pipe } from "../../ffi/fd.ts";
import { getReactor, type Readiness } from "../../ffi/reactor.ts";

const reactor = getReactor();
const opened: Pipe[] = [];

function newPipe(): Pipe {
  const p = pipe();
  opened.push(p);
  return p;
}

afterEach(() => {
  for (const p of opened.splice(0)) {
    for (const fd of [p.read, p.write]) {
      reactor.unwatch(fd);
      try {
        close(fd);
      } catch {
        // closed by the test
      }
    }
  }
});

/** Resolves on the next event loop turn that finds `predicate` true, or fails after 2 s. */
async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(1);
  }
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe("reactor", () => {
  test("reports a readable pipe, and again after re-arming", async () => {
    const p = newPipe();
    const seen: string[] = [];
    const buf = new Uint8Array(64);
    reactor.watch(p.read, { read: true }, (ready) => {
      expect(ready.readable).toBe(true);
      const n = readNonBlocking(p.read, buf);
      if (typeof n === "number") seen.push(Buffer.from(buf.subarray(0, n)).toString());
    });
    writeSome(p.write, Buffer.from("one"));
    await until(() => seen.length === 1);
    writeSome(p.write, Buffer.from("two"));
    await until(() => seen.length === 2);
    expect(seen).toEqual(["one", "two"]);
  });

  test("one event per readiness: an undrained fd is reported again only after the callback", async () => {
    const p = newPipe();
    let calls = 0;
    reactor.watch(p.read, { read: true }, () => {
      calls++; // reads nothing: level-triggered, so re-arming reports it again
      if (calls === 3) reactor.unwatch(p.read);
    });
    writeSome(p.write, Buffer.from("x"));
    await until(() => calls === 3);
    await Bun.sleep(20);
    expect(calls).toBe(3);
  });

  test("hangup when the writer closes, then eof", async () => {
    const p = newPipe();
    let last: Readiness | null = null;
    reactor.watch(p.read, { read: true }, (ready) => {
      last = ready;
      reactor.unwatch(p.read);
    });
    close(p.write);
    await until(() => last !== null);
    expect(last!.hangup).toBe(true);
    expect(readNonBlocking(p.read, new Uint8Array(8))).toBe("eof");
    opened.splice(opened.indexOf(p), 1);
    close(p.read);
  });

  test("write interest", async () => {
    const p = newPipe();
    setNonBlocking(p.write, true);
    let writable = false;
    reactor.watch(p.write, { write: true }, (ready) => {
      writable = ready.writable;
      reactor.unwatch(p.write);
    });
    await until(() => writable);
  });

  test("no event after unwatch, and a stale event of an earlier watch is dropped", async () => {
    const p = newPipe();
    let oldCalls = 0;
    let newCalls = 0;
    const droppedBefore = reactor.staleEventsDropped;
    reactor.watch(p.read, { read: true }, () => oldCalls++);
    writeSome(p.write, Buffer.from("x"));
    spin(20); // the epoll thread posts the event meanwhile; it waits in the JS queue
    reactor.unwatch(p.read);
    reactor.watch(p.read, { read: true }, () => {
      newCalls++;
      reactor.unwatch(p.read);
    });
    await until(() => newCalls === 1);
    await Bun.sleep(20);
    expect(oldCalls).toBe(0);
    expect(newCalls).toBe(1);
    expect(reactor.staleEventsDropped).toBe(droppedBefore + 1);
  });

  test("watch on a watched fd replaces its callback and interest", async () => {
    const p = newPipe();
    const calls: string[] = [];
    reactor.watch(p.read, { read: true }, () => calls.push("first"));
    reactor.watch(p.read, { read: true }, () => {
      calls.push("second");
      reactor.unwatch(p.read);
    });
    writeSome(p.write, Buffer.from("x"));
    await until(() => calls.length > 0);
    expect(calls).toEqual(["second"]);
  });

  test("an exception in a callback is logged and the fd stays watched", async () => {
    const p = newPipe();
    let calls = 0;
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      reactor.watch(p.read, { read: true }, () => {
        calls++;
        if (calls === 1) throw new Error("boom");
        reactor.unwatch(p.read);
      });
      writeSome(p.write, Buffer.from("x"));
      await until(() => calls === 2);
    } finally {
      console.error = original;
    }
    expect(logged.length).toBe(1);
    expect(String(logged[0])).toContain("boom");
  });

  test("watching an fd epoll cannot watch throws", () => {
    expect(() => reactor.watch(99999, { read: true }, () => {})).toThrow(/epoll_ctl/);
  });
});

// Whether a watched fd keeps the process alive, in a child bun process.
describe("reactor and process lifetime", () => {
  const root = join(import.meta.dir, "..", "..");
  const script = (unwatch: boolean) => `
import { pipe } from "${root}/ffi/fd.ts";
import { getReactor } from "${root}/ffi/reactor.ts";
const p = pipe();
getReactor().watch(p.read, { read: true }, () => {});
${unwatch ? "getReactor().unwatch(p.read);" : ""}
`;

  async function exitsWithin(ms: number, unwatch: boolean): Promise<boolean> {
    const dir = mkdtempSync(join(tmpdir(), "hearth-reactor-"));
    try {
      writeFileSync(join(dir, "main.ts"), script(unwatch));
      const child = Bun.spawn([process.execPath, join(dir, "main.ts")], { stderr: "inherit" });
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(ms).then(() => false)]);
      if (!exited) child.kill(9);
      await child.exited;
      return exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("a watched fd keeps the process alive", async () => {
    expect(await exitsWithin(1500, false)).toBe(false);
  });

  test("with nothing watched the process exits, reactor thread or not", async () => {
    expect(await exitsWithin(5000, true)).toBe(true);
  });
});
