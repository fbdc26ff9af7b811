// Blocking system calls on helper threads (ffi/async.ts): results, errno, many at once.
import { describe, expect, test } from "bun:test";
import { syscallInThread, checkedSyscallInThread } from "../../ffi/async.ts";
import { E, SYS } from "../../ffi/constants.ts";
import { cString, SysError } from "../../ffi/libc.ts";
import { monotonicMs, boottimeMs } from "../../ffi/system.ts";

describe("syscallInThread", () => {
  test("returns the call's result (getpid on a helper thread is our pid)", async () => {
    const { result, errno } = await syscallInThread(SYS.getpid, []);
    expect(result).toBe(process.pid);
    expect(errno).toBe(0);
  });

  test("reports errno, and passes strings by pointer", async () => {
    const { result, errno } = await syscallInThread(SYS.umount2, [cString("/nonexistent/hearth-test"), 0]);
    expect(result).toBe(-1);
    expect([E.ENOENT, E.EPERM] as number[]).toContain(errno);
  });

  test("a hundred calls at once all settle, each with its own result", async () => {
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => syscallInThread(SYS.getpid, [])));
    expect(outcomes.every((o) => o.result === process.pid)).toBe(true);
  });

  test("checkedSyscallInThread throws SysError naming the call", async () => {
    const err = await checkedSyscallInThread("umount2", SYS.umount2, [cString("/nonexistent/x"), 0], "/nonexistent/x").catch((e) => e);
    expect(err).toBeInstanceOf(SysError);
    expect(String(err.message)).toContain("umount2 /nonexistent/x");
  });
});

describe("clocks", () => {
  test("CLOCK_MONOTONIC and CLOCK_BOOTTIME advance, boottime never behind monotonic", async () => {
    const m0 = monotonicMs(), b0 = boottimeMs();
    await Bun.sleep(20);
    const m1 = monotonicMs(), b1 = boottimeMs();
    expect(m1 - m0).toBeGreaterThanOrEqual(15);
    expect(b1 - b0).toBeGreaterThanOrEqual(15);
    expect(b0).toBeGreaterThanOrEqual(m0 - 1);
  });
});
