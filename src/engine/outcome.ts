// What a unit's end asks for (systemd's unit_notify and service_enter_dead): entering
// failed runs its failure_action and starts its on_failure units; failing into an automatic
// restart starts them too (systemd ≥ 249); going inactive from anything but failed (a
// oneshot done, a service that exited cleanly or was stopped) runs its success_action.
// Pure: the engine performs it.

import type { EmergencyAction, UnitSection } from "../config/types.ts";
import type { ActiveState } from "./types.ts";

export interface UnitState {
  active: ActiveState;
  sub: string;
}

export interface Outcome {
  action: { action: EmergencyAction; reason: "success" | "failure" } | null;
  startOnFailure: boolean;
}

/** What a change from `from` to `to` asks for; `result` is the service's result ("success" for others). */
export function unitOutcome(cfg: UnitSection, from: UnitState, to: UnitState, result: string): Outcome {
  const failure = cfg.failure_action ?? "none";
  const success = cfg.success_action ?? "none";
  const failed = to.active === "failed" && from.active !== "failed";
  const failedIntoRestart = to.sub === "auto-restart" && from.sub !== "auto-restart" && result !== "success";
  let action: Outcome["action"] = null;
  if (failed && failure !== "none") action = { action: failure, reason: "failure" };
  else if (to.active === "inactive" && from.active !== "inactive" && from.active !== "failed" && success !== "none") {
    action = { action: success, reason: "success" };
  }
  return { action, startOnFailure: (failed || failedIntoRestart) && (cfg.on_failure ?? []).length > 0 };
}
