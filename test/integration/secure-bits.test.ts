// secure_bits (systemd's SecureBits=) with real processes, read back from inside: prctl
// PR_GET_SECUREBITS after the exec, and what the bits did to the capabilities.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { oneshot, report } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;

const probe = [
  `echo "bits: $(/usr/bin/python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(27, 0, 0, 0, 0))')"`,
  `echo "caps: $(awk '/^CapEff/ { e = $2 } /^CapAmb/ { a = $2 } END { print e, a }' /proc/self/status)"`,
].join("; ");

beforeAll(async () => {
  conf = writeConf({
    noroot: oneshot(probe, 'secure_bits = ["noroot", "noroot-locked"]'),
    "keep-caps": oneshot(probe, 'secure_bits = ["keep-caps-locked"]', 'user = "daemon"', 'ambient_capabilities = ["CAP_NET_BIND_SERVICE"]'),
    plain: oneshot(probe),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

const answer = (lines: string[], label: string) => lines.find((l) => l.startsWith(`${label}: `))!.slice(label.length + 2);

describe.skipIf(!isRoot)("secure_bits", () => {
  test("noroot: root's program gets no capabilities from its exec, and the bit is locked", async () => {
    const lines = await report(m, "noroot");
    expect(answer(lines, "bits")).toBe("3"); // SECBIT_NOROOT | SECBIT_NOROOT_LOCKED
    expect(answer(lines, "caps")).toBe("0000000000000000 0000000000000000");
  });

  test("keep-caps-locked beside ambient capabilities: the change of user keeps them, the lock stays (keep-caps itself ends at the exec)", async () => {
    const lines = await report(m, "keep-caps");
    expect(answer(lines, "bits")).toBe("32"); // SECBIT_KEEP_CAPS_LOCKED
    expect(answer(lines, "caps")).toBe("0000000000000400 0000000000000400"); // CAP_NET_BIND_SERVICE, effective and ambient
  });

  test("without the key: no bits, and root keeps its capabilities", async () => {
    const lines = await report(m, "plain");
    expect(answer(lines, "bits")).toBe("0");
    expect(answer(lines, "caps")).not.toMatch(/^0000000000000000 /);
  });
});
