import { describe, expect, test } from "bun:test";
import { facilityName, parseSyslog, parseSyslogText, severityName } from "../../src/log/syslog-parse.ts";
import { parseKmsg } from "../../src/log/kmsg.ts";
import { formatEntry } from "../../src/log/format.ts";

describe("syslog messages as daemons send them", () => {
  test("glibc's syslog(3): no host, TAG[PID]", () => {
    const m = parseSyslogText("<78>Dec  6 05:30:01 cron[4242]: (CRON) INFO (pidfile fd = 3)");
    expect(m).toMatchObject({ format: "rfc3164", facility: 9, severity: 6, ident: "cron", claimedPid: 4242, hostname: null });
    expect(m.lines).toEqual(["(CRON) INFO (pidfile fd = 3)"]);
  });

  test("logger's local format: TAG without pid", () => {
    const m = parseSyslogText("<13>Dec  6 05:33:17 mytag: local fmt");
    expect(m).toMatchObject({ facility: 1, severity: 5, ident: "mytag", claimedPid: null, lines: ["local fmt"] });
  });

  test("RFC 3164 with a host before the tag", () => {
    const m = parseSyslogText("<13>Dec  6 05:33:17 vm mytag: bsd fmt");
    expect(m).toMatchObject({ hostname: "vm", ident: "mytag", lines: ["bsd fmt"] });
  });

  test("RFC 5424 with structured data holding an escaped ]", () => {
    const m = parseSyslogText('<13>1 2026-12-06T05:33:17.920259+00:00 vm mytag 77 ID47 [timeQuality tzKnown="1"][x@1 a="b\\]"] new fmt');
    expect(m).toMatchObject({
      format: "rfc5424", facility: 1, severity: 5, ident: "mytag", claimedPid: 77, hostname: "vm", msgid: "ID47",
      structuredData: '[timeQuality tzKnown="1"][x@1 a="b\\]"]', lines: ["new fmt"],
    });
  });

  test("RFC 5424 with nil fields, no structured data, a BOM before the message", () => {
    const m = parseSyslogText("<165>1 - - - - - - \uFEFFhello");
    expect(m).toMatchObject({ format: "rfc5424", facility: 20, severity: 5, ident: null, claimedPid: null, hostname: null, msgid: null, structuredData: null, lines: ["hello"] });
  });

  test("several lines in one datagram are several lines; NULs and trailing blanks go", () => {
    const m = parseSyslog(new TextEncoder().encode("<11>Dec  6 05:30:01 app[1]: first\n  second\0\n\n"));
    expect(m.lines).toEqual(["first", "  second"]);
    expect(m.severity).toBe(3);
  });
});

describe("malformed syslog input is kept as text, never thrown", () => {
  test("no PRI: user.notice, the whole text, no identifier taken from it", () => {
    const m = parseSyslogText("cron[1]: pretending");
    expect(m).toMatchObject({ format: "raw", facility: 1, severity: 5, ident: null, lines: ["cron[1]: pretending"] });
  });

  test("a PRI out of range is no PRI", () => {
    expect(parseSyslogText("<192>x: y")).toMatchObject({ format: "raw", ident: null, lines: ["<192>x: y"] });
  });

  test("a broken RFC 5424 header is read as RFC 3164 text", () => {
    for (const text of ["<13>1 onlyone", "<13>1 a b c d e [unclosed sd", "<13>1 a b c d e -trailing"]) {
      const m = parseSyslogText(text);
      expect(m.format).toBe("rfc3164");
      expect(m.lines.join(" ")).toContain(text.slice(4).split(" ")[1] ?? "");
    }
  });

  test("random bytes never throw and give lines of text", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(next() % 300);
      for (let i = 0; i < bytes.length; i++) bytes[i] = round % 2 ? next() & 0xff : "<>1 []\"\\:-abc0123456789\n"[next() % 24]!.charCodeAt(0);
      const m = parseSyslog(bytes);
      expect(m.severity).toBeGreaterThanOrEqual(0);
      expect(m.severity).toBeLessThanOrEqual(7);
      expect(m.facility).toBeLessThanOrEqual(23);
      for (const line of m.lines) expect(line.includes("\n")).toBe(false);
    }
  });

  test("an empty datagram is a message with no lines", () => {
    expect(parseSyslog(new Uint8Array(0)).lines).toEqual([]);
  });
});

describe("names", () => {
  test("facilities and severities", () => {
    expect([facilityName(0), facilityName(9), facilityName(23), facilityName(30)]).toEqual(["kern", "cron", "local7", "30"]);
    expect([severityName(0), severityName(6), severityName(7)]).toEqual(["emerg", "info", "debug"]);
  });

  test("a syslog line shows its identifier, the sender's pid and facility.severity", () => {
    const line = formatEntry({ time: Date.UTC(2026, 11, 6, 5, 30, 1), unit: "cron", priority: 6, facility: 9, stream: "syslog", text: "hi", pid: 42, ident: "cron" }, { utc: true });
    expect(line).toBe("Dec 06 05:30:01 cron[42] <cron.info>: hi");
  });
});

describe("kernel records (/dev/kmsg)", () => {
  test("PRI,SEQ,USEC,FLAGS;TEXT with a dictionary after it", () => {
    expect(parseKmsg("6,339,5140900,-;NET: Registered protocol family 10\n SUBSYSTEM=net\n")).toEqual({
      facility: 0, severity: 6, seq: 339, usec: 5140900, text: "NET: Registered protocol family 10",
    });
  });

  test("userspace's records say their facility; junk is no record", () => {
    expect(parseKmsg("14,2,3,c;hello")).toMatchObject({ facility: 1, severity: 6 });
    for (const junk of ["", "no header", "a,b,c,d;x", "1,2;x", "-1,2,3,-;x"]) expect(parseKmsg(junk)).toBeNull();
  });
});
