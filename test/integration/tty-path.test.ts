// A unit's own terminal (tty_path, standard_input = "tty" and its -force/-fail forms,
// tty_reset, tty_vhangup) through `hearth run`, on pseudo-terminals the test opens from
// /dev/ptmx, as a serial console would be; and agetty run as systemd's serial-getty@.service.
// Needs root (TIOCSCTTY force, vhangup, agetty).

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { close, openFile, readNonBlocking } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import { openPty, type Pty } from "../../ffi/pty.ts";
import { O, TERMIOS, TTY_IOCTL } from "../../ffi/constants.ts";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { report as startAndReport } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
const ptys: Record<string, Pty> = {};
const PTY_NAMES = ["ctty", "output", "held", "reset", "hangup", "after", "getty"];

/** Everything readable now on a master (nothing when the slave side was hung up). */
function drainMaster(master: number): string {
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    let n;
    try {
      n = readNonBlocking(master, buf);
    } catch {
      return text; // EIO: no slave open at the moment
    }
    if (typeof n !== "number") return text;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

/** What appears on a pty's master, read until `re` matches. */
async function waitOnTerminal(name: string, re: RegExp): Promise<string> {
  let seen = "";
  await poll(`${re} on ${ptys[name]!.path}`, () => {
    seen += drainMaster(ptys[name]!.master);
    return re.test(seen);
  }, { timeoutMs: 10_000, context: () => seen });
  return seen;
}

/** The fields of /proc/PID/stat a shell reports: tty_nr, pgrp, tpgid and its pid (run with ":": "$$" is no expansion). */
const STAT_SCRIPT = 'set -- $(cat /proc/$$/stat); echo "tty_nr=$7 pgrp=$5 tpgid=$8 pid=$$"; if [ -t 0 ]; then echo stdin-is-a-tty; fi';

function unit(lines: string[]): string {
  return `[service]\n${lines.join("\n")}\n`;
}

beforeAll(async () => {
  if (!isRoot) return;
  for (const name of PTY_NAMES) ptys[name] = openPty();
  const tty = (name: string) => `tty_path = "${ptys[name]!.path}"`;
  conf = writeConf({
    ctty: unit(['type = "oneshot"', `exec_start = [":/bin/sh", "-c", ${JSON.stringify(STAT_SCRIPT)}]`, 'standard_input = "tty"', 'standard_output = "journal"', tty("ctty")]),
    output: unit(['type = "oneshot"', 'exec_start = "/bin/echo hello on the terminal"', 'standard_input = "tty"', tty("output")]),
    holder: unit(['exec_start = "/bin/sleep 600"', 'standard_input = "tty"', tty("held")]),
    "fail-taker": unit(['type = "oneshot"', 'exec_start = "/bin/true"', 'standard_input = "tty-fail"', tty("held")]),
    "force-taker": unit(['type = "oneshot"', `exec_start = [":/bin/sh", "-c", ${JSON.stringify(STAT_SCRIPT)}]`, 'standard_input = "tty-force"', 'standard_output = "journal"', tty("held")]),
    reset: unit(['type = "oneshot"', 'exec_start = "/bin/stty -a"', 'standard_input = "tty"', 'standard_output = "journal"', "tty_reset = true", tty("reset")]),
    "hangup-holder": unit(['exec_start = "/bin/sleep 600"', 'standard_input = "tty"', tty("hangup")]),
    "hangup-taker": unit(['exec_start = "/bin/sleep 600"', 'standard_input = "tty"', "tty_vhangup = true", tty("hangup")]),
    "hangup-after": unit(['exec_start = "/bin/sleep 600"', "tty_vhangup = true", tty("after")]),
    // systemd's serial-getty@.service, key for key (UtmpIdentifier= aside: see docs).
    getty: unit([
      'type = "idle"',
      String.raw`exec_start = ["-/sbin/agetty", "-o", "-p -- \\u", "--keep-baud", "115200,57600,38400,9600", "-", "$TERM"]`,
      'standard_input = "tty"', tty("getty"), "tty_reset = true", "tty_vhangup = true",
      'restart = "always"', 'environment = { TERM = "vt220" }',
    ]),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterEach(() => {
  for (const pty of Object.values(ptys)) drainMaster(pty.master);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
  for (const pty of Object.values(ptys)) close(pty.master);
});

/** The "tty_nr=.. pgrp=.. tpgid=.. pid=.." line as numbers. */
function statLine(lines: string[]): Record<string, number> {
  const line = lines.find((l) => l.startsWith("tty_nr="));
  if (!line) throw new Error(`no stat line in:\n${lines.join("\n")}`);
  return Object.fromEntries(line.split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k!, Number(v)]));
}

describe.skipIf(!isRoot)("tty_path", () => {
  test("the process has it as its controlling terminal, in the foreground, on stdin", async () => {
    const lines = await startAndReport(m, "ctty");
    const stat = statLine(lines);
    expect(stat.tty_nr).toBe(Number(statSync(ptys.ctty!.path).rdev));
    expect(stat.pgrp).toBe(stat.pid);
    expect(stat.tpgid).toBe(stat.pgrp);
    expect(lines).toContain("stdin-is-a-tty");
  });

  test("stdout follows stdin onto the terminal", async () => {
    expect((await m.ctl("start", "output")).code).toBe(0);
    await waitOnTerminal("output", /hello on the terminal/);
  });

  test('"tty-fail" fails when another session holds the terminal; "tty-force" takes it', async () => {
    expect((await m.ctl("start", "holder")).code).toBe(0);
    const r = await m.ctl("start", "fail-taker");
    expect(r.code).toBe(1);
    const status = await m.ctl("status", "fail-taker");
    expect(status.stdout).toContain(`tty ${ptys.held!.path}: Operation not permitted`);
    const stat = statLine(await startAndReport(m, "force-taker"));
    expect(stat.tty_nr).toBe(Number(statSync(ptys.held!.path).rdev));
    expect(stat.tpgid).toBe(stat.pgrp);
    await m.ctl("stop", "holder");
  });

  test("tty_reset puts back canonical mode and echo", async () => {
    const termios = new Uint32Array(TERMIOS.size / 4 + 1);
    expect(libc.ioctl(ptys.reset!.master, TTY_IOCTL.TCGETS, termios)).toBe(0);
    termios[3] = termios[3]! & ~(TERMIOS.ICANON | TERMIOS.ECHO);
    expect(libc.ioctl(ptys.reset!.master, TTY_IOCTL.TCSETS, termios)).toBe(0);
    const text = (await startAndReport(m, "reset")).join(" ");
    expect(text).toMatch(/(^|\s)icanon(\s|$)/);
    expect(text).toMatch(/(^|\s)echo(\s|$)/);
  });

  test("tty_vhangup hangs up the terminal's previous session", async () => {
    expect((await m.ctl("start", "hangup-holder")).code).toBe(0);
    expect((await m.ctl("start", "hangup-taker")).code).toBe(0);
    await poll("hangup-holder down", async () => (await m.unit("hangup-holder")).active !== "active");
    expect((await m.unit("hangup-taker")).active).toBe("active");
    await m.ctl("stop", "hangup-taker");
  });
});

describe.skipIf(!isRoot)("tty_vhangup after the unit", () => {
  test("a stop hangs up whoever still has the terminal open, as systemd", async () => {
    expect((await m.ctl("start", "hangup-after")).code).toBe(0);
    const slave = openFile(ptys.after!.path, O.RDWR | O.NOCTTY | O.NONBLOCK | O.CLOEXEC);
    try {
      const buf = new Uint8Array(16);
      expect(readNonBlocking(slave, buf)).toBe("again");
      expect((await m.ctl("stop", "hangup-after")).code).toBe(0);
      let after: string;
      try {
        after = String(readNonBlocking(slave, buf));
      } catch (e) {
        after = (e as Error).message;
      }
      expect(after).toMatch(/eof|EIO/);
    } finally {
      close(slave);
    }
  });
});

describe.skipIf(!isRoot)("a getty on a serial console", () => {
  test("agetty, as serial-getty@.service runs it, gives a login prompt", async () => {
    expect((await m.ctl("start", "getty")).code).toBe(0);
    const seen = await waitOnTerminal("getty", /login: /);
    expect(seen).toMatch(/login: $/);
    expect((await m.unit("getty")).active).toBe("active");
    expect((await m.ctl("stop", "getty")).code).toBe(0);
  });
});
