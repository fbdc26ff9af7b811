// remove_ipc (systemd's RemoveIPC=): the System V shared memory segments, semaphore sets
// and message queues, and the POSIX shared memory and message queues, owned by a user or
// a group, removed once the last unit running as them is down (the engine decides when).
// Owners are read from /proc/sysvipc (the owner's uid and gid, not the creator's, as
// systemd's clean-ipc.c matches) and from lstat of /dev/shm and /dev/mqueue entries;
// nothing is followed, and root's objects are never touched.

import { lstatSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { removeSysvObject, type SysvKind } from "../../ffi/ipc.ts";

export interface IpcOwner {
  uid: number | null;
  gid: number | null;
}

const ID_COLUMN: Record<SysvKind, string> = { shm: "shmid", sem: "semid", msg: "msqid" };

const owned = (owner: IpcOwner, uid: number, gid: number) =>
  (owner.uid !== null && owner.uid !== 0 && uid === owner.uid) || (owner.gid !== null && owner.gid !== 0 && gid === owner.gid);

/** The ids of /proc/sysvipc/KIND (its header names the columns) that the owner owns. */
export function ownedSysvIds(table: string, kind: SysvKind, owner: IpcOwner): number[] {
  const [header, ...rows] = table.split("\n").filter((l) => l.trim() !== "");
  if (header === undefined) return [];
  const columns = header.trim().split(/\s+/);
  const [idAt, uidAt, gidAt] = [columns.indexOf(ID_COLUMN[kind]), columns.indexOf("uid"), columns.indexOf("gid")];
  if (idAt < 0 || uidAt < 0 || gidAt < 0) return [];
  return rows.map((r) => r.trim().split(/\s+/).map(Number))
    .filter((f) => owned(owner, f[uidAt]!, f[gidAt]!))
    .map((f) => f[idAt]!)
    .filter(Number.isInteger);
}

/** Entries below dir owned by the owner, deepest first (systemd's clean_posix_shm recurses); never followed. */
function ownedEntries(dir: string, owner: IpcOwner): { path: string; isDir: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // not mounted here
  }
  const out: { path: string; isDir: boolean }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...ownedEntries(path, owner));
    if (owned(owner, st.uid, st.gid)) out.push({ path, isDir: st.isDirectory() });
  }
  return out;
}

/** Removes what the owner owns; how many objects went, and what could not. */
export function removeIpc(owner: IpcOwner, read: (path: string) => string = (p) => readFileSync(p, "utf8")): { removed: number; failed: string[] } {
  let removed = 0;
  const failed: string[] = [];
  for (const kind of ["shm", "sem", "msg"] as const) {
    let table = "";
    try {
      table = read(`/proc/sysvipc/${kind}`);
    } catch {
      continue; // no System V IPC in this kernel
    }
    for (const id of ownedSysvIds(table, kind, owner)) {
      const errno = removeSysvObject(kind, id);
      if (errno === 0) removed++;
      else failed.push(`System V ${kind} ${id}: errno ${errno}`);
    }
  }
  for (const dir of ["/dev/shm", "/dev/mqueue"]) {
    for (const { path, isDir } of ownedEntries(dir, owner)) {
      try {
        if (isDir) rmdirSync(path);
        else unlinkSync(path);
        removed++;
      } catch (e) {
        failed.push(`${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  }
  return { removed, failed };
}
