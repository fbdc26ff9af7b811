// mount(8)-style option strings ("nosuid,nodev,mode=0755") split into the flags mount(2)
// takes and the data string the file system reads. Pure.

import { MS } from "../../ffi/constants.ts";

export interface MountOptions {
  flags: number;
  /** Options for the file system itself, comma-separated ("mode=0755,size=10%"). */
  data: string;
}

/** Words that set a flag, and words that clear one (the mount(8) defaults they undo). */
const SETS: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS,
  remount: MS.REMOUNT, mand: MS.MANDLOCK, dirsync: MS.DIRSYNC, nosymfollow: MS.NOSYMFOLLOW,
  noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, bind: MS.BIND, rbind: MS.BIND | MS.REC,
  silent: MS.SILENT, relatime: MS.RELATIME, strictatime: MS.STRICTATIME, lazytime: MS.LAZYTIME,
  iversion: MS.I_VERSION,
};
const CLEARS: Record<string, number> = {
  rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK, atime: MS.NOATIME, diratime: MS.NODIRATIME, norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME, nolazytime: MS.LAZYTIME, noiversion: MS.I_VERSION, loud: MS.SILENT,
};
/** fstab words that mean something to mount(8) or to a boot sequence, not to the kernel. */
const IGNORED = new Set(["defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev"]);

export function parseMountOptions(text: string): MountOptions {
  let flags = 0;
  const data: string[] = [];
  for (const word of text.split(",").map((w) => w.trim()).filter((w) => w !== "")) {
    if (word in SETS) flags |= SETS[word]!;
    else if (word in CLEARS) flags &= ~CLEARS[word]!;
    else if (IGNORED.has(word) || word.startsWith("x-")) continue;
    else data.push(word);
  }
  return { flags, data: data.join(",") };
}
