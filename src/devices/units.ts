// The device units of a configuration: one for each NAME.device a unit names in a
// dependency list (binds_to = ["dev-ttyUSB0.device"], wanted_by = [...]), made by the
// loader as the built-in targets are. They have no file and no default dependencies;
// the kernel's uevents make them active (src/devices/watcher.ts, the engine's device kind).

import { emptyUnitSection } from "../config/builtins.ts";
import type { UnitConfig, UnitSection } from "../config/types.ts";
import { deviceUnitNameProblem } from "./names.ts";

const LISTS = ["requires", "wants", "binds_to", "conflicts", "after", "before", "wanted_by", "required_by"] as const;

/** The well-formed device unit names the units give that no unit file has. */
export function referencedDevices(units: Iterable<{ name: string; unit: UnitSection } | null>, files: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  for (const u of units) {
    if (u === null) continue;
    for (const list of LISTS) {
      for (const ref of u.unit[list]) {
        if (!files.has(ref) && deviceUnitNameProblem(ref) === null) names.add(ref);
      }
    }
  }
  return [...names].sort();
}

export function deviceUnit(name: string): UnitConfig {
  return { name, file: "", unit: { ...emptyUnitSection(), default_dependencies: false }, service: null, sockets: [], device: true };
}
