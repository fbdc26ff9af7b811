// struct utmp as ffi/utmp.ts writes it, read back by util-linux's utmpdump (glibc's layout)
// where it is installed; and the id and line as systemd derives them.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UT_TYPE, decodeUtmp, encodeUtmp } from "../../ffi/utmp.ts";
import { utmpId, utmpLine } from "../../src/manager/utmp.ts";

const record = { type: UT_TYPE.LOGIN_PROCESS, pid: 4242, line: "ttyS0", id: "tyS0", user: "LOGIN", session: 4242, timeMs: Date.UTC(2026, 0, 2, 3, 4, 5), exitTermination: 0, exitStatus: 0 };

describe("utmp records", () => {
  test("a record reads back as written", () => {
    expect(decodeUtmp(encodeUtmp(record))).toEqual(record);
  });

  test.skipIf(!Bun.which("utmpdump"))("utmpdump reads type, pid, id, user, line and time where glibc puts them", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-utmp-"));
    try {
      writeFileSync(join(dir, "utmp"), encodeUtmp(record));
      const out = Bun.spawnSync(["utmpdump", join(dir, "utmp")]).stdout.toString();
      expect(out).toMatch(/^\[6\] \[04242\] \[tyS0\] \[LOGIN\s*\] \[ttyS0\s*\] \[\s*\] \[0\.0\.0\.0\s*\] \[2026-01-02T03:04:05,000000\+00:00\]$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the id is the last four characters and the line the tty without /dev/, as systemd", () => {
    expect(utmpId("ttyS0")).toBe("tyS0");
    expect(utmpId("tty1")).toBe("tty1");
    expect(utmpLine("/dev/ttyAMA0")).toBe("ttyAMA0");
    expect(utmpLine("/dev/pts/3")).toBe("pts/3");
    expect(utmpLine(null)).toBe("");
  });
});
