// What a unit's end asks for (systemd's unit_notify): entering failed runs its
// failure_action; going inactive from anything but failed (a oneshot done, a service that
// exited cleanly or was stopped) runs its success_action. Pure: the engine emits it.

import type { EmergencyAction, UnitSection } from "../config/types.ts";
import type { ActiveState } from "./types.ts";

export interface Outcome {
  action: EmergencyAction;
  reason: "success" | "failure";
}

/** The emergency action of an active-state change from `from` to `to`, or null. */
export function unitOutcome(cfg: UnitSection, from: ActiveState, to: ActiveState): Outcome | null {
  if (from === to) return null;
  const failure = cfg.failure_action ?? "none";
  const success = cfg.success_action ?? "none";
  if (to === "failed" && failure !== "none") return { action: failure, reason: "failure" };
  if (to === "inactive" && from !== "failed" && success !== "none") return { action: success, reason: "success" };
  return null;
}
