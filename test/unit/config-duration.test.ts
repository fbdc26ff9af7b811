// Durations: seconds or systemd time spans, always returned in seconds.
import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";

describe("parseDuration", () => {
  const valid: [number | string, number][] = [
    [0, 0],
    [90, 90],
    [0.25, 0.25],
    ["5", 5],
    ["0.5", 0.5],
    ["500ms", 0.5],
    ["100ms", 0.1],
    ["1.5s", 1.5],
    ["1min 30s", 90],
    ["1min30s", 90],
    ["  2h ", 7200],
    ["2 h", 7200],
    ["1d", 86_400],
    ["1w", 604_800],
    ["10us", 0.00001],
    ["3usec", 0.000003],
    ["250msec", 0.25],
    ["1min 30", 90],
    ["1M", 2_629_800],
    ["1y", 31_557_600],
    ["infinity", Infinity],
    [Infinity, Infinity],
  ];
  for (const [input, seconds] of valid) {
    test(`${JSON.stringify(input)} is ${seconds}s`, () => expect(parseDuration(input)).toBeCloseTo(seconds, 9));
  }

  const invalid: [unknown, string][] = [
    ["5 parsecs", 'unknown time unit "parsecs" in "5 parsecs" (use us, ms, s, min, h, d, w, M, y)'],
    ["abc", 'cannot read "abc" as a duration: expected a number of seconds or a time span like "500ms", "1min 30s", "infinity"'],
    ["1min x", 'cannot read "1min x" as a duration at "x": expected'],
    ["1.5.3s", 'cannot read "1.5.3s" as a duration'],
    ["-1s", 'a duration cannot be negative (got "-1s")'],
    [-2, "a duration cannot be negative (got -2)"],
    ["", "empty duration"],
    [NaN, '"NaN" is not a duration'],
    [true, "expected a duration"],
  ];
  for (const [input, message] of invalid) {
    test(`${JSON.stringify(input)} is refused`, () => expect(() => parseDuration(input)).toThrow(message));
  }
});

describe("formatDuration", () => {
  const cases: [number, string][] = [
    [0, "0"], [0.1, "100ms"], [90, "1min 30s"], [600, "10min"], [1.5, "1s 500ms"], [0.0005, "500us"],
    [90_061, "1d 1h 1min 1s"], [Infinity, "infinity"],
  ];
  for (const [seconds, text] of cases) {
    test(`${seconds} -> ${text}`, () => {
      expect(formatDuration(seconds)).toBe(text);
      expect(parseDuration(text)).toBeCloseTo(seconds, 9);
    });
  }
});
