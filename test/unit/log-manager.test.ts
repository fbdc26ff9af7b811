import { describe, expect, test } from "bun:test";
import {
  createLogger,
  formatManagerLine,
  parseLogLevel,
  priorityName,
  ringSink,
  stderrSink,
  teeSink,
  type LogSink,
} from "../../src/log/manager-log.ts";
import { LogRing, type LogRecord } from "../../src/log/ring.ts";

function collect(): { sink: LogSink; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { sink: (r) => records.push(r), records };
}

describe("createLogger", () => {
  test("records at or above the threshold, with syslog priorities", () => {
    const { sink, records } = collect();
    const log = createLogger({ level: "notice", sink, pid: 1, now: () => 1234 });
    log.debug("d");
    log.info("i");
    log.notice("n");
    log.warning("w");
    log.err("e");
    expect(records).toEqual([
      { time: 1234, unit: "hearth", priority: 5, stream: "manager", text: "n", pid: 1 },
      { time: 1234, unit: "hearth", priority: 4, stream: "manager", text: "w", pid: 1 },
      { time: 1234, unit: "hearth", priority: 3, stream: "manager", text: "e", pid: 1 },
    ]);
  });

  test("debug level records everything; err only errors", () => {
    const a = collect();
    const dbg = createLogger({ level: "debug", sink: a.sink });
    for (const m of ["debug", "info", "notice", "warning", "err"] as const) dbg[m](m);
    expect(a.records.map((r) => r.priority)).toEqual([7, 6, 5, 4, 3]);
    const b = collect();
    const errOnly = createLogger({ level: "err", sink: b.sink });
    errOnly.warning("no");
    errOnly.err("yes");
    expect(b.records.map((r) => r.text)).toEqual(["yes"]);
  });

  test("defaults: process pid and the wall clock", () => {
    const { sink, records } = collect();
    const before = Date.now();
    createLogger({ level: "info", sink }).info("x");
    expect(records[0]!.pid).toBe(process.pid);
    expect(records[0]!.time).toBeGreaterThanOrEqual(before);
  });

  test("unit() records under the unit's name and shares the level", () => {
    const { sink, records } = collect();
    const log = createLogger({ level: "info", sink, pid: 1, now: () => 0 });
    const foo = log.unit("foobar");
    expect(log.unitName).toBe("hearth");
    expect(foo.unitName).toBe("foobar");
    foo.warning("Watchdog timeout");
    foo.debug("hidden");
    log.level = "debug";
    expect(foo.level).toBe("debug");
    foo.debug("now shown");
    expect(records.map((r) => [r.unit, r.text])).toEqual([
      ["foobar", "Watchdog timeout"],
      ["foobar", "now shown"],
    ]);
  });

  test("enabled() tells whether a level would be recorded", () => {
    const log = createLogger({ level: "info", sink: () => {} });
    expect(log.enabled("debug")).toBe(false);
    expect(log.enabled("info")).toBe(true);
    expect(log.enabled("err")).toBe(true);
  });

  test("a detail is appended: errors by message, others as JSON", () => {
    const { sink, records } = collect();
    const log = createLogger({ level: "info", sink });
    log.err("spawn failed", new Error("ENOENT: no such file"));
    log.info("state", { a: 1 });
    log.info("why", "because");
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    log.info("odd", circular);
    expect(records.map((r) => r.text)).toEqual([
      "spawn failed: ENOENT: no such file",
      'state: {"a":1}',
      "why: because",
      "odd: [object Object]",
    ]);
  });

  test("a throwing sink never escapes", () => {
    const log = createLogger({
      level: "debug",
      sink: () => {
        throw new Error("disk on fire");
      },
    });
    expect(() => log.err("x")).not.toThrow();
  });
});

describe("sinks and stderr format", () => {
  test("formatManagerLine", () => {
    expect(formatManagerLine({ time: 0, unit: "hearth", priority: 6, stream: "manager", text: "started", pid: 7 })).toBe(
      "hearth[7]: info: started",
    );
    expect(formatManagerLine({ time: 0, unit: "foobar", priority: 4, stream: "manager", text: "Watchdog timeout", pid: 1 })).toBe(
      "hearth[1]: warning: foobar: Watchdog timeout",
    );
    expect(formatManagerLine({ time: 0, unit: "hearth", priority: 3, stream: "manager", text: "x" })).toBe("hearth: err: x");
  });

  test("ringSink + stderrSink through teeSink, one failing", () => {
    const ring = new LogRing(8);
    const lines: string[] = [];
    const broken: LogSink = () => {
      throw new Error("nope");
    };
    const log = createLogger({
      level: "info",
      sink: teeSink(broken, ringSink(ring), stderrSink((l) => lines.push(l))),
      pid: 99,
    });
    log.unit("web").notice("listening");
    expect(lines).toEqual(["hearth[99]: notice: web: listening\n"]);
    const [entry] = ring.last(1);
    expect(entry!.unit).toBe("web");
    expect(entry!.stream).toBe("manager");
    expect(entry!.seq).toBe(1);
  });
});

describe("levels", () => {
  test("parseLogLevel accepts the DESIGN names", () => {
    for (const l of ["debug", "info", "notice", "warning", "err"]) expect(parseLogLevel(l)).toBe(l as never);
    expect(parseLogLevel(" Warning ")).toBe("warning");
    expect(parseLogLevel("verbose")).toBeUndefined();
    expect(parseLogLevel("")).toBeUndefined();
  });

  test("priorityName", () => {
    expect(priorityName(0)).toBe("emerg");
    expect(priorityName(3)).toBe("err");
    expect(priorityName(7)).toBe("debug");
    expect(priorityName(9)).toBe("9");
  });
});
