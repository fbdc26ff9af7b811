// A board without a real-time clock boots in 1970 and jumps to the date when NTP sets the
// clock. A persistent daily timer whose last run (its stamp in /var/lib/hearth/timers) was
// two days before the real date must then fire once: not at the 1970 boot, not twice, and
// not again a few seconds later. QEMU's -rtc base= starts the guest's clock in 1970; the
// jump is BusyBox's date -s from the rescue shell, as an NTP client's settimeofday would be.

import { beforeAll, describe, expect, test } from "bun:test";
import type { CpioEntry } from "../../board/image/cpio.ts";
import { boot, imagesMissing, type BootRun } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"];
const PROMPT = /rescue# /;
const DAY = 86_400;
const now = Math.floor(Date.now() / 1000);

const dir = (name: string): CpioEntry => ({ name, mode: 0o040755 });
const file = (name: string, text: string, mtime?: number): CpioEntry => ({ name, mode: 0o100644, data: Buffer.from(text), ...(mtime ? { mtime } : {}) });

const OVERLAY: CpioEntry[] = [
  file("etc/hearth/units/daily.toml", '[service]\ntype = "oneshot"\nexec_start = ["/bin/sh", "-c", "echo DAILY-RAN-$((6 * 7))"]\n'),
  file("etc/hearth/units/daily.timer.toml", '[unit]\nwanted_by = ["multi-user"]\n[timer]\non_calendar = "daily"\npersistent = true\naccuracy_sec = "1s"\n'),
  dir("var"), dir("var/lib"), dir("var/lib/hearth"), dir("var/lib/hearth/timers"),
  file("var/lib/hearth/timers/daily.timer", "", now - 2 * DAY), // the last run, two days before the real date
];

// How many times the service ran, as its log says (the marker is computed, so the command line never matches).
const RUNS = "hearthctl logs -n 500 daily | grep -c DAILY-RAN-42";

const runs = new Map<string, BootRun>();

beforeAll(async () => {
  for (const board of BOARDS) {
    const missing = imagesMissing(board);
    if (missing) throw new Error(missing);
    runs.set(board, await boot(board, {
      append: "hearth.wants=rescue-shell",
      rtcBase: "1970-01-02T00:00:00",
      overlay: OVERLAY,
      interact: [
        { when: /Started self check/, send: "\n" },
        {
          when: PROMPT,
          send: `echo "YEAR $(busybox date +%Y) BEFORE $(${RUNS})"; busybox date -s @${now} >/dev/null; ` +
            `for i in $(seq 60); do [ "$(${RUNS})" -ge 1 ] && break; sleep 0.5; done; echo "AFTER $(${RUNS})"; ` +
            `sleep 5; echo "LATER $(${RUNS})"; hearthctl list-timers; echo JUMP-DONE\n`,
        },
        { when: /JUMP-DONE\r?\n[\s\S]*rescue# /, send: "hearthctl poweroff\n" },
      ],
      timeoutMs: 180_000,
    }));
  }
}, BOARDS.length * 210_000);

for (const board of BOARDS) {
  describe(`${board}: a persistent daily timer on a board that boots in 1970`, () => {
    test("it does not fire at the 1970 boot, fires once after the clock jumps to the real date, and not again", () => {
      const run = runs.get(board)!;
      const said = (word: string) => new RegExp(`${word} (\\d+)`).exec(run.console)?.[1];
      if (!run.console.includes("JUMP-DONE")) console.error(run.console.slice(-6000));
      expect(said("YEAR")).toBe("1970");
      expect(said("BEFORE")).toBe("0");
      expect(said("AFTER")).toBe("1");
      expect(said("LATER")).toBe("1");
      expect(run.console).toMatch(/daily\.timer\s+daily/); // list-timers: the timer and what it starts
      expect(run.console).toContain("reboot: Power down");
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(0);
    });
  });
}
