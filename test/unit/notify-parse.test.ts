import { describe, expect, test } from "bun:test";
import { NOTIFY_MAX_BYTES, fdNameIsValid, parseNotify, type NotifyMessage } from "../../src/engine/notify-message.ts";

const enc = new TextEncoder();

function ok(payload: string | Uint8Array): NotifyMessage {
  const r = parseNotify(typeof payload === "string" ? enc.encode(payload) : payload);
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.msg;
}

function rejected(payload: string | Uint8Array): string {
  const r = parseNotify(typeof payload === "string" ? enc.encode(payload) : payload);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.msg, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  return r.error;
}

describe("parseNotify: framing", () => {
  test("plain READY=1", () => {
    const m = ok("READY=1");
    expect(m.ready).toBe(true);
    expect(m.reloading).toBe(false);
    expect(m.stopping).toBe(false);
    expect(m.state).toBe("ready");
    expect(m.fdStore).toBe(false);
    expect(m.fdStoreRemove).toBe(false);
    expect(m.barrier).toBe(false);
    expect(m.unknown).toEqual([]);
    expect(m.warnings).toEqual([]);
    expect(m.status).toBeUndefined();
  });

  test("empty datagram is a message with nothing in it", () => {
    const m = ok("");
    expect(m.ready).toBe(false);
    expect(m.state).toBeUndefined();
    expect(m.warnings).toEqual([]);
  });

  test("trailing newline (redis, uwsgi) is tolerated", () => {
    const m = ok("READY=1\nSTATUS=Ready to accept connections tcp\n");
    expect(m.ready).toBe(true);
    expect(m.status).toBe("Ready to accept connections tcp");
    expect(m.warnings).toEqual([]);
  });

  test("empty lines and CR line endings are skipped", () => {
    const m = ok("\n\nREADY=1\r\n\r\nSTATUS=x\r\n");
    expect(m.ready).toBe(true);
    expect(m.status).toBe("x");
  });

  test("a value may contain '='", () => {
    expect(ok("STATUS=a=b=c").status).toBe("a=b=c");
  });

  test("values are not trimmed", () => {
    expect(ok("STATUS=  spaced  ").status).toBe("  spaced  ");
    const m = ok("READY=1 ");
    expect(m.ready).toBe(false);
    expect(m.warnings.length).toBe(1);
  });

  test("keys are case-sensitive: ready=1 is unknown", () => {
    const m = ok("ready=1");
    expect(m.ready).toBe(false);
    expect(m.unknown).toEqual(["ready"]);
  });

  test("UTF-8 status text is kept", () => {
    expect(ok("STATUS=prêt — 準備完了").status).toBe("prêt — 準備完了");
  });

  test("invalid UTF-8 rejects the datagram", () => {
    const bytes = new Uint8Array([...enc.encode("READY=1\nSTATUS="), 0xff, 0xfe]);
    expect(rejected(bytes)).toContain("UTF-8");
    // a truncated multi-byte sequence
    expect(rejected(new Uint8Array([...enc.encode("STATUS=a"), 0xe2, 0x82]))).toContain("UTF-8");
  });

  test("a NUL byte rejects the datagram", () => {
    expect(rejected(new Uint8Array([...enc.encode("READY=1"), 0]))).toContain("NUL");
    expect(rejected(new Uint8Array([...enc.encode("READY=1\nST"), 0, ...enc.encode("ATUS=x")]))).toContain("offset 10");
  });

  test("a line without '=' rejects the datagram", () => {
    const e = rejected("READY=1\nhello\n");
    expect(e).toContain("line 2");
    expect(e).toContain("hello");
  });

  test("an over-long datagram is rejected; exactly the limit is accepted", () => {
    const head = "STATUS=";
    const fill = (n: number) => head + "x".repeat(n - head.length);
    expect(rejected(fill(NOTIFY_MAX_BYTES + 1))).toContain("too long");
    expect(ok(fill(NOTIFY_MAX_BYTES)).status).toBeUndefined(); // longer than STATUS_TEXT_MAX: ignored
    expect(ok(fill(NOTIFY_MAX_BYTES)).warnings[0]).toContain("STATUS=");
  });

  test("unknown keys are ignored but listed once each", () => {
    const m = ok("READY=1\nX_CUSTOM=1\nBUSERROR=org.x\nX_CUSTOM=2\n=weird");
    expect(m.ready).toBe(true);
    expect(m.unknown).toEqual(["X_CUSTOM", "BUSERROR", ""]);
    expect(m.warnings).toEqual([]);
  });
});

describe("parseNotify: READY / RELOADING / STOPPING", () => {
  test("php-fpm: repeated READY=1 is fine", () => {
    const m = ok("READY=1\nREADY=1\nSTATUS=Ready to handle connections");
    expect(m.ready).toBe(true);
    expect(m.warnings).toEqual([]);
  });

  test("haproxy: RELOADING=1 before READY=1, in separate datagrams", () => {
    const first = ok("RELOADING=1\n");
    expect(first.reloading).toBe(true);
    expect(first.ready).toBe(false);
    expect(first.state).toBe("reloading");
    const second = ok("READY=1\n");
    expect(second.ready).toBe(true);
    expect(second.state).toBe("ready");
  });

  test("precedence in one message: STOPPING > READY > RELOADING", () => {
    expect(ok("RELOADING=1\nREADY=1").state).toBe("ready");
    expect(ok("READY=1\nRELOADING=1").state).toBe("ready");
    expect(ok("READY=1\nSTOPPING=1\nRELOADING=1").state).toBe("stopping");
    expect(ok("STOPPING=1\nREADY=1").state).toBe("stopping");
    // the raw flags are all kept (READY=1 + RELOADING=1 is the notify-reload "reloaded at start" pair)
    const m = ok("RELOADING=1\nREADY=1\nMONOTONIC_USEC=123456");
    expect(m.ready && m.reloading).toBe(true);
    expect(m.monotonicUsec).toBe(123456);
  });

  test("a flag with another value than 1 is ignored with a warning", () => {
    const m = ok("READY=0\nSTOPPING=yes\nSTATUS=still here");
    expect(m.ready).toBe(false);
    expect(m.stopping).toBe(false);
    expect(m.state).toBeUndefined();
    expect(m.status).toBe("still here");
    expect(m.warnings.length).toBe(2);
    expect(m.warnings[0]).toContain("READY");
  });

  test("READY=0 after READY=1 does not undo it", () => {
    const m = ok("READY=1\nREADY=0");
    expect(m.ready).toBe(true);
    expect(m.warnings.length).toBe(1);
  });
});

describe("parseNotify: STATUS / ERRNO / MAINPID / NOTIFYACCESS", () => {
  test("knot: an empty STATUS= clears the status", () => {
    const m = ok("STATUS=\n");
    expect(m.status).toBe("");
    expect(m.warnings).toEqual([]);
  });

  test("no STATUS= leaves the status alone", () => {
    expect(ok("READY=1").status).toBeUndefined();
  });

  test("repeated keys: the last value wins, with a warning when the values differ", () => {
    const m = ok("STATUS=one\nSTATUS=two");
    expect(m.status).toBe("two");
    expect(m.warnings.length).toBe(1);
    expect(m.warnings[0]).toContain("STATUS");
    expect(ok("STATUS=same\nSTATUS=same").warnings).toEqual([]);
  });

  test("ERRNO: numbers 0..4095 and errno names", () => {
    expect(ok("ERRNO=0").errno).toBe(0);
    expect(ok("ERRNO=2").errno).toBe(2);
    expect(ok("ERRNO=4095").errno).toBe(4095);
    expect(ok("ERRNO=ENOENT").errno).toBe(2);
    for (const bad of ["4096", "-1", "abc", "", "2x", "0x10"]) {
      const m = ok(`ERRNO=${bad}\nREADY=1`);
      expect(m.errno).toBeUndefined();
      expect(m.ready).toBe(true);
      expect(m.warnings.length).toBe(1);
    }
  });

  test("MAINPID: positive integers only", () => {
    expect(ok("MAINPID=4242").mainPid).toBe(4242);
    expect(ok("MAINPID=1").mainPid).toBe(1);
    for (const bad of ["abc", "0", "-5", "", "12.5", "2147483648", " 12"]) {
      const m = ok(`READY=1\nMAINPID=${bad}`);
      expect(m.mainPid).toBeUndefined();
      expect(m.ready).toBe(true);
      expect(m.warnings[0]).toContain("MAINPID");
    }
  });

  test("NOTIFYACCESS: none | main | exec | all", () => {
    for (const v of ["none", "main", "exec", "all"]) expect(ok(`NOTIFYACCESS=${v}`).notifyAccess).toBe(v as never);
    const m = ok("NOTIFYACCESS=everyone");
    expect(m.notifyAccess).toBeUndefined();
    expect(m.warnings.length).toBe(1);
  });
});

describe("parseNotify: watchdog and timeouts", () => {
  test("WATCHDOG=1 and WATCHDOG=trigger", () => {
    expect(ok("WATCHDOG=1").watchdog).toBe("ping");
    expect(ok("WATCHDOG=trigger").watchdog).toBe("trigger");
    const m = ok("WATCHDOG=2");
    expect(m.watchdog).toBeUndefined();
    expect(m.warnings.length).toBe(1);
  });

  test("WATCHDOG_USEC and EXTEND_TIMEOUT_USEC", () => {
    const m = ok("WATCHDOG_USEC=30000000\nEXTEND_TIMEOUT_USEC=5000000");
    expect(m.watchdogUsec).toBe(30_000_000);
    expect(m.extendTimeoutUsec).toBe(5_000_000);
    expect(ok("WATCHDOG_USEC=0").watchdogUsec).toBe(0);
    // u64 max (systemd's USEC_INFINITY) is accepted as a (huge) number
    expect(ok("EXTEND_TIMEOUT_USEC=18446744073709551615").extendTimeoutUsec).toBeGreaterThan(1e19);
  });

  test("bad usec values are ignored with a warning, the rest applies", () => {
    const m = ok("WATCHDOG_USEC=-1\nEXTEND_TIMEOUT_USEC=5s\nWATCHDOG=1\nSTATUS=ok");
    expect(m.watchdogUsec).toBeUndefined();
    expect(m.extendTimeoutUsec).toBeUndefined();
    expect(m.watchdog).toBe("ping");
    expect(m.status).toBe("ok");
    expect(m.warnings.length).toBe(2);
    expect(ok("WATCHDOG_USEC=18446744073709551616").watchdogUsec).toBeUndefined();
  });

  test("MONOTONIC_USEC: number when safe, bigint beyond 2^53", () => {
    expect(ok("MONOTONIC_USEC=1234567890").monotonicUsec).toBe(1234567890);
    expect(ok("MONOTONIC_USEC=18446744073709551615").monotonicUsec).toBe(18446744073709551615n);
    const m = ok("MONOTONIC_USEC=soon");
    expect(m.monotonicUsec).toBeUndefined();
    expect(m.warnings.length).toBe(1);
  });
});

describe("parseNotify: fd store and barrier", () => {
  test("FDSTORE=1 without FDNAME gets the name 'stored'", () => {
    const m = ok("FDSTORE=1");
    expect(m.fdStore).toBe(true);
    expect(m.fdName).toBe("stored");
    expect(m.fdPoll).toBeUndefined();
  });

  test("FDSTORE=1 with FDNAME and FDPOLL=0", () => {
    const m = ok("FDSTORE=1\nFDNAME=listen-http\nFDPOLL=0");
    expect(m.fdStore).toBe(true);
    expect(m.fdName).toBe("listen-http");
    expect(m.fdPoll).toBe(false);
    expect(m.warnings).toEqual([]);
  });

  test("an invalid FDNAME is ignored: FDSTORE=1 falls back to 'stored'", () => {
    for (const bad of ["a:b", "tab\there", "x".repeat(256), "é", ""]) {
      const m = ok(`FDSTORE=1\nFDNAME=${bad}`);
      expect(m.fdStore).toBe(true);
      expect(m.fdName).toBe("stored");
      expect(m.warnings[0]).toContain("FDNAME");
    }
    expect(ok(`FDSTORE=1\nFDNAME=${"x".repeat(255)}`).fdName).toBe("x".repeat(255));
  });

  test("FDSTOREREMOVE=1 needs a valid FDNAME", () => {
    const m = ok("FDSTOREREMOVE=1\nFDNAME=sock");
    expect(m.fdStoreRemove).toBe(true);
    expect(m.fdName).toBe("sock");
    const n = ok("FDSTOREREMOVE=1");
    expect(n.fdStoreRemove).toBe(false);
    expect(n.fdName).toBeUndefined();
    expect(n.warnings[0]).toContain("FDSTOREREMOVE");
  });

  test("FDPOLL only 0 or 1", () => {
    expect(ok("FDPOLL=1").fdPoll).toBe(true);
    expect(ok("FDPOLL=no").fdPoll).toBeUndefined();
  });

  test("BARRIER=1 (systemd-notify's closing message)", () => {
    const m = ok("BARRIER=1");
    expect(m.barrier).toBe(true);
    expect(m.state).toBeUndefined();
  });

  test("a full systemd-notify style message", () => {
    const m = ok("READY=1\nSTATUS=serving\nMAINPID=31337\nX_SYSTEMD_UNIT_ACTIVE=1\n");
    expect(m).toEqual({
      ready: true,
      reloading: false,
      stopping: false,
      state: "ready",
      status: "serving",
      mainPid: 31337,
      fdStore: false,
      fdStoreRemove: false,
      barrier: false,
      unknown: ["X_SYSTEMD_UNIT_ACTIVE"],
      warnings: [],
    });
  });
});

describe("fdNameIsValid", () => {
  test("printable ASCII without ':' up to 255", () => {
    expect(fdNameIsValid("stored")).toBe(true);
    expect(fdNameIsValid("a b~!")).toBe(true);
    expect(fdNameIsValid("a:b")).toBe(false);
    expect(fdNameIsValid("\x7f")).toBe(false);
    expect(fdNameIsValid("x".repeat(256))).toBe(false);
  });
});
