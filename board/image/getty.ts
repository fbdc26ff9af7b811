// A login prompt on the board's serial console, as a Debian board with systemd has it:
// the systemd package's own serial-getty@.service, unchanged, converted by `hearth import`
// at build time; agetty from util-linux (it links only glibc); BusyBox's login as
// /bin/login (agetty runs it once a name is typed). The instance for the board's console
// is wanted by a getty target, as systemd-getty-generator does for the kernel's console=
// and a board builder does by enabling serial-getty@CONSOLE.service in getty.target.wants.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Board } from "./board.ts";
import { installWithLibraries } from "./libs.ts";
import { formatNote, importUnits, renderUnit } from "../../src/import/importer.ts";

const TEMPLATE = "lib/systemd/system/serial-getty@.service";

/**
 * The getty target: serial-getty@CONSOLE, started by `hearth.wants=getty` on the kernel
 * command line. Not wanted by multi-user in the example: its console also carries the
 * rescue shell the boot tests drive (hearth.wants=rescue-shell), which the getty's
 * vhangup of the terminal would hang up. Pure.
 */
export function gettyTarget(console: string): string {
  return [
    "# The login prompts (systemd's getty.target), written by the image builder: a getty on",
    "# the board's console, as systemd-getty-generator starts one for the kernel's console=.",
    "# Start it with hearth.wants=getty, or make it wanted_by = [\"multi-user\"] on a product.",
    "[unit]",
    'description = "Login Prompts"',
    `wants = ["serial-getty@${console}"]`,
    "",
  ].join("\n");
}

/**
 * Installs the getty into ROOT: agetty with its libraries, the imported template as
 * etc/hearth/units/serial-getty@.toml and the getty target. unpack(pkg) gives the
 * unpacked package of the board's architecture. Returns what the import dropped, each
 * as `FILE:LINE: dropped KEY=VALUE (why)`.
 */
export function installGetty(board: Board, root: string, unpack: (pkg: string) => string): string[] {
  installWithLibraries(["/sbin/agetty"], [unpack("util-linux"), unpack("libc6")], root, board.arch);
  const imported = importUnits([join(unpack("systemd"), TEMPLATE)]);
  const unit = imported.units.find((u) => u.name === "serial-getty@");
  if (imported.errors.length > 0 || !unit) throw new Error(`hearth import ${TEMPLATE}: ${imported.errors.join("; ") || "no unit"}`);
  const units = join(root, "etc/hearth/units");
  mkdirSync(units, { recursive: true });
  writeFileSync(join(units, "serial-getty@.toml"), renderUnit(unit));
  writeFileSync(join(units, "getty.toml"), gettyTarget(board.console));
  return imported.notes.map(formatNote);
}
