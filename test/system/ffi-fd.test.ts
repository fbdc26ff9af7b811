// ffi/fd.ts: pipes, non-blocking reads and writes, /dev/null, /proc fd listing.

import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { E } from "../../ffi/constants.ts";
import {
  close, devNull, isCloseOnExec, isNonBlocking, listOpenFds, pipe, readNonBlocking, setNonBlocking, writeSome,
} from "../../ffi/fd.ts";
import { SysError } from "../../ffi/libc.ts";

describe("pipe", () => {
  test("both ends close-on-exec; only the read end non-blocking", () => {
    const p = pipe();
    expect(isCloseOnExec(p.read)).toBe(true);
    expect(isCloseOnExec(p.write)).toBe(true);
    expect(isNonBlocking(p.read)).toBe(true);
    expect(isNonBlocking(p.write)).toBe(false);
    close(p.read);
    close(p.write);
  });

  test("read: again, data, eof", () => {
    const p = pipe();
    const buf = new Uint8Array(16);
    expect(readNonBlocking(p.read, buf)).toBe("again");
    expect(writeSome(p.write, Buffer.from("hello"))).toBe(5);
    expect(readNonBlocking(p.read, buf)).toBe(5);
    expect(Buffer.from(buf.subarray(0, 5)).toString()).toBe("hello");
    close(p.write);
    expect(readNonBlocking(p.read, buf)).toBe("eof");
    close(p.read);
  });

  test("write: partial and again on a full non-blocking pipe", () => {
    const p = pipe();
    setNonBlocking(p.write, true);
    const chunk = new Uint8Array(1 << 20);
    const first = writeSome(p.write, chunk);
    expect(typeof first === "number" && first < chunk.byteLength).toBe(true);
    expect(writeSome(p.write, chunk)).toBe("again");
    setNonBlocking(p.write, false);
    expect(isNonBlocking(p.write)).toBe(false);
    close(p.read);
    expect(() => writeSome(p.write, chunk)).toThrow(/EPIPE/);
    close(p.write);
  });
});

test("devNull: one shared fd on /dev/null", () => {
  const fd = devNull();
  expect(devNull()).toBe(fd);
  expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe("/dev/null");
  expect(isCloseOnExec(fd)).toBe(true);
});

test("listOpenFds follows opens and closes", () => {
  const p = pipe();
  expect(listOpenFds()).toEqual(expect.arrayContaining([0, 1, 2, p.read, p.write]));
  close(p.read);
  close(p.write);
  expect(listOpenFds()).not.toContain(p.read);
  expect(listOpenFds(process.pid)).not.toContain(p.write);
});

test("closing a bad fd is a bug: SysError EBADF", () => {
  try {
    close(987654);
    throw new Error("no error");
  } catch (error) {
    expect(error).toBeInstanceOf(SysError);
    expect((error as SysError).errno).toBe(E.EBADF);
    expect((error as SysError).message).toBe("close fd 987654: Bad file descriptor (EBADF)");
  }
});
