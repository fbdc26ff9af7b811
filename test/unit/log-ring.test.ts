import { describe, expect, test } from "bun:test";
import { LogRing, type LogRecord } from "../../src/log/ring.ts";

const rec = (text: string, over: Partial<LogRecord> = {}): LogRecord => ({
  time: 1000,
  unit: "foo",
  priority: 6,
  stream: "stdout",
  text,
  ...over,
});

describe("LogRing", () => {
  test("rejects a capacity that is not a positive integer", () => {
    expect(() => new LogRing(0)).toThrow(RangeError);
    expect(() => new LogRing(1.5)).toThrow(RangeError);
  });

  test("empty ring", () => {
    const r = new LogRing(4);
    expect(r.size).toBe(0);
    expect(r.lastSeq).toBe(0);
    expect(r.firstSeq).toBe(1);
    expect(r.last(10)).toEqual([]);
    expect(r.since(0)).toEqual([]);
  });

  test("push assigns increasing seq starting at 1", () => {
    const r = new LogRing(4);
    const a = r.push(rec("a"));
    const b = r.push(rec("b"));
    expect(a.seq).toBe(1);
    expect(b.seq).toBe(2);
    expect(a.text).toBe("a");
    expect(r.lastSeq).toBe(2);
    expect(r.size).toBe(2);
  });

  test("keeps only the newest `capacity` entries", () => {
    const r = new LogRing(3);
    for (const t of ["a", "b", "c", "d", "e"]) r.push(rec(t));
    expect(r.size).toBe(3);
    expect(r.firstSeq).toBe(3);
    expect(r.lastSeq).toBe(5);
    expect(r.last(10).map((e) => e.text)).toEqual(["c", "d", "e"]);
    expect(r.last(2).map((e) => e.text)).toEqual(["d", "e"]);
    expect(r.last(0)).toEqual([]);
  });

  test("since(seq) returns what came after, and tells a lagging follower what it lost", () => {
    const r = new LogRing(3);
    for (const t of ["a", "b"]) r.push(rec(t));
    expect(r.since(0).map((e) => e.seq)).toEqual([1, 2]);
    expect(r.since(1).map((e) => e.text)).toEqual(["b"]);
    expect(r.since(2)).toEqual([]);
    for (const t of ["c", "d", "e"]) r.push(rec(t));
    // a follower at seq 1 missed 2: the first entry it gets is 3
    const got = r.since(1);
    expect(got[0]!.seq).toBe(3);
    expect(got.map((e) => e.text)).toEqual(["c", "d", "e"]);
    expect(r.since(99)).toEqual([]);
  });

  test("filters by unit and priority", () => {
    const r = new LogRing(10);
    r.push(rec("f1"));
    r.push(rec("b1", { unit: "bar", priority: 3 }));
    r.push(rec("f2", { priority: 4 }));
    r.push(rec("b2", { unit: "bar", priority: 7 }));
    r.push(rec("f3"));
    expect(r.last(2, { unit: "foo" }).map((e) => e.text)).toEqual(["f2", "f3"]);
    expect(r.last(10, { unit: "bar" }).map((e) => e.text)).toEqual(["b1", "b2"]);
    expect(r.last(10, { maxPriority: 4 }).map((e) => e.text)).toEqual(["b1", "f2"]);
    expect(r.since(2, { unit: "bar" }).map((e) => e.text)).toEqual(["b2"]);
    expect(r.last(10, { unit: "nope" })).toEqual([]);
  });

  test("priority is clamped to 0..7", () => {
    const r = new LogRing(4);
    expect(r.push(rec("x", { priority: 12 })).priority).toBe(7);
    expect(r.push(rec("x", { priority: -1 })).priority).toBe(0);
    expect(r.push(rec("x", { priority: NaN })).priority).toBe(6);
  });

  test("the stored entry does not alias the pushed record", () => {
    const r = new LogRing(4);
    const input = rec("a");
    r.push(input);
    input.text = "changed";
    expect(r.last(1)[0]!.text).toBe("a");
  });

  test("subscribers see each entry after it is stored; unsubscribe stops them", () => {
    const r = new LogRing(4);
    const seen: number[] = [];
    const stop = r.subscribe((e) => {
      seen.push(e.seq);
      expect(r.lastSeq).toBe(e.seq);
    });
    r.push(rec("a"));
    r.push(rec("b"));
    stop();
    r.push(rec("c"));
    expect(seen).toEqual([1, 2]);
    stop(); // twice is harmless
  });

  test("the same function may subscribe twice and unsubscribe independently", () => {
    const r = new LogRing(4);
    let n = 0;
    const fn = () => n++;
    const s1 = r.subscribe(fn);
    r.subscribe(fn);
    r.push(rec("a"));
    expect(n).toBe(2);
    s1();
    r.push(rec("b"));
    expect(n).toBe(3);
  });

  test("a throwing subscriber does not stop the push or the others", () => {
    const errors: unknown[] = [];
    const r = new LogRing(4, { onSubscriberError: (e) => errors.push(e) });
    const seen: string[] = [];
    r.subscribe(() => {
      throw new Error("boom");
    });
    r.subscribe((e) => seen.push(e.text));
    expect(() => r.push(rec("a"))).not.toThrow();
    expect(seen).toEqual(["a"]);
    expect(errors.length).toBe(1);
    expect(r.size).toBe(1);
  });

  test("a subscriber may unsubscribe itself while being called", () => {
    const r = new LogRing(4);
    const seen: string[] = [];
    const stop: () => void = r.subscribe((e) => {
      seen.push(e.text);
      stop();
    });
    const other: string[] = [];
    r.subscribe((e) => other.push(e.text));
    r.push(rec("a"));
    r.push(rec("b"));
    expect(seen).toEqual(["a"]);
    expect(other).toEqual(["a", "b"]);
  });

  test("wraps around many times", () => {
    const r = new LogRing(7);
    for (let i = 1; i <= 1000; i++) r.push(rec(String(i)));
    expect(r.last(7).map((e) => e.text)).toEqual(["994", "995", "996", "997", "998", "999", "1000"]);
    expect(r.since(996).map((e) => e.seq)).toEqual([997, 998, 999, 1000]);
  });
});
