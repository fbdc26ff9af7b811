// Where unit files come from: directories in layers, lowest first. In system mode
// /usr/lib/hearth/units (the vendor's, often read-only) < /etc/hearth/units (the admin's)
// < /run/hearth/units (made at run time), as systemd's /usr/lib < /etc < /run.
//
// A file in a later layer replaces one of the same name in an earlier one (a template
// NAME@.toml and an instance's NAME@INST.toml alike); NAME.toml as a symbolic link to
// /dev/null masks the unit (systemctl mask). Drop-ins NAME.toml.d/*.toml are gathered
// from every layer and apply in the order of their file names; one of the same file name
// in a later layer replaces the earlier (systemd's rule for foo.service.d/).

import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { DropIn } from "./dropins.ts";

/** The layers of `hearth run -c CONFDIR` / `hearth check -c CONFDIR`: CONFDIR/units, with optional vendor and runtime layers around it. */
export interface UnitLayers {
  vendor: string | null;
  admin: string; // where enable, disable and mask write
  runtime: string | null;
}

export const SYSTEM_LAYERS: UnitLayers = { vendor: "/usr/lib/hearth/units", admin: "/etc/hearth/units", runtime: "/run/hearth/units" };

/**
 * The layers for a configuration directory: the system's three for /etc/hearth; else
 * CONFDIR/units as the admin layer, RUNDIR/units as the runtime one (when given: /run/hearth
 * is RUNDIR in system mode) and a vendor layer only when given (`--vendor-units DIR`).
 */
export function layersFor(confDir: string, runDir: string | null, vendor: string | null): UnitLayers {
  if (confDir === "/etc/hearth") return SYSTEM_LAYERS;
  return { vendor, admin: `${confDir}/units`, runtime: runDir === null ? null : `${runDir}/units` };
}

export function layerDirs(layers: UnitLayers): string[] {
  return [layers.vendor, layers.admin, layers.runtime].filter((d): d is string => d !== null);
}

/** One directory's entries: NAME.toml files, NAME.toml.d directories, and what else it holds. */
export interface LayerEntry { name: string; path: string }

export const MASK_TARGET = "/dev/null";

/** True when the path is a symbolic link to /dev/null (a masked unit). */
export function isMaskLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === MASK_TARGET;
  } catch {
    return false;
  }
}

/** The unit files of all layers, the later replacing the earlier by name; entries of each are `name.toml`. */
export function unitFilesOf(perLayer: { dir: string; entries: string[] }[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const { dir, entries } of perLayer) {
    for (const entry of entries) if (entry.endsWith(".toml")) files.set(entry.slice(0, -".toml".length), `${dir}/${entry}`);
  }
  return files;
}

/** The drop-in files of every NAME.toml.d in the layers, by unit name, in the order they apply. */
export function dropInFilesOf(
  perLayer: { dir: string; entries: string[] }[], problem: (file: string, message: string, severity?: "warning") => void, max: number,
): Map<string, string[]> {
  const byUnit = new Map<string, Map<string, string>>(); // unit -> file name -> path (the later layer's)
  let count = 0;
  for (const { dir, entries } of perLayer) {
    for (const entry of entries) {
      if (!entry.endsWith(".toml.d")) continue;
      const path = `${dir}/${entry}`;
      let names: string[];
      try {
        names = readdirSync(path).sort();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") problem(path, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      const unit = entry.slice(0, -".toml.d".length);
      const files = byUnit.get(unit) ?? new Map<string, string>();
      for (const name of names) {
        if (!name.endsWith(".toml")) {
          // systemd's are foo.service.d/*.conf: say why one written that way does nothing.
          if (name.endsWith(".conf")) problem(join(path, name), "ignored: a drop-in is NAME.toml.d/*.toml (TOML, as a unit file)", "warning");
          continue;
        }
        if (++count > max) { problem(path, `more than ${max} drop-in files: the rest are not read`); break; }
        files.set(name, join(path, name));
      }
      byUnit.set(unit, files);
    }
  }
  const out = new Map<string, string[]>();
  for (const [unit, files] of byUnit) {
    const names = [...files.keys()].sort();
    if (names.length > 0) out.set(unit, names.map((n) => files.get(n)!));
  }
  return out;
}

/** Reads the drop-in texts; an unreadable one is reported (and its unit not loaded). */
export function readDropIns(
  files: Map<string, string[]>, read: (path: string, unit: string) => string | null,
): Map<string, DropIn[]> {
  const out = new Map<string, DropIn[]>();
  for (const [unit, paths] of files) {
    const list: DropIn[] = [];
    for (const file of paths) {
      const text = read(file, unit);
      if (text !== null) list.push({ file, text });
    }
    if (list.length > 0) out.set(unit, list);
  }
  return out;
}
