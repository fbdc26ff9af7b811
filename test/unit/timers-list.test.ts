// `hearth ctl list-timers` output, as `systemctl list-timers` prints it.
import { describe, expect, test } from "bun:test";
import type { UnitStatus } from "../../src/control/status.ts";
import { formatListTimers, span, timestamp } from "../../src/timers/list-timers.ts";

const NOW = Date.UTC(2026, 11, 6, 5, 44, 0);

function timer(name: string, active: string, next: number | null, last: number | null): UnitStatus {
  return { name, active, trigger: { kind: "timer", unit: name.replace(/\.timer$/, ""), next, nextMonoLeftMs: null, last, lastReason: null, result: "success" } } as UnitStatus;
}

describe("list-timers", () => {
  test("active timers, soonest first, with systemd's columns and spans; inactive ones only with --all", () => {
    const units = [
      timer("logrotate.timer", "active", Date.UTC(2026, 11, 7), NOW - 5 * 3600_000 - 44 * 60_000),
      timer("upload.timer", "active", NOW + 4 * 60_000 + 10_000, null),
      timer("off.timer", "inactive", null, null),
    ];
    const text = formatListTimers(units, NOW, "UTC");
    expect(text.split("\n")).toEqual([
      "NEXT                        LEFT           LAST                        PASSED       UNIT            ACTIVATES",
      "Sun 2026-12-06 05:48:10 UTC 4min 10s left  -                           -            upload.timer    upload",
      "Mon 2026-12-07 00:00:00 UTC 18h 16min left Sun 2026-12-06 00:00:00 UTC 5h 44min ago logrotate.timer logrotate",
      "",
      "2 timers listed.",
      "Pass --all to see loaded but inactive timers, too.",
    ]);
    expect(formatListTimers(units, NOW, "UTC", true)).toContain("off.timer");
  });

  test("time spans and stamps read as systemd's", () => {
    expect(span(0)).toBe("0s");
    expect(span(90_000)).toBe("1min 30s");
    expect(span(2 * 86_400_000 + 3 * 3600_000 + 5000)).toBe("2 days 3h");
    expect(timestamp(Date.UTC(2024, 1, 29, 12, 0, 0), "Europe/Berlin")).toBe("Thu 2024-02-29 13:00:00 GMT+1");
  });
});
