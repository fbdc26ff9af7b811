// The shell's half of guessing a forking daemon's main pid (systemd's
// unit_search_main_pid): it reports what the unit's cgroup holds; the engine decides.
import type { CgroupPort } from "./host.ts";

/**
 * The processes of the unit's cgroup whose parent is the manager: what a forking parent
 * left behind (orphans are reparented to us, the subreaper); processes further down the
 * tree are the daemon's own children. Without cgroups nothing can be told: no candidate,
 * and populated, so that the unit stays up as long as it is not stopped.
 */
export function mainPidGuess(cgroups: Pick<CgroupPort, "pids"> | null, unit: string, managerPid: number,
  parentOf: (pid: number) => number | null):
  { candidates: number[]; populated: boolean } {
  if (cgroups === null) return { candidates: [], populated: true };
  const pids = [...new Set(cgroups.pids(unit))];
  return { candidates: pids.filter((pid) => parentOf(pid) === managerPid), populated: pids.length > 0 };
}
