// The persistent log's files (src/log/persistent.ts), in a temporary directory: batched
// writes, the previous boot's files moved aside, the way down written at once, the cap.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLOSED_MARK, PersistentLog, previousBootFiles, WAY_DOWN_MARK } from "../../src/log/persistent.ts";
import type { LogRecord } from "../../src/log/ring.ts";

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function scratch() {
  const d = mkdtempSync(join(tmpdir(), "hearth-plog-"));
  dirs.push(d);
  return d;
}
const rec = (text: string, unit = "svc"): LogRecord => ({ time: Date.UTC(2026, 11, 6, 6, 0, 0), unit, priority: 6, stream: "stdout", text, pid: 42 });

/** A log whose flush timer is ours to fire. */
function openWithTimer(dir: string, extra: { maxBytes?: number; keep?: number } = {}) {
  const timers: (() => void)[] = [];
  const errors: unknown[] = [];
  const log = PersistentLog.open({ dir, ...extra, onError: (e) => errors.push(e), setTimer: (fn) => timers.push(fn) });
  return { log: log!, timers, errors };
}

describe("the persistent log", () => {
  test("lines wait in memory and go out in one write when the flush interval ends", () => {
    const dir = scratch();
    const { log, timers } = openWithTimer(dir);
    log.append(rec("one"));
    log.append(rec("two"));
    expect(timers.length).toBe(1); // one timer for the batch, not one per line
    expect(existsSync(join(dir, "boot.log")) ? readFileSync(join(dir, "boot.log"), "utf8") : "").toBe("");
    timers[0]!();
    expect(readFileSync(join(dir, "boot.log"), "utf8")).toBe(
      "Dec 06 06:00:00.000000 svc[42]: one\nDec 06 06:00:00.000000 svc[42]: two\n");
  });

  test("the next boot moves this boot's files to boot-1.log, dropping the older ones", () => {
    const dir = scratch();
    writeFileSync(join(dir, "boot-1.log"), "two boots ago\n");
    writeFileSync(join(dir, "boot.log.1"), "last boot, older part\n");
    writeFileSync(join(dir, "boot.log"), "last boot\n");
    const { log } = openWithTimer(dir);
    log.append(rec("this boot"));
    log.flush();
    expect(readdirSync(dir).sort()).toEqual(["boot-1.log", "boot-1.log.1", "boot.log"]);
    expect(previousBootFiles(dir).map((f) => readFileSync(f, "utf8"))).toEqual(["last boot, older part\n", "last boot\n"]);
  });

  test("the way down is written at once, with what waited before it", () => {
    const dir = scratch();
    const { log } = openWithTimer(dir);
    log.append(rec("before"));
    log.wayDown("poweroff", "hearth ctl poweroff\nfrom PID 7");
    const text = readFileSync(join(dir, "boot.log"), "utf8");
    expect(text).toContain("svc[42]: before\n");
    expect(text.endsWith(`${WAY_DOWN_MARK}poweroff (hearth ctl poweroff from PID 7)\n`)).toBe(true);
    log.append(rec("stopping"));
    log.close(); // before the root goes read-only: the last line, then nothing
    log.append(rec("after"));
    log.flush();
    expect(readFileSync(join(dir, "boot.log"), "utf8").endsWith(`svc[42]: stopping\n${CLOSED_MARK}\n`)).toBe(true);
  });

  test("size-capped: the file rotates and at most `keep` older parts stay", () => {
    const dir = scratch();
    const { log } = openWithTimer(dir, { maxBytes: 200, keep: 1 });
    for (let i = 0; i < 20; i++) { log.append(rec(`line ${i} ${"x".repeat(40)}`)); log.flush(); }
    expect(readdirSync(dir).sort()).toEqual(["boot.log", "boot.log.1"]);
    expect(readFileSync(join(dir, "boot.log"), "utf8")).toContain("line 19");
  });

  test("fdatasync: at most one per syncMs, only after writes, and what is written meanwhile gets the next", async () => {
    const dir = scratch();
    const timers: { fn: () => void; ms: number }[] = [];
    const syncs: (() => void)[] = [];
    let now = 1000;
    const log = PersistentLog.open({
      dir, onError: () => {}, flushMs: 2000, syncMs: 5000, now: () => now,
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      sync: () => new Promise<void>((resolve) => syncs.push(resolve)),
    })!;
    log.wayDown("reboot", "test"); // written at once: a sync is scheduled, none for an empty flush
    log.flush();
    expect(timers.map((t) => t.ms)).toEqual([0]);
    timers.shift()!.fn();
    expect(syncs.length).toBe(1);
    now += 100;
    log.wayDown("reboot", "again"); // while the sync runs: no second timer yet
    expect(timers.length).toBe(0);
    syncs.shift()!();
    await Bun.sleep(0);
    expect(timers.map((t) => t.ms)).toEqual([4900]); // the next one 5 s after the first
    timers.shift()!.fn();
    syncs.shift()!();
    await Bun.sleep(0);
    expect(timers.length).toBe(0); // nothing written since: no more syncs
  });

  test("a file rotated away before the sync is synced too (its fd kept till then), and the line that rotated it", async () => {
    const dir = scratch();
    const timers: (() => void)[] = [];
    const synced: string[] = [];
    const done: (() => void)[] = [];
    const log = PersistentLog.open({
      dir, maxBytes: 200, keep: 2, onError: () => {}, setTimer: (fn) => timers.push(fn),
      sync: (fd) => { synced.push(readlinkSync(`/proc/self/fd/${fd}`)); return new Promise<void>((resolve) => done.push(resolve)); },
    })!;
    const openOn = (name: string) => readdirSync("/proc/self/fd").some((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === join(dir, name); } catch { return false; } });
    log.wayDown("reboot", "x".repeat(150)); // written at once: a sync is scheduled
    log.wayDown("reboot", "the line that rotates the file");
    expect(readdirSync(dir).sort()).toEqual(["boot.log", "boot.log.1"]);
    expect(openOn("boot.log.1")).toBe(true); // its unsynced data is not left to the kernel's writeback
    timers.shift()!();
    expect(synced.sort()).toEqual([join(dir, "boot.log"), join(dir, "boot.log.1")]);
    for (const resolve of done.splice(0)) resolve();
    await Bun.sleep(0);
    expect(openOn("boot.log.1")).toBe(false); // closed once synced
    expect(openOn("boot.log")).toBe(true);
    log.close();
    expect(openOn("boot.log")).toBe(false); // nothing open for writing when the root goes read-only
  });

  test("a disk that fails every write: the fds of the failed writes are closed, not piled up", async () => {
    const dir = scratch();
    const timers: (() => void)[] = [];
    const errors: unknown[] = [];
    const log = PersistentLog.open({ dir, onError: (e) => errors.push(e), setTimer: (fn) => timers.push(fn), sync: async () => {} })!;
    symlinkSync("/dev/full", join(dir, "boot.log")); // every write: ENOSPC
    const full = () => readdirSync("/proc/self/fd").filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === "/dev/full"; } catch { return false; } }).length;
    for (let i = 0; i < 5; i++) {
      log.wayDown("reboot", `attempt ${i}`);
      while (timers.length > 0) timers.shift()!();
      await Bun.sleep(0);
    }
    expect(errors.length).toBe(1); // told once
    expect(full()).toBe(0);
    log.close();
  });

  test("the default sync: fdatasync in a thread on the file's own fd", async () => {
    const dir = scratch();
    const errors: unknown[] = [];
    const log = PersistentLog.open({ dir, onError: (e) => errors.push(e), syncMs: 10 })!;
    log.wayDown("reboot", "synced");
    await Bun.sleep(100);
    log.close();
    expect(errors).toEqual([]);
    expect(readFileSync(join(dir, "boot.log"), "utf8")).toContain("reboot (synced)");
  });

  test("a directory that cannot be made turns the log off, told once", () => {
    const parent = scratch();
    writeFileSync(join(parent, "log"), ""); // a file in the way (root could write into any directory)
    const errors: unknown[] = [];
    expect(PersistentLog.open({ dir: join(parent, "log"), onError: (e) => errors.push(e) })).toBeNull();
    expect(errors.length).toBe(1);
  });
});
