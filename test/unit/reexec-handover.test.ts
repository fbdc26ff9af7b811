// The file a manager hands its re-executed binary (src/manager/reexec.ts): read once and
// removed; anything else than what this binary wrote (corrupt, another version, not a
// regular file, fds that cannot be fds) is refused with the reason, never thrown.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HANDOVER_VERSION, handedFds, readHandover, writeHandover, type ManagerHandover } from "../../src/manager/reexec.ts";

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "handover-"));
  dirs.push(d);
  return d;
}

const handover = (): ManagerHandover => ({
  format: "hearth-reexec", version: HANDOVER_VERSION, engine: "{}", engineNow: 1234.5, monoMs: 99,
  outputs: { outputs: [{ unit: "web", read: 10, write: 11, pid: 42, lines: [{ time: 1, unit: "web", priority: 6, stream: "stdout", text: "hi" }] }], manager: [], sources: [] },
  sockets: { listening: [{ unit: "web", index: 0, fd: 12 }], connections: [{ id: 1, fd: 13, peer: { family: "inet", ip: [127, 0, 0, 1], port: 4000 } }], nextConnection: 2 },
  fdStore: [{ unit: "web", fd: 14, name: "memo", polled: true }],
});

describe("the re-exec handover file", () => {
  test("what was written is read back once, and names every fd to keep", () => {
    const path = join(dir(), "reexec.state");
    writeHandover(path, handover());
    const read = readHandover(path);
    expect(read).toEqual({ handover: handover() });
    expect(handedFds(handover())).toEqual([10, 11, 12, 13, 14]);
    expect(existsSync(path)).toBe(false); // read once
    expect(readHandover(path)).toMatchObject({ error: expect.stringContaining("cannot read") });
  });

  test("a file left over at the path is replaced, a link there is not followed", () => {
    const d = dir();
    const target = join(d, "elsewhere");
    writeFileSync(target, "keep");
    symlinkSync(target, join(d, "reexec.state"));
    writeHandover(join(d, "reexec.state"), handover());
    expect(Bun.file(target).size).toBe(4);
  });

  test("anything else is refused with the reason", () => {
    const d = dir();
    const refuse = (text: string) => {
      writeFileSync(join(d, "s"), text);
      return readHandover(join(d, "s"));
    };
    expect(refuse('{"format":"hearth-reexec"')).toMatchObject({ error: expect.stringContaining("not readable") });
    expect(refuse("[]")).toMatchObject({ error: expect.stringContaining("not a hearth re-exec state") });
    expect(refuse(JSON.stringify({ ...handover(), version: 7 }))).toMatchObject({ error: expect.stringContaining("version 7") });
    expect(refuse(JSON.stringify({ ...handover(), engine: 3 }))).toMatchObject({ error: expect.stringContaining("no engine state") });
    const badFd = handover();
    badFd.sockets.listening[0]!.fd = -1;
    expect(refuse(JSON.stringify(badFd))).toMatchObject({ error: expect.stringContaining("malformed") });
    expect(refuse(JSON.stringify({ ...handover(), fdStore: undefined }))).toMatchObject({ error: expect.stringContaining("malformed") });
    mkdirSync(join(d, "a-dir"));
    expect(readHandover(join(d, "a-dir"))).toMatchObject({ error: expect.any(String) });
  });
});
