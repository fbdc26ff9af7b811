import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RotatingFile } from "../../src/log/file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-log-file-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const read = (p: string) => readFileSync(p, "utf8");

describe("RotatingFile", () => {
  test("appends lines, adding the newline when missing", () => {
    const path = join(dir, "a.log");
    const f = new RotatingFile({ path });
    expect(f.write("one")).toBe(true);
    expect(f.write("two\n")).toBe(true);
    f.close();
    expect(read(path)).toBe("one\ntwo\n");
  });

  test("appends to an existing file and counts its size", () => {
    const path = join(dir, "a.log");
    writeFileSync(path, "old\n");
    const f = new RotatingFile({ path, maxBytes: 10 });
    f.write("new"); // 4 + 4 = 8 <= 10
    expect(read(path)).toBe("old\nnew\n");
    f.write("more"); // 8 + 5 > 10: rotate first
    f.close();
    expect(read(`${path}.1`)).toBe("old\nnew\n");
    expect(read(path)).toBe("more\n");
  });

  test("rotates FILE -> FILE.1 -> FILE.2 -> FILE.3 and drops the oldest", () => {
    const path = join(dir, "svc.log");
    const f = new RotatingFile({ path, maxBytes: 6, keep: 3 });
    for (const w of ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9"]) f.write(w);
    f.close();
    // each file holds 2 lines of 3 bytes ("lN\n"); l1 and l2 fell off the end
    expect(read(path)).toBe("l9\n");
    expect(read(`${path}.1`)).toBe("l7\nl8\n");
    expect(read(`${path}.2`)).toBe("l5\nl6\n");
    expect(read(`${path}.3`)).toBe("l3\nl4\n");
    expect(existsSync(`${path}.4`)).toBe(false);
  });

  test("a line larger than maxBytes still gets written, alone", () => {
    const path = join(dir, "big.log");
    const f = new RotatingFile({ path, maxBytes: 4 });
    f.write("a");
    f.write("0123456789");
    f.write("b");
    f.close();
    expect(read(`${path}.2`)).toBe("a\n");
    expect(read(`${path}.1`)).toBe("0123456789\n");
    expect(read(path)).toBe("b\n");
  });

  test("keep = 0 truncates instead of keeping old files", () => {
    const path = join(dir, "k0.log");
    const f = new RotatingFile({ path, maxBytes: 4, keep: 0 });
    f.write("aa");
    f.write("bb");
    f.close();
    expect(read(path)).toBe("bb\n");
    expect(existsSync(`${path}.1`)).toBe(false);
  });

  test("the file is created with the given mode", () => {
    const path = join(dir, "m.log");
    const f = new RotatingFile({ path, mode: 0o600 });
    f.write("x");
    f.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("never throws; reports a failure once until a write succeeds again", () => {
    const sub = join(dir, "missing");
    const path = join(sub, "x.log");
    const errors: unknown[] = [];
    const f = new RotatingFile({ path, onError: (e) => errors.push(e) });
    expect(f.write("a")).toBe(false);
    expect(f.write("b")).toBe(false);
    expect(errors.length).toBe(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe("ENOENT");
    // the directory appears: writing works again
    require("node:fs").mkdirSync(sub);
    expect(f.write("c")).toBe(true);
    expect(read(path)).toBe("c\n");
    f.close();
    expect(f.write("d")).toBe(false); // closed: dropped, not an error
    expect(errors.length).toBe(1);
  });

  test("a throwing error callback does not escape", () => {
    const f = new RotatingFile({
      path: join(dir, "no", "such", "dir.log"),
      onError: () => {
        throw new Error("callback broke");
      },
    });
    expect(() => f.write("x")).not.toThrow();
  });

  test("a second failure episode is reported again", () => {
    const sub = join(dir, "flaky");
    const errors: unknown[] = [];
    const f = new RotatingFile({ path: join(sub, "x.log"), maxBytes: 2, onError: (e) => errors.push(e) });
    f.write("a"); // fails
    require("node:fs").mkdirSync(sub);
    f.write("b"); // works
    rmSync(sub, { recursive: true });
    f.write("c"); // needs a rotation -> rename fails
    expect(errors.length).toBe(2);
  });
});
