// Making and removing a unit's directories (runtime_directory and friends, planned in
// src/manager/unit-directories.ts) on the real file system. A directory that is there
// as something else (a symlink a service left, a file) is refused, and so is one that
// resolves outside its base: nothing is made, chowned or removed through a symlink.
import {
  closeSync, constants, fchmodSync, fchownSync, fstatSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync,
  realpathSync, rmSync,
} from "node:fs";
import { dirname, join, sep } from "node:path";
import type { UnitDirectory } from "../manager/unit-directories.ts";

// A change of owner walks the whole tree in PID 1: past this many entries the start fails
// (chown the tree by hand once) rather than block the manager for minutes.
export const MAX_CHOWN_ENTRIES = 100_000;

/** Make the directory with its mode and owner; returns warnings; throws why it cannot. */
export function makeUnitDirectory(d: UnitDirectory): string[] {
  const path = join(d.base, d.relative);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let made = true;
  try {
    mkdirSync(path, { mode: d.mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    made = false;
  }
  // Through one fd opened without following a symlink, so that what is checked is what is
  // changed: a symlink swapped in after the check cannot lead the chmod elsewhere.
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw new Error(`${path} exists and is not a directory`);
    throw e;
  }
  try {
    insideBase(d.base, path, readlinkSync(`/proc/self/fd/${fd}`));
    const st = fstatSync(fd);
    // systemd leaves an existing configuration directory as it is: not the service's to write.
    if (!made && d.kind === "configuration") {
      if ((st.mode & 0o7777) !== d.mode) {
        return [`${path} already exists with mode ${octal(st.mode & 0o7777)}, not ${octal(d.mode)}: left as it is`];
      }
      return [];
    }
    fchmodSync(fd, d.mode);
    const o = d.owner;
    if (o && ((o.uid !== -1 && st.uid !== o.uid) || (o.gid !== -1 && st.gid !== o.gid))) {
      fchownSync(fd, o.uid, o.gid);
      chownTree(path, o.uid, o.gid);
    }
    return [];
  } finally {
    closeSync(fd);
  }
}

/** Remove a runtime directory hearth made, with what is in it; a missing one is fine. */
export function removeUnitDirectory(base: string, relative: string): void {
  const path = join(base, relative);
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!st.isDirectory()) throw new Error(`${path} is not a directory (a symlink or a file): left alone`);
  insideBase(base, path, realpathSync(path));
  rmSync(path, { recursive: true, force: true }); // unlinks symlinks inside, never follows them
}

/** Throws unless `real`, where `path` resolves, is under `base`. */
function insideBase(base: string, path: string, real: string) {
  const root = realpathSync(base);
  if (real === root || !real.startsWith(root === sep ? sep : root + sep)) {
    throw new Error(`${path} resolves to ${real}, outside ${root}: refused`);
  }
}

/** lchown everything under the directory, following no symlink; bounded. */
function chownTree(top: string, uid: number, gid: number) {
  const stack = [top];
  let entries = 0;
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (++entries > MAX_CHOWN_ENTRIES) {
        throw new Error(`more than ${MAX_CHOWN_ENTRIES} entries under ${top} to give to ${uid}:${gid}; chown it by hand once`);
      }
      const path = join(dir, entry.name);
      lchownSync(path, uid, gid);
      if (entry.isDirectory()) stack.push(path);
    }
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
