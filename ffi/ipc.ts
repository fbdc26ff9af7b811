// System V IPC objects removed by id (remove_ipc: src/exec/ipc-cleanup.ts decides which).
import { IPC_RMID } from "./constants.ts";
import { lastErrno, libc } from "./libc.ts";

export type SysvKind = "shm" | "sem" | "msg";

/** IPC_RMID on one object; 0 or the errno (EINVAL/EIDRM: gone already). */
export function removeSysvObject(kind: SysvKind, id: number): number {
  const result = kind === "shm" ? libc.shmctl(id, IPC_RMID, null)
    : kind === "sem" ? libc.semctl(id, 0, IPC_RMID, 0)
    : libc.msgctl(id, IPC_RMID, null);
  return result < 0 ? lastErrno() : 0;
}
