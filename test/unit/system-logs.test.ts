import { describe, expect, test } from "bun:test";
import type { ReceivedDatagram } from "../../ffi/socket.ts";
import type { LogRecord } from "../../src/log/ring.ts";
import { SYSLOG_LIMIT, SystemLogs } from "../../src/manager/system-logs.ts";

function setup(units: Record<number, string>) {
  const records: { rec: LogRecord; source: boolean }[] = [];
  const told: { unit: string | null; text: string }[] = [];
  const lookups: number[] = [];
  let clock = 1000;
  let timer: (() => void) | null = null;
  const logs = new SystemLogs({
    now: () => clock, wallNow: () => 1_700_000_000_000 + clock,
    unitOf: (pid) => {
      lookups.push(pid);
      return units[pid] ?? null;
    },
    record: (rec, source) => records.push({ rec, source }),
    suppressed: (unit, text) => told.push({ unit, text }),
    setTimer: (_ms, fn) => (timer = fn),
    clearTimer: () => (timer = null),
  });
  const datagram = (pid: number, text: string, uid = 0): ReceivedDatagram =>
    ({ data: new TextEncoder().encode(text), pid, uid, gid: 0, fds: [], truncated: false });
  return {
    logs, records, told, lookups, datagram,
    advance: (ms: number) => (clock += ms),
    fire: () => { const t = timer; timer = null; t?.(); },
  };
}

describe("whose syslog line it is", () => {
  test("the sender's credentials name the unit; the TAG names nothing", () => {
    const s = setup({ 10: "cron" });
    s.logs.take([s.datagram(10, "<78>Dec  6 05:30:01 cron[10]: real"), s.datagram(99, "<78>Dec  6 05:30:01 cron[10]: forged")]);
    expect(s.records.map((r) => [r.rec.unit, r.rec.pid, r.rec.ident, r.rec.text, r.source])).toEqual([
      ["cron", 10, "cron", "real", false],
      ["syslog", 99, "cron", "forged", true],
    ]);
  });

  test("a datagram without credentials belongs to no unit", () => {
    const s = setup({ 0: "cron" });
    s.logs.take([s.datagram(0, "<13>x: y")]);
    expect(s.records[0]!.rec).toMatchObject({ unit: "syslog", text: "y" });
    expect(s.records[0]!.rec.pid).toBeUndefined();
    expect(s.lookups).toEqual([]);
  });

  test("a sender is looked up once per tenth of a second, not per message", () => {
    const s = setup({ 10: "cron" });
    s.logs.take(Array.from({ length: 50 }, () => s.datagram(10, "<13>a: b")));
    s.advance(50);
    s.logs.take([s.datagram(10, "<13>a: b")]);
    expect(s.lookups).toEqual([10]);
    s.advance(100);
    s.logs.take([s.datagram(10, "<13>a: b")]);
    expect(s.lookups).toEqual([10, 10]);
  });
});

describe("a flood", () => {
  test("each unit may log its burst per interval; the rest is counted and told in the unit's log", () => {
    const s = setup({ 10: "chatty", 11: "quiet" });
    s.logs.take(Array.from({ length: SYSLOG_LIMIT.burst + 5 }, () => s.datagram(10, "<13>c: x")));
    s.logs.take([s.datagram(11, "<13>q: still heard")]);
    expect(s.records.filter((r) => r.rec.unit === "chatty")).toHaveLength(SYSLOG_LIMIT.burst);
    expect(s.records.at(-1)!.rec.text).toBe("still heard");
    s.advance(SYSLOG_LIMIT.intervalMs);
    s.fire();
    expect(s.told).toEqual([{ unit: "chatty", text: `suppressed 5 syslog messages (more than ${SYSLOG_LIMIT.burst} in 10 s)` }]);
  });

  test("senders in no unit share their uid's allowance, whatever pid they fork to", () => {
    const s = setup({});
    s.logs.take(Array.from({ length: SYSLOG_LIMIT.burst + 3 }, (_, i) => s.datagram(100 + i, "<13>f: x", 1000)));
    expect(s.records).toHaveLength(SYSLOG_LIMIT.burst);
    s.logs.close();
    expect(s.told).toEqual([{ unit: null, text: "suppressed 3 syslog messages from uid 1000 (in no unit)" }]);
  });

  test("every line of a many-line datagram counts", () => {
    const s = setup({ 10: "chatty" });
    s.logs.take([s.datagram(10, `<13>c: ${"line\n".repeat(SYSLOG_LIMIT.burst * 2)}`)]);
    expect(s.records).toHaveLength(SYSLOG_LIMIT.burst);
  });
});

describe("the kernel's records", () => {
  test("the kernel's own, at boot time plus their clock; userspace's writes to /dev/kmsg are left out", () => {
    const s = setup({});
    s.logs.takeKernel({ facility: 0, severity: 6, seq: 1, usec: 2_500_000, text: "Linux version" }, 1_000_000);
    s.logs.takeKernel({ facility: 1, severity: 6, seq: 2, usec: 3_000_000, text: "from userspace" }, 1_000_000);
    expect(s.records).toEqual([{
      rec: { time: 1_002_500, unit: "kernel", priority: 6, facility: 0, stream: "kernel", text: "Linux version", ident: "kernel" },
      source: true,
    }]);
  });
});
