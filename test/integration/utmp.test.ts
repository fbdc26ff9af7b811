// utmp_identifier / utmp_mode under `hearth run` (which writes RUNDIR/utmp and RUNDIR/wtmp,
// never the host's): the records login(1) and who(1) read, as systemd writes them for a getty.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UTMP_SIZE, UT_TYPE, decodeUtmp } from "../../ffi/utmp.ts";
import { cleanup, poll, startManager, writeConf } from "../support/harness.ts";

function records(path: string) {
  const bytes = new Uint8Array(readFileSync(path));
  const out = [];
  for (let at = 0; at + UTMP_SIZE <= bytes.length; at += UTMP_SIZE) out.push(decodeUtmp(bytes.subarray(at, at + UTMP_SIZE)));
  return out;
}

describe("utmp", () => {
  test("a getty's INIT_PROCESS and LOGIN_PROCESS records, then DEAD_PROCESS in the same utmp slot with its exit; all in wtmp", async () => {
    const conf = writeConf({
      "getty@": `[service]\nexec_start = ["sh", "-c", "read line; exit 3"]\nstandard_input = "null"\nutmp_identifier = "%I"\nutmp_mode = "login"\n`,
      other: `[service]\nexec_start = ["sleep", "60"]\nutmp_identifier = "other"\n`,
    });
    const m = await startManager(conf);
    try {
      const utmp = join(m.runDir, "utmp"), wtmp = join(m.runDir, "wtmp");
      // A record that is no process's stays where it is (a BOOT_TIME, type 2).
      const boot = new Uint8Array(UTMP_SIZE);
      boot[0] = 2;
      writeFileSync(utmp, boot);
      writeFileSync(wtmp, "");
      expect((await m.ctl("start", "other")).code).toBe(0);
      expect((await m.ctl("start", "getty@ttyS0")).code).toBe(0);
      await poll("getty's exit to be recorded", () => records(wtmp).some((r) => r.type === UT_TYPE.DEAD_PROCESS));
      const slots = records(utmp);
      expect(slots.map((r) => [r.type, r.id])).toEqual([[2, ""], [UT_TYPE.INIT_PROCESS, "ther"], [UT_TYPE.DEAD_PROCESS, "tyS0"]]);
      const getty = slots[2]!;
      expect([getty.exitTermination, getty.exitStatus]).toEqual([1, 3]); // CLD_EXITED, status 3
      const logged = records(wtmp).filter((r) => r.id === "tyS0");
      expect(logged.map((r) => [r.type, r.user])).toEqual([[UT_TYPE.INIT_PROCESS, ""], [UT_TYPE.LOGIN_PROCESS, "LOGIN"], [UT_TYPE.DEAD_PROCESS, ""]]);
      expect(new Set(logged.map((r) => r.pid)).size).toBe(1);
      expect(logged[0]!.pid).toBe(slots[2]!.pid);
      expect(Math.abs(logged[0]!.timeMs - Date.now())).toBeLessThan(60_000);
      expect(m.text()).not.toMatch(/internal error|utmp:/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });

  test("without the files nothing is written and nothing complains, as systemd", async () => {
    const conf = writeConf({ other: `[service]\ntype = "oneshot"\nexec_start = ["true"]\nutmp_identifier = "x"\n` });
    const m = await startManager(conf);
    try {
      expect((await m.ctl("start", "other")).code).toBe(0);
      expect(existsSync(join(m.runDir, "utmp"))).toBe(false);
      expect(m.text()).not.toMatch(/utmp/);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});
