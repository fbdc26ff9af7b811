// The shell's half of guessing a forking daemon's main pid: what the unit's cgroup holds.
import { describe, expect, test } from "bun:test";
import type { CgroupPort } from "../../src/manager/host.ts";
import { mainPidGuess } from "../../src/manager/main-pid.ts";

const MANAGER = 50;
const tree = (pids: number[]) => ({ pids: () => pids }) as unknown as CgroupPort;
const parents: Record<number, number> = { 101: MANAGER, 102: 101, 103: MANAGER, 104: 1 };
const parentOf = (pid: number) => parents[pid] ?? null;

describe("main pid candidates", () => {
  test("the processes the parent left (now the manager's children) are candidates; their children are not", () => {
    expect(mainPidGuess(tree([101, 102, 101]), "d", MANAGER, parentOf)).toEqual({ candidates: [101], populated: true });
    expect(mainPidGuess(tree([101, 102, 103]), "d", MANAGER, parentOf)).toEqual({ candidates: [101, 103], populated: true });
  });

  test("an empty cgroup: no candidate, not populated; a process that vanished is no candidate", () => {
    expect(mainPidGuess(tree([]), "d", MANAGER, parentOf)).toEqual({ candidates: [], populated: false });
    expect(mainPidGuess(tree([104, 999]), "d", MANAGER, parentOf)).toEqual({ candidates: [], populated: true });
  });

  test("without cgroups nothing can be told: no candidate, and the unit counts as populated", () => {
    expect(mainPidGuess(null, "d", MANAGER, parentOf)).toEqual({ candidates: [], populated: true });
  });
});
