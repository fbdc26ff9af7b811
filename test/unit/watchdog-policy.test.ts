// Hardware watchdog decisions (the device itself is exercised under QEMU).
import { describe, expect, test } from "bun:test";
import { PingStats, armForTarget, healthVerdict, pingIntervalMs, requestedTimeoutSec } from "../../src/watchdog/policy.ts";

describe("hardware watchdog policy", () => {
  test("timeouts are whole seconds rounded up; pings at half the timeout", () => {
    expect(requestedTimeoutSec(5)).toBe(5);
    expect(requestedTimeoutSec(2.2)).toBe(3);
    expect(requestedTimeoutSec(0.1)).toBe(1);
    expect(pingIntervalMs(5)).toBe(2500);
  });

  test("not armed in rescue, nor when off", () => {
    expect(armForTarget("multi-user", 30)).toBe(true);
    expect(armForTarget("rescue", 30)).toBe(false);
    expect(armForTarget("multi-user", 0)).toBe(false);
  });

  test("health gating: only a critical unit failed for good stops the pings", () => {
    const units = [
      { name: "db", active: "failed", result: "start-limit-hit" },
      { name: "web", active: "failed", result: "exit-code" },
      { name: "gps", active: "failed", result: "watchdog" },
    ];
    expect(healthVerdict(units, ["web"])).toEqual({ healthy: true });
    expect(healthVerdict(units, [])).toEqual({ healthy: true });
    expect(healthVerdict(units, ["db"])).toMatchObject({ healthy: false, reason: expect.stringContaining("db exhausted") });
    expect(healthVerdict(units, ["gps"])).toMatchObject({ healthy: false, reason: expect.stringContaining("service watchdog") });
  });

  test("ping jitter: distance of each interval from the plan", () => {
    const s = new PingStats();
    for (const t of [0, 2500, 5003, 7499, 10010]) s.record(t);
    expect(s.count).toBe(5);
    expect(s.jitter(2500)).toEqual({ p50: 4, p99: 11, max: 11, samples: 4 });
  });
});
