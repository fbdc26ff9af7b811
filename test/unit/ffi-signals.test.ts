// Signal names and numbers (ffi/signals.ts) and the per-architecture tables.

import { expect, test } from "bun:test";
import { ARCH, nativeDefines, O, SIGNALS, SYS } from "../../ffi/constants.ts";
import { signalName, signalNumber } from "../../ffi/signals.ts";

test("signalNumber takes SIGTERM, TERM, 15, any case", () => {
  expect(signalNumber("SIGTERM")).toBe(15);
  expect(signalNumber("TERM")).toBe(15);
  expect(signalNumber("15")).toBe(15);
  expect(signalNumber(" sigkill ")).toBe(9);
  expect(signalNumber("abrt")).toBe(6);
  expect(signalNumber("SIGIOT")).toBe(6);
  expect(signalNumber("CHLD")).toBe(17);
});

test("real-time signals as glibc numbers them", () => {
  expect(signalNumber("SIGRTMIN")).toBe(34);
  expect(signalNumber("RTMIN+3")).toBe(37);
  expect(signalNumber("SIGRTMAX-1")).toBe(63);
  expect(signalNumber("SIGRTMAX")).toBe(64);
  expect(signalName(37)).toBe("SIGRTMIN+3");
  expect(signalName(64)).toBe("SIGRTMAX");
});

test("unknown signals", () => {
  expect(signalNumber("SIGFOO")).toBeNull();
  expect(signalNumber("0")).toBeNull();
  expect(signalNumber("65")).toBeNull();
  expect(signalNumber("RTMIN+40")).toBeNull();
  expect(signalName(99)).toBe("signal 99");
});

test("names round-trip for every numbered signal", () => {
  for (const [name, n] of Object.entries(SIGNALS)) {
    expect(signalName(n)).toBe(name);
    expect(signalNumber(name)).toBe(n);
  }
  for (let n = 34; n <= 64; n++) expect(signalNumber(signalName(n))).toBe(n);
});

test("per-architecture values", () => {
  if (ARCH === "x64") {
    expect(SYS.setuid).toBe(105);
    expect(O.DIRECTORY).toBe(0o200000);
  } else {
    expect(SYS.setuid).toBe(146);
    expect(O.DIRECTORY).toBe(0o40000);
  }
  // ffi/native.c is built for both on one host: each gets its own numbers
  const x64 = nativeDefines("x64");
  const arm64 = nativeDefines("arm64");
  expect([x64.SYS_setuid, x64.O_DIRECTORY, x64.SYS_exit, x64.EPOLL_EVENT_PACKED]).toEqual(["105", String(0o200000), "60", "1"]);
  expect([arm64.SYS_setuid, arm64.O_DIRECTORY, arm64.SYS_exit, arm64.EPOLL_EVENT_PACKED]).toEqual(["146", String(0o40000), "93", "0"]);
  for (const defines of [x64, arm64]) {
    expect(defines.SYS_close_range).toBe("436");
    expect(defines.SYS_clone3).toBe("435");
    expect(Object.values(defines).every((v) => /^-?\d+$/.test(v))).toBe(true);
  }
});
