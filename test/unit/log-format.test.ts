import { describe, expect, test } from "bun:test";
import { formatEntry, formatTimestamp } from "../../src/log/format.ts";

const T = Date.UTC(2024, 10, 22, 1, 2, 3, 45); // Nov 22 01:02:03.045 UTC

describe("formatTimestamp", () => {
  test("short, like journalctl", () => {
    expect(formatTimestamp(T, { utc: true })).toBe("Nov 22 01:02:03");
  });
  test("precise", () => {
    expect(formatTimestamp(T, { utc: true, precise: true })).toBe("Nov 22 01:02:03.045000");
  });
  test("pads single-digit days and hours", () => {
    expect(formatTimestamp(Date.UTC(2024, 0, 5, 9, 8, 7), { utc: true })).toBe("Jan 05 09:08:07");
  });
  test("local time by default", () => {
    const d = new Date(T);
    expect(formatTimestamp(T)).toContain(`${String(d.getHours()).padStart(2, "0")}:02:03`);
  });
});

describe("formatEntry", () => {
  test("a service's output line with its pid", () => {
    const line = formatEntry({ time: T, unit: "foobar", priority: 6, stream: "stdout", text: "hello", pid: 42 }, { utc: true });
    expect(line).toBe("Nov 22 01:02:03 foobar[42]: hello");
  });

  test("without a pid", () => {
    expect(formatEntry({ time: T, unit: "foobar", priority: 3, stream: "stderr", text: "oops" }, { utc: true })).toBe(
      "Nov 22 01:02:03 foobar: oops",
    );
  });

  test("the manager's own messages", () => {
    expect(formatEntry({ time: T, unit: "hearth", priority: 5, stream: "manager", text: "booted", pid: 1 }, { utc: true })).toBe(
      "Nov 22 01:02:03 hearth[1]: booted",
    );
  });

  test("the manager's messages about a unit read like systemd's", () => {
    expect(
      formatEntry({ time: T, unit: "foobar", priority: 4, stream: "manager", text: "Watchdog timeout", pid: 1 }, { utc: true }),
    ).toBe("Nov 22 01:02:03 hearth[1]: foobar: Watchdog timeout");
  });
});
