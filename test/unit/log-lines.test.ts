import { describe, expect, test } from "bun:test";
import { DEFAULT_PRIORITY, LineSplitter, parsePriorityPrefix } from "../../src/log/lines.ts";

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);

describe("LineSplitter", () => {
  test("splits complete lines and keeps the partial tail", () => {
    const s = new LineSplitter();
    expect(s.push(b("one\ntwo\nthr"))).toEqual(["one", "two"]);
    expect(s.pendingBytes).toBe(3);
    expect(s.push(b("ee\n"))).toEqual(["three"]);
    expect(s.pendingBytes).toBe(0);
  });

  test("a line spread over many chunks, byte by byte", () => {
    const s = new LineSplitter();
    const out: string[] = [];
    for (const byte of b("hello world\nbye\n")) out.push(...s.push(new Uint8Array([byte])));
    expect(out).toEqual(["hello world", "bye"]);
  });

  test("empty lines are kept as empty strings", () => {
    expect(new LineSplitter().push(b("\n\na\n"))).toEqual(["", "", "a"]);
  });

  test("CRLF endings lose the CR; a lone CR inside a line stays", () => {
    expect(new LineSplitter().push(b("a\r\nb\rc\n"))).toEqual(["a", "b\rc"]);
  });

  test("a NUL byte ends a line, like systemd's stream reader", () => {
    expect(new LineSplitter().push(b("a\0b\n"))).toEqual(["a", "b"]);
  });

  test("flush() returns the unterminated tail once", () => {
    const s = new LineSplitter();
    expect(s.push(b("a\nno newline"))).toEqual(["a"]);
    expect(s.flush()).toEqual(["no newline"]);
    expect(s.flush()).toEqual([]);
  });

  test("a multi-byte character split across chunks decodes whole", () => {
    const s = new LineSplitter();
    const bytes = b("é€😀\n");
    const out: string[] = [];
    out.push(...s.push(bytes.subarray(0, 1)));
    out.push(...s.push(bytes.subarray(1, 4)));
    out.push(...s.push(bytes.subarray(4)));
    expect(out).toEqual(["é€😀"]);
  });

  test("invalid UTF-8 becomes U+FFFD", () => {
    const s = new LineSplitter();
    expect(s.push(new Uint8Array([0x61, 0xff, 0x62, 0x0a]))).toEqual(["a\uFFFDb"]);
  });

  test("a line of exactly the cap is not split", () => {
    const s = new LineSplitter(8);
    expect(s.push(b("12345678\n"))).toEqual(["12345678"]);
  });

  test("longer lines are split at the cap", () => {
    const s = new LineSplitter(8);
    expect(s.push(b("123456789abcdefghij\n"))).toEqual(["12345678", "9abcdefg", "hij"]);
    // the same across chunks
    const t = new LineSplitter(8);
    const out = [...t.push(b("12345")), ...t.push(b("6789abcdefg")), ...t.push(b("hij\n"))];
    expect(out).toEqual(["12345678", "9abcdefg", "hij"]);
  });

  test("a split never cuts a character in two", () => {
    const s = new LineSplitter(8);
    // 6 ASCII bytes then a 4-byte emoji: the emoji would straddle the cap
    const out = s.push(b("abcdef😀gh\n"));
    expect(out).toEqual(["abcdef", "😀gh"]);
    for (const line of out) expect(enc.encode(line).length).toBeLessThanOrEqual(8);
  });

  test("a long run of multi-byte characters", () => {
    const s = new LineSplitter(10);
    const text = "€".repeat(20); // 3 bytes each
    const out = s.push(b(text + "\n"));
    expect(out.join("")).toBe(text);
    for (const line of out) {
      expect(line).not.toContain("\uFFFD");
      expect(enc.encode(line).length).toBeLessThanOrEqual(10);
    }
  });

  test("the default cap is 8 KiB", () => {
    const s = new LineSplitter();
    const out = s.push(b("x".repeat(20000) + "\n"));
    expect(out.map((l) => l.length)).toEqual([8192, 8192, 20000 - 16384]);
  });

  test("rejects a silly cap", () => {
    expect(() => new LineSplitter(2)).toThrow(RangeError);
  });
});

describe("parsePriorityPrefix", () => {
  test("<0> .. <7>", () => {
    for (let p = 0; p <= 7; p++) expect(parsePriorityPrefix(`<${p}>msg`)).toEqual({ priority: p, text: "msg" });
  });

  test("keeps the text after the prefix as it is", () => {
    expect(parsePriorityPrefix("<3> failed")).toEqual({ priority: 3, text: " failed" });
    expect(parsePriorityPrefix("<4>")).toEqual({ priority: 4, text: "" });
  });

  test("leading zeros are read as systemd does", () => {
    expect(parsePriorityPrefix("<03>x")).toEqual({ priority: 3, text: "x" });
    expect(parsePriorityPrefix("<007>x")).toEqual({ priority: 7, text: "x" });
  });

  test("not a prefix: the line stays whole with the default priority", () => {
    for (const line of ["<8>x", "<30>x", "<>x", "<a>x", "<3x", "x<3>", "<0003>x", "plain", ""]) {
      expect(parsePriorityPrefix(line)).toEqual({ priority: DEFAULT_PRIORITY, text: line });
    }
  });

  test("default priority is info (6) and can be changed", () => {
    expect(DEFAULT_PRIORITY).toBe(6);
    expect(parsePriorityPrefix("x", 3)).toEqual({ priority: 3, text: "x" });
    expect(parsePriorityPrefix("<5>x", 3)).toEqual({ priority: 5, text: "x" });
  });
});
