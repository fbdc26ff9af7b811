// The scanner that finds where keys, values and headers stand in a TOML text.
import { describe, expect, test } from "bun:test";
import { parentPath, positionOf, scanPositions } from "../../src/config/positions.ts";

const at = (line: number, col: number) => ({ line, col });

describe("scanPositions", () => {
  const text = [
    "# a comment",                                   // 1
    "[unit]",                                         // 2
    'description = "echo # not a comment"',          // 3
    'requires = ["a", "b",',                          // 4
    '  # inside an array',                            // 5
    '  "c"]',                                         // 6
    "",                                               // 7
    "[service]",                                      // 8
    'exec_start = """',                               // 9
    'still "" the string',                            // 10
    '"""',                                            // 11
    "exec_stop = [['/bin/kill', '-HUP'], \"/bin/x\"]", // 12
    "environment = { LANG = \"C\", nested.key = 1 }", // 13
    "umask = 0o027",                                  // 14
    "[[socket]]",                                     // 15
    'listen_stream = "/run/a.sk"',                    // 16
    "[[socket]]",                                     // 17
    "  listen_datagram   =  8080  # port",            // 18
    "[service.more]",                                 // 19
    "x.y = 1",                                        // 20
  ].join("\n");
  const found = scanPositions(text);

  const expected: [string, { line: number; col: number }, { line: number; col: number }][] = [
    ["unit", at(2, 1), at(2, 1)],
    ["unit.description", at(3, 1), at(3, 15)],
    ["unit.requires", at(4, 1), at(4, 12)],
    ["unit.requires[0]", at(4, 13), at(4, 13)],
    ["unit.requires[1]", at(4, 18), at(4, 18)],
    ["unit.requires[2]", at(6, 3), at(6, 3)],
    ["service", at(8, 1), at(8, 1)],
    ["service.exec_start", at(9, 1), at(9, 14)],
    ["service.exec_stop", at(12, 1), at(12, 13)],
    ["service.exec_stop[0]", at(12, 14), at(12, 14)],
    ["service.exec_stop[0][1]", at(12, 28), at(12, 28)],
    ["service.exec_stop[1]", at(12, 37), at(12, 37)],
    ["service.environment.LANG", at(13, 17), at(13, 24)],
    ["service.environment.nested.key", at(13, 29), at(13, 42)],
    ["service.umask", at(14, 1), at(14, 9)],
    ["socket[0]", at(15, 1), at(15, 1)],
    ["socket[0].listen_stream", at(16, 1), at(16, 17)],
    ["socket[1]", at(17, 1), at(17, 1)],
    ["socket[1].listen_datagram", at(18, 3), at(18, 24)],
    ["service.more", at(19, 1), at(19, 1)],
    ["service.more.x.y", at(20, 1), at(20, 7)],
  ];
  for (const [path, key, value] of expected) {
    test(path, () => {
      expect(found.get(path)?.key).toEqual(key);
      expect(found.get(path)?.value).toEqual(value);
    });
  }

  test("keeps the raw text of scalars", () => {
    expect(found.get("service.umask")?.raw).toBe("0o027");
    expect(found.get("socket[1].listen_datagram")?.raw).toBe("8080");
  });

  test("does not mistake string content for keys", () => {
    expect(found.has("service.still")).toBe(false);
    expect([...found.keys()].some((k) => k.includes("comment"))).toBe(false);
  });
});

describe("nested arrays of tables", () => {
  const found = scanPositions("[[a]]\n[[a.b]]\nx = 1\n[[a]]\n[[a.b]]\n[[a.b]]\ny = 2\n[a.c]\nz = 3\n");
  test("index each level by its latest parent", () => {
    expect(found.get("a[0].b[0].x")?.key).toEqual(at(3, 1));
    expect(found.get("a[1].b[1].y")?.key).toEqual(at(7, 1));
    expect(found.get("a[1].c.z")?.key).toEqual(at(9, 1));
  });
});

describe("odd input", () => {
  const inputs = [
    "", "[", "[[", "]]", "=", "a =", "a = [1, 2", "a = {", "a = \"unterminated", "a = '''x", "a = \"\"\"x",
    "[a\nb = 1", "a = [[[[", "a = {b = {c = [", "\u0000\u0001", "a = 1 2 3 ] } ,", "'''", "\"\"\"\"\"\"\"",
    "a = 1979-05-27 07:32:00Z\nb = 2", "a.\"b.c\".'d' = [ { e = 1 }, ]",
  ];
  for (const input of inputs) {
    test(`never throws on ${JSON.stringify(input)}`, () => expect(() => scanPositions(input)).not.toThrow());
  }
  test("a date with a time does not confuse the next line", () => {
    expect(scanPositions("a = 1979-05-27 07:32:00Z\nb = 2").get("b")?.key).toEqual(at(2, 1));
  });
  test("quoted dotted keys", () => {
    expect(scanPositions("a.\"b.c\".'d' = [ { e = 1 }, ]").get("a.b.c.d[0].e")?.value).toEqual(at(1, 23));
  });
  test("CRLF line ends", () => {
    expect(scanPositions("[unit]\r\nafter = [\"x\"]\r\n").get("unit.after[0]")?.value).toEqual(at(2, 10));
  });
});

describe("positionOf", () => {
  const found = scanPositions("[service]\nexec_stop = [\"/bin/a\"]\n");
  test("falls back to the nearest enclosing path, then to 1:1", () => {
    expect(positionOf(found, "service.exec_stop[0]")).toEqual(at(2, 14));
    expect(positionOf(found, "service.exec_stop[0][3]")).toEqual(at(2, 14));
    expect(positionOf(found, "service.exec_start", "key")).toEqual(at(1, 1));
    expect(positionOf(found, "socket[0].accept")).toEqual(at(1, 1));
  });
  test("parentPath", () => {
    expect(parentPath("a.b[2]")).toBe("a.b");
    expect(parentPath("a[0].b")).toBe("a[0]");
    expect(parentPath("a[0]")).toBe("a");
    expect(parentPath("a")).toBeNull();
  });
});
