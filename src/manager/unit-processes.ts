// Finding and signalling a unit's processes: its cgroup where cgroup v2 is writable
// (always on the board), else the process group its main process leads (the spawner
// makes every process a session leader), which misses processes that started sessions
// of their own — those are looked for in the process tree when a stop begins, so a stop
// they survive says so instead of claiming a clean end.
import type { ProcessOrigin } from "../engine/types.ts";
import type { Logger } from "../log/manager-log.ts";
import type { CgroupPort, ManagerHost } from "./host.ts";
import { descendantsOf } from "./procfs.ts";

const SIGKILL = 9;

export class UnitProcesses {
  // Cgroups of units that went down, removed once empty (their leftovers take a moment to die).
  private readonly doomedCgroups = new Set<string>();
  // Without cgroups: processes below a unit's main process that left its session, seen as its stop began.
  private readonly escaped = new Map<string, { pid: number; start: string }[]>();

  constructor(private readonly host: ManagerHost, private readonly log: Logger, readonly cgroups: CgroupPort | null) {}

  /** Signal every process of a unit: its cgroup, else the process group `leader` leads. */
  kill(unit: string, signal: number, leader: number | null) {
    if (this.cgroups && this.cgroups.pids(unit).length > 0) {
      this.cgroups.kill(unit, signal);
      return;
    }
    if (leader === null || leader <= 1) return;
    if (!this.cgroups && !this.escaped.has(unit)) this.noteEscaped(unit, leader);
    if (!this.host.kill(-leader, signal)) this.host.kill(leader, signal);
  }

  private noteEscaped(unit: string, leader: number) {
    const table = this.host.processes();
    const own = table.find((p) => p.pid === leader);
    if (!own) return;
    const away = descendantsOf(leader, table).filter((p) => p.sid !== own.sid);
    this.escaped.set(unit, away.map((p) => ({ pid: p.pid, start: p.start })));
  }

  /**
   * SIGKILL what is left of a unit. Returns the processes that left its process group
   * and are still alive (without cgroups), for the engine to report.
   */
  killLeftovers(unit: string, processGroup: number | null): { pid: number; name: string }[] {
    this.kill(unit, SIGKILL, processGroup);
    const escaped = this.escaped.get(unit) ?? [];
    this.escaped.delete(unit);
    if (escaped.length === 0) return [];
    // Named as they are now: one seen as "setsid" may have exec'd its program since.
    const alive = new Map(this.host.processes().map((p) => [p.pid, p]));
    return escaped.filter((p) => alive.get(p.pid)?.start === p.start).map(({ pid }) => ({ pid, name: alive.get(pid)!.name }));
  }

  /** The unit is down for good: its cgroup goes as soon as it is empty. */
  removeCgroup(unit: string) {
    if (!this.cgroups) return;
    this.doomedCgroups.add(unit);
    this.removeEmptyCgroups();
  }

  /** A unit starts again: its cgroup is in use. */
  keepCgroup(unit: string) {
    this.doomedCgroups.delete(unit);
  }

  /** Units whose cgroup waits for its last (SIGKILLed) process to be gone. */
  get cgroupsToRemove(): number {
    return this.doomedCgroups.size;
  }

  /** After every reap: leftovers that died may have emptied a cgroup. */
  removeEmptyCgroups() {
    if (!this.cgroups) return;
    for (const unit of this.doomedCgroups) {
      if (!this.cgroups.isEmpty(unit)) continue;
      this.doomedCgroups.delete(unit);
      if (!this.cgroups.removeUnit(unit)) this.log.debug(`${unit}: cgroup not removed`);
    }
  }

  /**
   * What the engine needs to match a process to a unit: `spawnedFor`, the unit the shell
   * spawned it for (it is in that unit's cgroup); else its cgroup, where there are
   * cgroups (one read of /proc); else its session and process group.
   */
  origin(pid: number, spawnedFor: string | null): ProcessOrigin {
    if (spawnedFor !== null) return { pid, cgroupUnit: spawnedFor, sid: null, pgid: null, alive: true };
    const ids = this.host.processIds(pid);
    if (ids === null) return { pid, cgroupUnit: null, sid: null, pgid: null, alive: false };
    if (this.cgroups) return { pid, cgroupUnit: this.cgroups.unitOfPid(pid), sid: null, pgid: null, alive: true };
    return { pid, cgroupUnit: null, sid: ids.sid, pgid: ids.pgid, alive: true };
  }

  close() {
    this.removeEmptyCgroups();
    this.cgroups?.close();
  }
}
