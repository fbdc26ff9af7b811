// A [[socket]]'s symlinks (systemd's Symlinks=): other names for its socket file or FIFO,
// made once the socket is, removed with it when remove_on_stop says so. As in systemd a
// link that cannot be made is a warning (the socket works without it), and a link that
// already points at the socket is left as it is.
//
// Never followed, never clobbered: symlink(2), lstat(2) and unlink(2) act on the link
// itself; what is in a link's place is replaced only when it is a symbolic link (and, as
// in systemd, only with remove_on_stop), and removed at the end only while it is still a
// link to this socket. A file, a socket or a directory put there is left alone.

import { lstatSync, readlinkSync, symlinkSync, unlinkSync } from "node:fs";

/** The error's code and message as fs gives them ("EACCES: permission denied, symlink …"). */
function explain(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** What is at `path` (not followed): "a regular file", "a symbolic link to X", or null when nothing is. */
function whatIsAt(path: string): { link: string | null; kind: string } | null {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if (code(error) === "ENOENT") return null;
    throw error;
  }
  if (stat.isSymbolicLink()) return { link: readlinkSync(path), kind: "a symbolic link" };
  const kind = stat.isFile() ? "a regular file" : stat.isDirectory() ? "a directory" : stat.isSocket() ? "a socket"
    : stat.isFIFO() ? "a FIFO" : "a device node";
  return { link: null, kind };
}

/**
 * Makes each link to `target` (the parents with `makeParents`); the warnings of the ones
 * not made. `replace`: a symbolic link pointing elsewhere is replaced (remove_on_stop).
 */
export function makeSymlinks(target: string, links: readonly string[], replace: boolean, makeParents: (path: string) => void): string[] {
  const warnings: string[] = [];
  for (const link of links) {
    try {
      makeParents(link);
      makeLink(target, link, replace);
    } catch (error) {
      warnings.push(`symlink ${link} → ${target} not made: ${explain(error)}`);
    }
  }
  return warnings;
}

function makeLink(target: string, link: string, replace: boolean): void {
  try {
    return symlinkSync(target, link);
  } catch (error) {
    if (code(error) !== "EEXIST") throw error;
  }
  const there = whatIsAt(link);
  if (there === null) return symlinkSync(target, link); // gone meanwhile
  if (there.link === target) return; // made by an earlier run: as it should be
  if (there.link === null) throw new Error(`${link} is ${there.kind}, not a symbolic link: left alone (only a symbolic link is ever replaced)`);
  if (!replace) throw new Error(`${link} is a symbolic link to ${there.link}: left alone (without remove_on_stop an existing link is not replaced, as in systemd)`);
  unlinkSync(link);
  symlinkSync(target, link); // EEXIST should something be put there meanwhile: a warning, nothing clobbered
}

/** Removes each link that still points at `target`; what else is there stays. The warnings of the ones that could not go. */
export function removeSymlinks(target: string, links: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const link of links) {
    try {
      if (whatIsAt(link)?.link === target) unlinkSync(link);
    } catch (error) {
      if (code(error) !== "ENOENT") warnings.push(`symlink ${link} not removed: ${explain(error)}`);
    }
  }
  return warnings;
}
