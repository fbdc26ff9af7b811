// daemon-reexec as PID 1 on both QEMU boards (TCG, the emulated i6300ESB armed with
// a 5 s timeout, QEMU set to reset on it): /sbin/hearth is replaced by a copy of itself
// (a new file at the path, the running one deleted: as an update does), PID 1 re-execs
// into it, and every service keeps its pid while the hardware watchdog, held open across
// the exec and pinged on both sides of it, never fires: no WATCHDOG or RESET event on QMP.

import { beforeAll, describe, expect, test } from "bun:test";
import { boot, imagesMissing, type BootRun } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"];
const PROMPT = /rescue# /;
const runs = new Map<string, BootRun>();

// The units' main pids, one "name=pid" per running unit, sorted, on one line after a marker.
const PIDS = "hearthctl list --json | tr '{' '\\n' | sed -n 's/.*\"name\":\"\\([^\"]*\\)\".*\"mainPid\":\\([0-9][0-9]*\\).*/\\1=\\2/p' | sort | tr '\\n' ' '";

beforeAll(async () => {
  for (const board of BOARDS) {
    const missing = imagesMissing(board);
    if (missing) throw new Error(missing);
    runs.set(board, await boot(board, {
      append: "hearth.watchdog_sec=5 hearth.wants=rescue-shell hearth.log_level=info",
      qmp: true,
      interact: [
        { when: /Started self check/, send: "\n" }, // the last of the start (a oneshot): the pids stay from here
        {
          when: PROMPT,
          send: `echo "PIDS-BEFORE $(${PIDS})"; cp /sbin/hearth /sbin/hearth.new && mv /sbin/hearth.new /sbin/hearth; ` +
            "hearthctl daemon-reexec; for i in $(seq 100); do hearthctl logs -n 500 2>/dev/null | grep -q 'Re-executed:' && break; sleep 0.2; done; " +
            `echo "PIDS-AFTER $(${PIDS})"; sleep 15; hearthctl watchdog; echo REEXEC-DONE\n`,
        },
        { when: /REEXEC-DONE\r?\n[\s\S]*rescue# /, send: "hearthctl poweroff\n" },
      ],
      timeoutMs: 180_000,
    }));
  }
}, BOARDS.length * 210_000);

for (const board of BOARDS) describe(`${board}: daemon-reexec into a replaced /sbin/hearth`, () => {
  const explain = () => `console:\n${runs.get(board)!.console.slice(-8000)}`;

  test("every service keeps its pid, the watchdog does not reset the board, and it powers off cleanly", () => {
    const run = runs.get(board)!;
    if (run.timedOut || run.exitCode !== 0 || !run.console.includes("REEXEC-DONE")) console.error(explain(), JSON.stringify(run.events));
    expect(run.console).toContain("Re-executing /sbin/hearth");
    expect(run.console).toMatch(/Re-executed: \d+ units taken over as they were, \d+ main processes kept/);
    // The lines printed (not the command echoed): "name=pid" pairs.
    const pids = (marker: string) => new RegExp(`${marker} ((?:[\\w@.:-]+=\\d+ )+)`).exec(run.console)?.[1]?.trim().split(" ") ?? [];
    const before = pids("PIDS-BEFORE"), after = pids("PIDS-AFTER");
    expect(before.length).toBeGreaterThan(3);
    expect(after).toEqual(before);
    expect(run.events.filter((e) => e.event === "WATCHDOG" || e.event === "RESET").map((e) => e.event)).toEqual([]);
    expect(run.console).not.toContain("Kernel panic");
    expect(run.console).toContain("reboot: Power down");
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).toBe(0);
  });
});
