// What asks for the way down, and how far it goes: pure tables (src/boot/shutdown.ts
// performs them).
//
//   orderly    stop every unit (reverse dependency order, each with its timeout), then
//              the final stage: SIGTERM/SIGKILL to the rest, sync, unmount, reboot(2)
//   force      the units are not stopped: straight to the final stage (systemd's
//              reboot-force, `systemctl reboot --force`)
//   immediate  reboot(2) at once: no stop, no kill, no unmount (systemd's
//              reboot-immediate; a sync is tried first, bounded in time)

import type { EmergencyAction } from "../config/types.ts";

export type PowerAction = "poweroff" | "reboot" | "halt";
export type PowerMode = "orderly" | "force" | "immediate";

export interface PowerRequest {
  action: PowerAction;
  mode: PowerMode;
}

/**
 * What a start_limit_action (or ctrl_alt_del) asks of PID 1; null for "none". "exit"
 * means ending the manager, which PID 1 cannot do: it powers off in an orderly way.
 */
export function emergencyPowerRequest(action: EmergencyAction): PowerRequest | null {
  switch (action) {
    case "none": return null;
    case "exit": return { action: "poweroff", mode: "orderly" };
    case "exit-force": return { action: "poweroff", mode: "force" };
    case "reboot": return { action: "reboot", mode: "orderly" };
    case "reboot-force": return { action: "reboot", mode: "force" };
    case "reboot-immediate": return { action: "reboot", mode: "immediate" };
    case "poweroff": return { action: "poweroff", mode: "orderly" };
    case "poweroff-force": return { action: "poweroff", mode: "force" };
    case "poweroff-immediate": return { action: "poweroff", mode: "immediate" };
  }
}

/**
 * Signals to PID 1 that take the way down, besides SIGINT (Ctrl-Alt-Del, configurable):
 * BusyBox init's (its halt, poweroff and reboot send them) and systemd's (systemctl's
 * fallbacks send SIGRTMIN+3/4/5; SIGRTMIN+13/14/15 skip stopping the units).
 */
export const POWER_SIGNALS: Readonly<Record<string, PowerRequest>> = {
  SIGTERM: { action: "reboot", mode: "orderly" },
  SIGUSR1: { action: "halt", mode: "orderly" },
  SIGUSR2: { action: "poweroff", mode: "orderly" },
  "SIGRTMIN+3": { action: "halt", mode: "orderly" },
  "SIGRTMIN+4": { action: "poweroff", mode: "orderly" },
  "SIGRTMIN+5": { action: "reboot", mode: "orderly" },
  "SIGRTMIN+13": { action: "halt", mode: "force" },
  "SIGRTMIN+14": { action: "poweroff", mode: "force" },
  "SIGRTMIN+15": { action: "reboot", mode: "force" },
};
