import { describe, expect, test } from "bun:test";
import { OutputCapture, pumpStream } from "../../src/log/capture.ts";
import { LogRing } from "../../src/log/ring.ts";

const enc = new TextEncoder();

describe("OutputCapture", () => {
  test("lines become ring entries with prefix priorities", () => {
    const ring = new LogRing(16);
    const c = new OutputCapture({ push: (r) => ring.push(r), unit: "foo", stream: "stderr", pid: 12, now: () => 5 });
    c.feed(enc.encode("plain\n<3>bad th"));
    c.feed(enc.encode("ing\n<7>debug"));
    expect(ring.size).toBe(2);
    c.end();
    expect(ring.last(10).map(({ seq, ...rest }) => rest)).toEqual([
      { time: 5, unit: "foo", priority: 6, stream: "stderr", text: "plain", pid: 12 },
      { time: 5, unit: "foo", priority: 3, stream: "stderr", text: "bad thing", pid: 12 },
      { time: 5, unit: "foo", priority: 7, stream: "stderr", text: "debug", pid: 12 },
    ]);
    c.feed(enc.encode("after end\n"));
    c.end();
    expect(ring.size).toBe(3);
  });

  test("levelPrefix: false keeps the prefix as text; defaultPriority applies", () => {
    const ring = new LogRing(4);
    const c = new OutputCapture({ push: (r) => ring.push(r), unit: "u", stream: "stdout", levelPrefix: false, defaultPriority: 5 });
    c.feed(enc.encode("<3>x\n"));
    const [e] = ring.last(1);
    expect(e!.text).toBe("<3>x");
    expect(e!.priority).toBe(5);
    expect(e!.pid).toBeUndefined();
  });
});

describe("pumpStream", () => {
  test("reads a real child's stdout to the end", async () => {
    const ring = new LogRing(16);
    const proc = Bun.spawn(["/bin/sh", "-c", "echo one; printf '<4>two\\nthree'"], { stdout: "pipe" });
    const capture = new OutputCapture({ push: (r) => ring.push(r), unit: "sh", stream: "stdout", pid: proc.pid });
    await pumpStream(proc.stdout, capture);
    await proc.exited;
    expect(ring.last(10).map((e) => [e.priority, e.text, e.pid])).toEqual([
      [6, "one", proc.pid],
      [4, "two", proc.pid],
      [6, "three", proc.pid],
    ]);
  });

  test("a failing stream ends the capture and reports, never throws", async () => {
    const ring = new LogRing(4);
    const capture = new OutputCapture({ push: (r) => ring.push(r), unit: "x", stream: "stdout" });
    async function* broken() {
      yield enc.encode("partial");
      throw new Error("EIO");
    }
    const errors: unknown[] = [];
    await pumpStream(broken(), capture, (e) => errors.push(e));
    expect(errors.length).toBe(1);
    expect(ring.last(1)[0]!.text).toBe("partial");
  });
});
