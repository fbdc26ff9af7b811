// The hardware watchdog and the way down, under QEMU (TCG): real kernels, the emulated
// i6300ESB (`-device i6300esb -action watchdog=reset`) and softdog. Everything is read
// from the serial console, and from QEMU's own events over QMP: WATCHDOG when the
// emulated device fires, RESET, SHUTDOWN with its reason — each with QEMU's timestamp,
// which the console lines' arrival times are compared with (one host clock).
//
// The scenarios boot in a pool, two at a time (one core each), the long ones first; each
// boot is bounded in time. The commands are typed into a shell on the console
// (hearth.wants=rescue-shell: the rescue shell unit, started besides the target).

import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { CpioEntry } from "../../board/image/cpio.ts";
import { boot, imagesMissing, REPO, type BootOptions, type BootRun } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"] as const;
type Board = (typeof BOARDS)[number];

const SHELL = "hearth.wants=rescue-shell";
const PROMPT = /rescue# /;
const UP = /Startup finished in/;
const SECOND_BOOT = /Linux version[\s\S]*Linux version/;
const ARMED = /Hardware watchdog '([^']+)' armed on (\S+): timeout (\d+)s, ping every ([\d.]+)s/;

const file = (name: string, text: string): CpioEntry => ({ name, mode: 0o100644, data: Buffer.from(text) });
const unit = (name: string, toml: string) => file(`etc/hearth/units/${name}.toml`, toml);

/** The example's system.toml, with other kernel modules and more in [watchdog]. */
function systemToml(edit: { modules?: string[]; watchdog?: string }): CpioEntry {
  let text = readFileSync(join(REPO, "board/rootfs/etc/hearth/system.toml"), "utf8");
  if (edit.modules) text = text.replace(/^kernel_modules = .*$/m, `kernel_modules = ${JSON.stringify(edit.modules)}`);
  if (edit.watchdog) text = text.replace(/^\[watchdog\]$/m, `[watchdog]\n${edit.watchdog}`);
  return file("etc/hearth/system.toml", text);
}

interface Scenario {
  name: string;
  board: Board;
  opts: BootOptions;
}

// ---- the scenarios ---------------------------------------------------------------------

/** 60 s up with a 5 s watchdog: idle for 30 s, then with a service spinning on the CPU; then poweroff. */
const stayUp = (board: Board): Scenario => ({
  name: "stay-up", board,
  opts: {
    append: `hearth.watchdog_sec=5 ${SHELL}`,
    overlay: [unit("hog", '[unit]\ndescription = "keeps the CPU busy"\n[service]\nexec_start = ["/bin/sh", "-c", "while :; do :; done"]\n')],
    qmp: true,
    interact: [
      { when: UP, send: "\n" },
      {
        when: PROMPT,
        send: "hearthctl debug freeze; echo debug-exit=$?; sleep 29; hearthctl watchdog --json; " +
          "hearthctl start hog; sleep 30; hearthctl watchdog --json; hearthctl watchdog\n",
      },
      { when: /Jitter: .*\r?\n[\s\S]*rescue# /, send: "hearthctl poweroff\n" },
    ],
    timeoutMs: 180_000,
  },
});

/** A frozen manager loop (hearth ctl debug freeze) with the i6300ESB or with softdog. */
const freeze = (board: Board, driver: "i6300esb" | "softdog"): Scenario => ({
  name: `freeze-${driver}`, board,
  opts: {
    append: `hearth.watchdog_sec=5 hearth.debug=1 hearth.log_level=notice ${SHELL}`,
    overlay: driver === "softdog" ? [systemToml({ modules: ["softdog"] })] : [],
    qmp: true, exitOnReboot: false, stopWhen: SECOND_BOOT,
    interact: [
      { when: UP, send: "\n" },
      { when: PROMPT, send: "hearthctl debug freeze 2; echo alive-after-freeze\n" },
      { when: /The manager loop runs again after a 2s freeze/, send: "hearthctl debug freeze\n", delayMs: 500 },
    ],
    timeoutMs: 120_000,
  },
});

/** A reboot during which a service refuses to stop: shutdown_sec = 10 s must reset the board. */
const hungReboot = (board: Board): Scenario => ({
  name: "hung-reboot", board,
  opts: {
    append: `hearth.watchdog_sec=5 hearth.shutdown_watchdog_sec=10 ${SHELL}`,
    overlay: [unit("stubborn", '[unit]\ndescription = "refuses to stop"\nwanted_by = ["multi-user"]\n[service]\n' +
      "exec_start = [\"/bin/sh\", \"-c\", \"trap '' TERM; while :; do sleep 1; done\"]\ntimeout_stop_sec = \"infinity\"\n")],
    qmp: true, exitOnReboot: false, stopWhen: SECOND_BOOT,
    interact: [{ when: UP, send: "\n" }, { when: PROMPT, send: "hearthctl reboot\n" }],
    timeoutMs: 120_000,
  },
});

/** poweroff needs no extra boot: stay-up ends with it. Ctrl-Alt-Del from QEMU's keyboard. */
const ctrlAltDel = (board: Board): Scenario => ({
  name: "ctrl-alt-del", board,
  opts: {
    append: "hearth.watchdog_sec=5",
    // The aarch64 board's keyboard is virtio: its drivers are loaded for this boot.
    overlay: board === "qemu-aarch64" ? [systemToml({ modules: ["i6300esb", "virtio_pci", "virtio_input"] })] : [],
    qmp: true,
    interact: [{ when: /selfcheck: units/, qmp: (q) => q.ctrlAltDel(), delayMs: 500 }],
    timeoutMs: 120_000,
  },
});

/** A critical unit crashing past its start limit: reset by the watchdog; the next boot says so. */
const critical = (board: Board): Scenario => ({
  name: "critical-unit", board,
  opts: {
    append: `hearth.watchdog_sec=5 ${SHELL}`,
    overlay: [
      systemToml({ watchdog: 'critical_units = ["critical"]' }),
      unit("critical", '[unit]\ndescription = "critical: crashes unless the watchdog reset the board"\nwanted_by = ["multi-user"]\n' +
        '[service]\nexec_start = ["/bin/sh", "-c", "/usr/bin/hearthctl watchdog --json | grep -q \'\\"lastResetByWatchdog\\":true\' ' +
        '&& exec sleep 100000; echo critical: crashing; exit 1"]\nrestart = "on-failure"\nrestart_sec = 0.2\n' +
        "start_limit_burst = 3\nstart_limit_interval_sec = 60\n"),
    ],
    qmp: true, exitOnReboot: false,
    interact: [
      { when: /pings stopped/ },
      { when: /Linux version/ }, // the second boot
      { when: UP, send: "\n" },
      { when: PROMPT, send: "hearthctl watchdog; hearthctl poweroff\n" },
    ],
    timeoutMs: 150_000,
  },
});

/** The rescue target: not armed, so an operator at the console is not reset away; SIGRTMIN+4 powers off. */
const rescue = (board: Board): Scenario => ({
  name: "rescue", board,
  opts: {
    append: "rescue hearth.watchdog_sec=3",
    qmp: true,
    interact: [
      { when: PROMPT, send: "hearthctl watchdog; sleep 8; echo still-here-$((6*7))\n" },
      { when: /still-here-42\r?\n/, send: "kill -38 1\n" }, // SIGRTMIN+4, as systemd's poweroff
    ],
    timeoutMs: 120_000,
  },
});

/** start_limit_action = reboot-force (aarch64) and poweroff-immediate (x86_64). */
const startLimit = (board: Board): Scenario => {
  const action = board === "qemu-aarch64" ? "reboot-force" : "poweroff-immediate";
  return {
    name: `start-limit-${action}`, board,
    opts: {
      append: "hearth.watchdog_sec=5",
      overlay: [unit("crashy", '[unit]\ndescription = "crashes at once"\nwanted_by = ["multi-user"]\n' +
        `[service]\nexec_start = ["/bin/sh", "-c", "exit 1"]\nrestart = "always"\nrestart_sec = 0.2\nstart_limit_burst = 2\nstart_limit_action = "${action}"\n`)],
      qmp: true,
      timeoutMs: 120_000,
    },
  };
};

// ---- running them ----------------------------------------------------------------------

const SCENARIOS: Scenario[] = [
  ...BOARDS.map(stayUp), // the long ones first
  ...BOARDS.map((b) => freeze(b, "i6300esb")),
  ...BOARDS.map(hungReboot),
  ...BOARDS.map(critical),
  ...BOARDS.map((b) => freeze(b, "softdog")),
  ...BOARDS.map(ctrlAltDel),
  ...BOARDS.map(startLimit),
  rescue("qemu-aarch64"),
];

const runs = new Map<string, BootRun>();
const key = (name: string, board: Board) => `${name} ${board}`;
const SLOTS = Math.max(1, Math.min(2, availableParallelism()));

beforeAll(async () => {
  for (const b of BOARDS) {
    const missing = imagesMissing(b);
    if (missing) throw new Error(missing);
  }
  const queue = [...SCENARIOS];
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) runs.set(key(s.name, s.board), await boot(s.board, s.opts));
  };
  await Promise.all(Array.from({ length: SLOTS }, worker));
}, 1_200_000);

function run(name: string, board: Board): BootRun {
  const r = runs.get(key(name, board));
  if (!r) throw new Error(`${name} on ${board} did not run`);
  return r;
}

/** The console, for a failing test's output. */
function explain(name: string, r: BootRun) {
  console.error(`--- ${name}: exit ${r.exitCode}, timed out ${r.timedOut}, ${r.stepsTaken} steps, events ${JSON.stringify(r.events.map((e) => e.event))}\n${r.console.slice(-7000)}`);
}

function check(name: string, board: Board, body: (r: BootRun) => void) {
  const r = run(name, board);
  try {
    body(r);
  } catch (e) {
    explain(`${name} on ${board}`, r);
    throw e;
  }
}

const ms = (x: number) => `${(x / 1000).toFixed(2)} s`;

interface Figures {
  pings: number;
  timeoutSec: number;
  readBackSec: number;
  recentIntervalsMs: number[];
  figures: { meanMs: number; jitterMs: { p50: number; p99: number; max: number } };
}

/** The `hearthctl watchdog --json` replies printed on the console, in order. */
function watchdogReplies(text: string): Figures[] {
  return [...text.matchAll(/^\{"ok":true,"exit":0,"watchdog":.*\}\r?$/gm)].map((m) => JSON.parse(m[0].trim()).watchdog);
}

function spread(intervals: number[], planned: number) {
  const d = intervals.map((i) => Math.abs(i - planned)).sort((a, b) => a - b);
  const at = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0;
  const mean = intervals.reduce((a, b) => a + b, 0) / Math.max(1, intervals.length);
  return `${intervals.length} intervals, mean ${mean.toFixed(1)} ms, |interval - 2500| p50 ${at(0.5).toFixed(1)} ms, max ${(d.at(-1) ?? 0).toFixed(1)} ms`;
}

for (const board of BOARDS) {
  describe(board, () => {
    test("hearth.watchdog_sec=5: the timeout read back is 5 s, the guest stays up 60 s, idle and with a busy service", () => {
      check("stay-up", board, (r) => {
        const armed = r.console.match(ARMED);
        expect(armed?.slice(1)).toEqual(["i6300ESB timer", "/dev/watchdog0", "5", "2.5"]);
        expect(r.console).toContain("debug requests are refused: the kernel command line has no hearth.debug=1");
        expect(r.console).toMatch(/debug-exit=1\r?$/m);
        const [idle, loaded] = watchdogReplies(r.console);
        expect(idle!.timeoutSec).toBe(5);
        expect(idle!.readBackSec).toBe(5); // WDIOC_GETTIMEOUT
        const up = (r.timeOf(/Powering off\./) ?? 0) - (r.timeOf(ARMED) ?? Infinity);
        expect(up).toBeGreaterThan(60_000);
        expect(r.events.map((e) => e.event)).not.toContain("WATCHDOG");
        expect(r.console).not.toMatch(SECOND_BOOT);
        // The last 64 intervals: those after the first reply were measured with the hog running.
        const busy = loaded!.recentIntervalsMs.slice(idle!.pings - 1);
        expect(Math.max(...loaded!.recentIntervalsMs)).toBeLessThan(5000);
        console.log(`${board}: pings every 2.5 s for ${ms(up)}: idle ${spread(idle!.recentIntervalsMs, 2500)}; ` +
          `with a busy service ${spread(busy, 2500)}; overall jitter p50 ${loaded!.figures.jitterMs.p50} ms, ` +
          `p99 ${loaded!.figures.jitterMs.p99} ms, max ${loaded!.figures.jitterMs.max} ms over ${loaded!.pings} pings`);
      });
    }, 10_000);

    test("hearth ctl poweroff with the watchdog armed: orderly stop, disarmed, QEMU exits 0, no reset", () => {
      check("stay-up", board, (r) => {
        expect(r.console).toContain("Going down for poweroff: hearth ctl poweroff");
        expect(r.console).toContain("Hardware watchdog armed for the way down: the board resets if a step hangs for 120s.");
        expect(r.console).toContain("[  OK  ] Stopped heartbeat (notify, service watchdog).");
        expect(r.console).toContain("Hardware watchdog on /dev/watchdog0 disarmed (poweroff).");
        expect(r.console).toContain("reboot: Power down");
        expect(r.events.filter((e) => e.event === "SHUTDOWN").map((e) => e.data.reason)).toEqual(["guest-shutdown"]);
        expect(r.exitCode).toBe(0);
      });
    }, 10_000);

    test("a frozen manager loop gets the guest reset within 5 s + 1 s by the i6300ESB; a 2 s freeze does not", () => {
      check("freeze-i6300esb", board, (r) => {
        expect(r.console).toContain("The manager loop runs again after a 2s freeze");
        expect(r.console).toMatch(/alive-after-freeze\r?\n/);
        const frozen = r.timeOf(/Freezing the manager loop for good/)!;
        const fired = r.events.find((e) => e.event === "WATCHDOG");
        expect(fired?.data.action).toBe("reset");
        expect(r.events.filter((e) => e.event === "WATCHDOG")).toHaveLength(1);
        const toReset = fired!.at - frozen;
        expect(toReset).toBeGreaterThan(2000); // the last ping was at most 2.5 s before
        expect(toReset).toBeLessThan(6000);
        expect(r.stopped).toBe(true); // the kernel banner, a second time
        console.log(`${board}: freeze to i6300ESB reset ${ms(toReset)}, to the second kernel banner ${ms(r.timeOf(/Linux version/, 2)! - frozen)}`);
      });
    }, 10_000);

    test("softdog, the second driver: armed the same way, and resets a frozen loop", () => {
      check("freeze-softdog", board, (r) => {
        expect(r.console.match(ARMED)?.slice(1)).toEqual(["Software Watchdog", "/dev/watchdog0", "5", "2.5"]);
        const frozen = r.timeOf(/Freezing the manager loop for good/)!;
        const reset = r.events.find((e) => e.event === "RESET");
        expect(r.events.map((e) => e.event)).not.toContain("WATCHDOG"); // not QEMU's device: the kernel reset the guest
        expect(reset!.at - frozen).toBeLessThan(6000);
        expect(r.stopped).toBe(true);
        console.log(`${board}: freeze to softdog reset ${ms(reset!.at - frozen)}`);
      });
    }, 10_000);

    test("a reboot that hangs on a service that will not stop: the watchdog resets the guest 10 s after the way down began", () => {
      check("hung-reboot", board, (r) => {
        const began = r.timeOf(/Going down for reboot: hearth ctl reboot/)!;
        expect(r.console).toContain("Hardware watchdog armed for the way down: the board resets if a step hangs for 10s.");
        const fired = r.events.find((e) => e.event === "WATCHDOG");
        expect(fired).toBeDefined();
        const toReset = fired!.at - began;
        expect(toReset).toBeGreaterThan(9500);
        expect(toReset).toBeLessThan(11_500);
        expect(r.console).not.toContain("Rebooting.");
        expect(r.stopped).toBe(true);
        console.log(`${board}: hung reboot reset by the watchdog ${ms(toReset)} after the way down began`);
      });
    }, 10_000);

    test("Ctrl-Alt-Del from QEMU's keyboard: an orderly reboot", () => {
      check("ctrl-alt-del", board, (r) => {
        expect(r.console).toContain("Going down for reboot: Ctrl-Alt-Del.");
        expect(r.console).toContain("[  OK  ] Stopped heartbeat (notify, service watchdog).");
        expect(r.console).toContain("Rebooting.");
        expect(r.console).toContain("reboot: Restarting system");
        expect(r.events.map((e) => e.event)).not.toContain("WATCHDOG");
        expect(r.events.find((e) => e.event === "SHUTDOWN")?.data.reason).toBe("guest-reset");
        expect(r.exitCode).toBe(0);
      });
    }, 10_000);

    test("a critical unit crashing past its start limit: the pings stop, the watchdog resets, the next boot says why", () => {
      check("critical-unit", board, (r) => {
        const stopped = r.timeOf(/critical unit critical exhausted its restart budget \(start-limit-hit\): hardware watchdog pings stopped/)!;
        expect(stopped).not.toBeNull();
        const fired = r.events.find((e) => e.event === "WATCHDOG");
        expect(fired!.at - stopped).toBeLessThan(5500);
        const second = r.console.slice(r.console.lastIndexOf("Linux version"));
        expect(second).toContain("The last reset was caused by the hardware watchdog (WDIOF_CARDRESET in the boot status of /dev/watchdog0)");
        expect(second).toContain("Last reset: by the watchdog (WDIOF_CARDRESET in the boot status)");
        expect(second).toContain("reboot: Power down");
        expect(r.exitCode).toBe(0);
        console.log(`${board}: critical unit failed for good, reset ${ms(fired!.at - stopped)} after the pings stopped`);
      });
    }, 10_000);

    test("start_limit_action: -force skips stopping the units, -immediate even the final stage", () => {
      if (board === "qemu-aarch64") {
        check("start-limit-reboot-force", board, (r) => {
          expect(r.console).toContain("Going down for reboot (forced: units are not stopped): reboot-force requested by crashy.");
          expect(r.console).not.toContain("[  OK  ] Stopped");
          expect(r.console).toContain("Rebooting.");
          expect(r.events.find((e) => e.event === "SHUTDOWN")?.data.reason).toBe("guest-reset");
        });
      } else {
        check("start-limit-poweroff-immediate", board, (r) => {
          expect(r.console).toContain("Powering off immediately: poweroff-immediate requested by crashy.");
          expect(r.console).not.toContain("Going down");
          expect(r.console).toContain("reboot: Power down");
          expect(r.events.find((e) => e.event === "SHUTDOWN")?.data.reason).toBe("guest-shutdown");
          expect(r.exitCode).toBe(0);
        });
      }
    }, 10_000);
  });
}

describe("qemu-aarch64", () => {
  test("the rescue target does not arm the watchdog: the operator is not reset away; SIGRTMIN+4 powers off", () => {
    check("rescue", "qemu-aarch64", (r) => {
      expect(r.console).toContain("Hardware watchdog not armed in the rescue target (runtime_sec = 3s)");
      expect(r.console).toContain("State: not armed: the rescue target: an operator at the console is not reset away");
      expect(r.console).toMatch(/still-here-42\r?\n/);
      expect(r.console).toContain("Going down for poweroff: SIGRTMIN+4.");
      expect(r.events.map((e) => e.event)).not.toContain("WATCHDOG");
      expect(r.exitCode).toBe(0);
    });
  }, 10_000);
});
