// The rescue shell: a unit PID 1 adds by itself when the rootfs has a shell, wanted by
// the rescue target, on the console, started again whenever it exits (an operator at
// the console can fix /etc/hearth, then `reboot`). BusyBox's cttyhack gives the shell
// the console as its controlling terminal, so ^C and job control work.

import type { SystemConfig, UnitConfig } from "../config/types.ts";
import { parseUnitToml } from "../config/load.ts";

export const RESCUE_SHELL_UNIT = "rescue-shell";

export interface ShellFound {
  shell: string; // "/bin/sh"
  busybox: string | null; // "/bin/busybox", for cttyhack
}

/** The unit's TOML, as a user would write it. Pure. */
export function rescueShellToml(found: ShellFound): string {
  const argv = found.busybox ? [found.busybox, "cttyhack", found.shell] : [found.shell];
  return [
    "[unit]",
    'description = "Rescue shell on the console"',
    'wanted_by = ["rescue"]',
    "[service]",
    `exec_start = ${JSON.stringify(argv)}`,
    'standard_input = "tty"',
    'restart = "always"',
    "restart_sec = 1",
    '# An interactive shell ignores SIGTERM; SIGHUP (the terminal hung up) ends it.',
    'kill_signal = "SIGHUP"',
    "timeout_stop_sec = 5",
    'environment = { HOME = "/root", TERM = "linux", PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", PS1 = "rescue# " }',
    "",
  ].join("\n");
}

/** The rescue shell unit, or null when there is no shell (or a unit of that name exists). */
export function rescueShellUnit(found: ShellFound | null, units: Map<string, UnitConfig>, system: SystemConfig): UnitConfig | null {
  if (found === null || units.has(RESCUE_SHELL_UNIT)) return null;
  return parseUnitToml(RESCUE_SHELL_UNIT, rescueShellToml(found), "(built in)", system).unit;
}

/** The units with the rescue shell added (its wanted_by pulls it into rescue). */
export function withRescueShell(units: Map<string, UnitConfig>, shell: UnitConfig | null): Map<string, UnitConfig> {
  return shell === null ? units : new Map([...units, [shell.name, shell]]);
}
