// The way down the manager is asked for: an emergency action (start_limit_action), or
// poweroff/reboot/halt from `hearth ctl` or a signal. System mode hands it to the shutdown
// stage; run mode ends `hearth run` with a status that says what was asked for.
import type { EmergencyAction } from "../config/types.ts";
import type { Logger } from "../log/manager-log.ts";
import { emergencyPowerRequest, type PowerAction, type PowerMode } from "../engine/power.ts";

/** What an emergency action does to `hearth run`: end with a distinct status. */
export const RUN_MODE_EXIT_STATUS: Record<string, number> = {
  "exit": 0, "exit-force": 0, "reboot": 80, "reboot-force": 81, "reboot-immediate": 82,
  "poweroff": 83, "poweroff-force": 84, "poweroff-immediate": 85,
};

export interface PowerOptions {
  systemMode: boolean;
  log: Logger;
  exit: (code: number, reason: string) => void;
  power?: (action: PowerAction, reason: string, mode: PowerMode) => void;
}

/** poweroff, reboot or halt asked for. */
export function powerRequest(o: PowerOptions, action: PowerAction, reason: string, mode: PowerMode = "orderly") {
  if (o.power) return o.power(action, reason, mode);
  o.exit(RUN_MODE_EXIT_STATUS[action] ?? 0, `${action} requested: ${reason}`);
}

/** The key that asked for an emergency action, by the engine's reason. */
const ACTION_KEY: Record<string, string> = { success: "success_action", failure: "failure_action" };

/** A unit hit its start limit with start_limit_action set, or ended with success_action / failure_action set. */
export function emergencyAction(o: PowerOptions, unit: string, action: EmergencyAction, reason: string) {
  const key = ACTION_KEY[reason] ?? "start_limit_action";
  if (!o.systemMode) {
    const code = RUN_MODE_EXIT_STATUS[action] ?? 1;
    o.log.err(`${unit}: ${reason}: ${key}=${action}; in run mode this ends the manager with status ${code} instead of touching the host`);
    o.exit(code, `${action} requested by ${unit}`);
    return;
  }
  // System mode: the way down, as far as the action says (orderly, -force, -immediate).
  const request = emergencyPowerRequest(action);
  if (request === null) return;
  o.log.err(`${unit}: ${reason}: ${key}=${action}`);
  powerRequest(o, request.action, `${action} requested by ${unit}`, request.mode);
}
