// cpu_scheduling_* as the spawner's sched_setscheduler arguments, as systemd resolves
// them: any of the keys set means the policy is set ("other" when only a priority or
// reset_on_fork is given), the priority clamped to the policy's range (1..99 for fifo and
// rr, 0 for the rest: sched_get_priority_min/max on Linux).

import type { ServiceSection } from "../config/types.ts";
import { SCHED, SCHED_RESET_ON_FORK } from "../../ffi/constants.ts";

export function cpuScheduling(cfg: ServiceSection): { policy: number; priority: number } | undefined {
  const policy = cfg.cpu_scheduling_policy ?? null;
  const priority = cfg.cpu_scheduling_priority ?? null;
  const resetOnFork = cfg.cpu_scheduling_reset_on_fork ?? false;
  if (policy === null && priority === null && !resetOnFork) return undefined;
  const name = policy ?? "other";
  const realtime = name === "fifo" || name === "rr";
  return {
    policy: SCHED[name] | (resetOnFork ? SCHED_RESET_ON_FORK : 0),
    priority: realtime ? Math.min(99, Math.max(1, priority ?? 1)) : 0,
  };
}
