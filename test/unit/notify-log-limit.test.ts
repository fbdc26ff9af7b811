// The rate limit on what the notify socket logs about its senders, on a virtual clock.
import { describe, expect, test } from "bun:test";
import { LogLimit } from "../../src/notify/log-limit.ts";

const opts = { intervalMs: 1000, burst: 3, totalBurst: 5, maxSenders: 4 };

function allowed(limit: LogLimit, sender: string, times: number, now: number): number {
  let n = 0;
  for (let i = 0; i < times; i++) if (limit.allow(sender, now)) n++;
  return n;
}

describe("notify log limit", () => {
  test("a sender gets `burst` lines per interval; the rest are told as one count when it ends", () => {
    const limit = new LogLimit(opts);
    expect(allowed(limit, "PID 7", 1000, 0)).toBe(3);
    expect(limit.flush(1000)).toEqual([{ sender: "PID 7", senders: 1, count: 997 }]);
    expect(allowed(limit, "PID 7", 10, 1000)).toBe(3); // a new interval
    expect(limit.flush(2000)).toEqual([{ sender: "PID 7", senders: 1, count: 7 }]);
    expect(limit.flush(3000)).toEqual([]);
  });

  test("all senders together get `totalBurst` lines per interval", () => {
    const limit = new LogLimit(opts);
    expect(allowed(limit, "PID 1", 3, 0) + allowed(limit, "PID 2", 3, 0)).toBe(5);
    expect(limit.flush(500)).toEqual([{ sender: "PID 2", senders: 1, count: 1 }]);
  });

  test("at most maxSenders are remembered; the counts of forgotten ones are told together", () => {
    const limit = new LogLimit({ ...opts, totalBurst: 0 });
    for (let pid = 0; pid < 10_000; pid++) limit.allow(`PID ${pid}`, 0);
    expect(limit.size).toBe(4);
    const told = limit.flush(0);
    expect(told).toContainEqual({ sender: null, senders: 9996, count: 9996 });
    expect(told.length).toBe(5);
  });

  test("senders quiet for an interval are forgotten at the flush", () => {
    const limit = new LogLimit(opts);
    limit.allow("PID 1", 0);
    limit.allow("PID 2", 900);
    limit.flush(1000);
    expect(limit.size).toBe(1);
  });
});
