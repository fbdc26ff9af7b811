// `hearth ctl cat | enable | disable | mask | unmask UNIT`: the unit's files across the
// layers, and the admin layer's changes to them. Only the admin layer is ever written
// (/etc/hearth/units; CONFDIR/units under hearth run): the vendor's may be read-only, and
// the runtime layer is only cleared of a mask by unmask, as systemctl unmask clears /run.
//
// hearth has no [install] section: wanted_by is in force as soon as the file is loaded.
// So `disable` writes a drop-in that resets wanted_by and required_by (named to sort
// after the others, so its reset comes last), `enable` removes it; `mask` links
// NAME.toml to /dev/null in the admin layer (systemd's mask), `unmask` removes the link.
// As systemctl does, each change is followed by a daemon-reload (done by the caller).

import { existsSync, lstatSync, mkdirSync, readdirSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dropInFilesOf, isMaskLink, layerDirs, MASK_TARGET, unitFilesOf, type UnitLayers } from "../config/layers.ts";
import { existsNoFollow, readConfigText } from "../config/read-file.ts";
import { templateOf } from "../config/templates.ts";
import { isValidUnitName } from "../config/values.ts";

/** The drop-in `disable` writes; "zz-" so that it applies after the admin's own drop-ins. */
export const DISABLE_DROP_IN = "zz-hearth-disable.toml";
const DISABLE_TEXT = "# Written by hearth ctl disable: the unit is pulled in by nothing (hearth ctl enable removes this file).\n[unit]\nwanted_by = []\nrequired_by = []\n";

export type FileVerbResult = { ok: true; text: string; changed: boolean } | { ok: false; error: string };

function layersRead(layers: UnitLayers): { dir: string; entries: string[] }[] {
  return layerDirs(layers).flatMap((dir) => {
    try {
      return [{ dir, entries: readdirSync(dir).sort() }];
    } catch {
      return [];
    }
  });
}

/** systemctl cat: each file that makes the unit, in the order they apply, under a `# PATH` line. */
export function catUnit(name: string, layers: UnitLayers): FileVerbResult {
  const read = layersRead(layers);
  const files = unitFilesOf(read);
  const template = templateOf(name);
  const base = files.get(name) ?? (template !== null ? files.get(template) : undefined);
  if (base === undefined) return { ok: false, error: `no unit file for ${name}` };
  if (isMaskLink(base)) return { ok: true, text: `# ${base} -> ${MASK_TARGET}\n# Unit ${name} is masked.\n`, changed: false };
  const dropIns = dropInFilesOf(read, () => {}, 4096);
  const own = dropIns.get(name) ?? [];
  const ownNames = new Set(own.map(fileName));
  const inherited = template !== null && template !== name ? (dropIns.get(template) ?? []).filter((f) => !ownNames.has(fileName(f))) : [];
  const ordered = [...inherited, ...own].sort((a, b) => (fileName(a) < fileName(b) ? -1 : fileName(a) > fileName(b) ? 1 : 0));
  const parts = [base, ...ordered].map((file) => {
    const text = readConfigText(file) ?? "# (not readable)\n";
    return `# ${file}\n${text}${text.endsWith("\n") ? "" : "\n"}`;
  });
  return { ok: true, text: parts.join("\n"), changed: false };
}

const fileName = (path: string) => path.slice(path.lastIndexOf("/") + 1);

function checkName(name: string): string | null {
  return isValidUnitName(name) && !name.includes("/") ? null : `'${name}' is not a valid unit name`;
}

export function disableUnit(name: string, layers: UnitLayers): FileVerbResult {
  const bad = checkName(name);
  if (bad) return { ok: false, error: bad };
  const dir = `${layers.admin}/${name}.toml.d`;
  const file = `${dir}/${DISABLE_DROP_IN}`;
  if (existsSync(file)) return { ok: true, text: `${name} is already disabled (${file})`, changed: false };
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(file, DISABLE_TEXT, { mode: 0o644 });
  return { ok: true, text: `Created ${file}: ${name} is pulled in by nothing.`, changed: true };
}

export function enableUnit(name: string, layers: UnitLayers): FileVerbResult {
  const bad = checkName(name);
  if (bad) return { ok: false, error: bad };
  const dir = `${layers.admin}/${name}.toml.d`;
  const file = `${dir}/${DISABLE_DROP_IN}`;
  if (!existsSync(file)) return { ok: true, text: `${name} is not disabled: its wanted_by and required_by are in force`, changed: false };
  unlinkSync(file);
  removeIfEmpty(dir);
  return { ok: true, text: `Removed ${file}: ${name} is pulled in by its wanted_by and required_by again.`, changed: true };
}

export function maskUnit(name: string, layers: UnitLayers): FileVerbResult {
  const bad = checkName(name);
  if (bad) return { ok: false, error: bad };
  const file = `${layers.admin}/${name}.toml`;
  if (isMaskLink(file)) return { ok: true, text: `${name} is already masked (${file})`, changed: false };
  if (existsNoFollow(file)) return { ok: false, error: `${file} exists: move it away to mask ${name} (as systemctl mask)` };
  mkdirSync(layers.admin, { recursive: true, mode: 0o755 });
  symlinkSync(MASK_TARGET, file);
  return { ok: true, text: `Created symlink ${file} -> ${MASK_TARGET}.`, changed: true };
}

export function unmaskUnit(name: string, layers: UnitLayers): FileVerbResult {
  const bad = checkName(name);
  if (bad) return { ok: false, error: bad };
  const removed: string[] = [];
  for (const dir of [layers.admin, layers.runtime]) {
    if (dir === null) continue;
    const file = `${dir}/${name}.toml`;
    if (isMaskLink(file)) {
      unlinkSync(file);
      removed.push(file);
    }
  }
  if (removed.length === 0) return { ok: true, text: `${name} is not masked`, changed: false };
  return { ok: true, text: removed.map((f) => `Removed ${f}.`).join("\n"), changed: true };
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch { /* not ours to worry about */ }
}
