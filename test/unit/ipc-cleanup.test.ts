// remove_ipc: which System V objects an owner owns, read from /proc/sysvipc's tables as the
// kernel writes them (columns found by the header), and never root's.
import { describe, expect, test } from "bun:test";
import { ownedSysvIds } from "../../src/exec/ipc-cleanup.ts";

const SHM = `       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
         0         11  1600                  4096  4242  4242      0     1     1     1     1          0          0 1796550000                     0                     0
         0         12  1600                  4096  4243  4243      0     0     0     0     0          0          0 1796550000                     0                     0
 305419896         13  1600                  4096  4244  4244      0     0     1     0     0          0          0 1796550000                     0                     0
`;
const MSG = `       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime
         0          5   644           0          0     0     0   104   104   104   104          0          0 1796550000
`;

describe("remove_ipc's choice of objects", () => {
  test("by owner uid or gid, from the header's columns; root's (uid 0, gid 0) never", () => {
    expect(ownedSysvIds(SHM, "shm", { uid: 1, gid: 1 })).toEqual([11, 13]); // 13: root's, but group 1
    expect(ownedSysvIds(SHM, "shm", { uid: 0, gid: 0 })).toEqual([]);
    expect(ownedSysvIds(SHM, "shm", { uid: null, gid: 1 })).toEqual([11, 13]);
    expect(ownedSysvIds(MSG, "msg", { uid: 104, gid: null })).toEqual([5]);
  });

  test("a table without the expected columns, or empty, gives nothing", () => {
    expect(ownedSysvIds("", "sem", { uid: 1, gid: 1 })).toEqual([]);
    expect(ownedSysvIds("key id uid gid\n0 1 1 1\n", "sem", { uid: 1, gid: 1 })).toEqual([]);
  });
});
