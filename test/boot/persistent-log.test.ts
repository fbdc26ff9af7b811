// What happened before the last reset, on a board booted from its disk image
// (qemu-aarch64, virtio disk, ext4 root): the persistent log survives a watchdog reset and
// `hearthctl logs --boot -1` shows its last lines and says how the boot ended (a
// watchdog reset, then a clean reboot); with the
// root read-only, the example still comes up (the log is off, said once).
// One VM at a time.

import { beforeAll, describe, expect, test } from "bun:test";
import { boot, diskImageMissing, selfcheckUnits, type BootRun } from "./qemu.ts";

const BOARD = "qemu-aarch64";
const UP = /Startup finished in/;
const PROMPT = /rescue# /;
const MARK = "The manager loop runs again after a 2s freeze";
let reset: BootRun, readOnly: BootRun;

/** A command whose output the shell frames with PREVIOUS-N-BEGIN/END (computed: the typed line holds neither). */
const answer = (n: number, command: string) => `echo PREVIOUS-$((${n - 1}+1))-BEGIN; ${command}; echo PREVIOUS-$((${n - 1}+1))-END`;
/** What the command framed as N printed (with any console lines of the manager in between). */
function answered(console: string, n: number): string {
  const begin = console.indexOf(`PREVIOUS-${n}-BEGIN`);
  const end = console.indexOf(`PREVIOUS-${n}-END`, begin);
  return begin < 0 || end < 0 ? "" : console.slice(begin, end);
}

beforeAll(async () => {
  const missing = diskImageMissing(BOARD);
  if (missing) throw new Error(missing);
  reset = await boot(BOARD, {
    disk: true, qmp: true, exitOnReboot: false,
    // A 10 s watchdog: a TCG guest on a loaded host may stall some seconds (the second boot
    // also replays the journal), and a reset then would lose the first boot's log (seen).
    append: "hearth.watchdog_sec=10 hearth.debug=1 hearth.wants=rescue-shell",
    interact: [
      { when: UP, send: "\n" },
      // A line to find after the reset (logged once the 2 s freeze ends; the command returns
      // when it begins). Waited for until the log wrote it (its 2 s batch), then twice the
      // time within which the log fdatasyncs what it wrote (5 s), then a frozen manager: the
      // line must come back from the disk. (agai[n]: the pattern does not match itself.)
      { when: PROMPT, send: "hearthctl debug freeze 2; i=0; until grep -q 'loop runs agai[n]' /var/log/hearth/boot.log* || [ $i -ge 60 ]; " +
        "do sleep 1; i=$((i+1)); done; sleep 10; hearthctl debug freeze\n" },
      { when: UP, send: "\n" },
      // (hearth.debug=1 logs every notification: the marker is looked for, not the last lines)
      // The answers are found between lines the shell prints (PREVIOUS-2-BEGIN ...): the echo
      // of the typed command is no landmark, hearth's console lines cut into it.
      { when: PROMPT, send: `${answer(2, "hearthctl logs --boot -1 | grep -e 'runs again' -e '^--'")}; hearthctl reboot\n` },
      // The third boot: the second ended in order.
      { when: UP, send: "\n" },
      { when: PROMPT, send: `${answer(3, "hearthctl logs --boot -1 | tail -n 2")}; hearthctl poweroff\n` },
    ],
    stopWhen: /reboot: Power down/,
    timeoutMs: 300_000,
  });
  readOnly = await boot(BOARD, { disk: true, append: "ro hearth.wants=poweroff-when-up", timeoutMs: 240_000 });
}, 600_000);

describe("logs that survive a reset", () => {
  test("after a watchdog reset, hearthctl logs --boot -1 shows the lines logged before it and says the watchdog reset the board", () => {
    const r = reset;
    const explain = () => console.error(r.console.slice(-8000));
    if (r.timedOut) explain();
    expect(r.timedOut).toBe(false);
    expect(r.events.some((e) => e.event === "WATCHDOG")).toBe(true);
    const second = r.console.indexOf("Linux version", r.console.indexOf("Linux version") + 1);
    expect(second).toBeGreaterThan(0);
    expect(r.console.indexOf("PREVIOUS-2-BEGIN")).toBeGreaterThan(second);
    const after = answered(r.console, 2);
    if (!after.includes("-- the previous boot ended: watchdog reset")) explain();
    expect(after).toContain(MARK); // read back from the disk: the second boot never printed it
    expect(after).toContain("-- the previous boot ended: watchdog reset (WDIOF_CARDRESET in the watchdog's boot status)");
  });

  test("after a reboot, the previous boot ended clean; the log was closed before the root went read-only", () => {
    const r = reset;
    expect(answered(r.console, 3)).toMatch(/-- the previous boot ended: clean reboot \(/);
    expect(r.console).not.toContain("persistent log /var/log/hearth off");
    expect(r.console).toContain("reboot: Power down");
  });

  test("a read-only root: the example comes up and powers off; the persistent log is off, said once", () => {
    const r = readOnly;
    if (r.timedOut || r.exitCode !== 0) console.error(r.console.slice(-6000));
    expect(r.console).toContain("EXT4-fs (vda2): mounted filesystem");
    expect(r.console).toMatch(/Startup finished in .* units ready/);
    const units = selfcheckUnits(r.console);
    expect([...units.values()].filter((u) => u.active === "failed").map((u) => u.name)).toEqual([]);
    expect(r.console.match(/persistent log \/var\/log\/hearth off: .*[Rr]ead-only/g)?.length).toBe(1);
    expect(r.console).toContain("reboot: Power down");
    expect(r.exitCode).toBe(0);
  });
});
