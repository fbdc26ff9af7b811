// refuse_manual_start / refuse_manual_stop (systemd's RefuseManualStart= / RefuseManualStop=):
// which jobs asked for by hand a unit refuses. Requests from `hearth ctl` are the manual
// ones; what dependencies, sockets, timers and the way down ask for goes through.

import type { UnitSection } from "../config/types.ts";
import type { JobType } from "./types.ts";

export function manualJobRefusal(cfg: UnitSection, job: JobType): string | null {
  const start = cfg.refuse_manual_start ?? false;
  const stop = cfg.refuse_manual_stop ?? false;
  const refused = ((job === "start" || job === "isolate") && start) || (job === "stop" && stop) || (job === "restart" && (start || stop));
  return refused ? `operation refused: the unit may be ${job === "stop" ? "stopped" : "started"} by a dependency only (refuse_manual_${job === "stop" || (job === "restart" && stop) ? "stop" : "start"})` : null;
}
