// requisite (systemd's Requisite=): the start of a unit checks that these are up and starts
// none of them. systemd adds a verify-active job for each: active passes, activating waits
// (the unit's own start waits for it only if ordered after it), anything else fails it.

import type { ActiveState } from "./types.ts";

export interface RequisiteState {
  name: string;
  state: ActiveState | null; // null: no such unit loaded
  starting: boolean; // it has a start job
  orderedAfter: boolean; // the unit starts after it
}

/** "run" when every requisite allows the start, "wait" while one is coming up, else why not. */
export function requisiteVerdict(requisites: RequisiteState[]): "run" | "wait" | { reason: string } {
  let wait = false;
  for (const r of requisites) {
    if (r.state === "active" || r.state === "reloading") continue;
    if (r.state === "activating" || (r.starting && r.state !== null)) {
      if (r.orderedAfter) wait = true;
      continue;
    }
    return { reason: `requisite ${r.name} is not active (${r.state ?? "not loaded"})` };
  }
  return wait ? "wait" : "run";
}
