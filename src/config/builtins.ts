// The built-in targets: they exist without a file, and a file of the same name extends them.

import { BUILTIN_TARGETS, type UnitConfig, type UnitSection } from "./types.ts";
import { freshCopy } from "./describe.ts";

export type BuiltinTarget = (typeof BUILTIN_TARGETS)[number];

export function isBuiltinTarget(name: string): name is BuiltinTarget {
  return (BUILTIN_TARGETS as readonly string[]).includes(name);
}

/** The [unit] section of a unit that says nothing. */
export function emptyUnitSection(): UnitSection {
  return {
    description: "", requires: [], wants: [], binds_to: [], conflicts: [], after: [], before: [],
    wanted_by: [], required_by: [], requires_mounts_for: [], default_dependencies: true,
  };
}

/** What each built-in target is, systemd's way (default dependencies are added by the loader). */
const BUILTIN_SECTIONS: Record<BuiltinTarget, Partial<UnitSection>> = {
  sysinit: { description: "System Initialization" },
  sockets: { description: "Sockets" },
  basic: { description: "Basic System", wants: ["sysinit", "sockets"], after: ["sysinit", "sockets"] },
  "multi-user": { description: "Multi-User System", requires: ["basic"], after: ["basic"], conflicts: ["rescue"], allow_isolate: true },
  rescue: { description: "Rescue Mode", requires: ["sysinit"], after: ["sysinit"], allow_isolate: true },
  shutdown: { description: "Shutdown", default_dependencies: false },
};

export function builtinTarget(name: BuiltinTarget): UnitConfig {
  return {
    name,
    file: "",
    unit: { ...emptyUnitSection(), ...freshCopy(BUILTIN_SECTIONS[name]) },
    service: null,
    sockets: [],
  };
}

const DEPENDENCY_LISTS = [
  "requires", "wants", "binds_to", "conflicts", "after", "before", "wanted_by", "required_by", "requires_mounts_for",
] as const;

/** A file named like a built-in target adds to it: lists are joined, a description replaces. */
export function extendBuiltin(builtin: UnitConfig, extension: UnitConfig): UnitConfig {
  const unit = { ...builtin.unit };
  for (const list of DEPENDENCY_LISTS) unit[list] = unique([...builtin.unit[list], ...extension.unit[list]]);
  if (extension.unit.description !== "") unit.description = extension.unit.description;
  unit.part_of = unique([...(builtin.unit.part_of ?? []), ...(extension.unit.part_of ?? [])]);
  for (const list of ["on_failure", "requisite", "reload_propagated_from"] as const) {
    unit[list] = unique([...(builtin.unit[list] ?? []), ...(extension.unit[list] ?? [])]);
  }
  for (const key of ["success_action", "failure_action", "on_failure_job_mode", "refuse_manual_start", "refuse_manual_stop"] as const) {
    if (extension.unit[key] !== undefined) (unit as Record<string, unknown>)[key] = extension.unit[key];
  }
  if (extension.unit.ignore_on_isolate) unit.ignore_on_isolate = true;
  // A file can turn default dependencies off, never on (shutdown must stay without them).
  unit.default_dependencies = builtin.unit.default_dependencies !== false && extension.unit.default_dependencies !== false;
  return { ...builtin, file: extension.file, unit };
}

export function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** unique([...items, item]), without the spreads and the set for a short list (each unit's, at boot). */
export function uniqueWith<T>(items: T[], item: T): T[] {
  if (items.length > 16) return unique([...items, item]);
  const out: T[] = [];
  for (let k = 0; k < items.length; k++) if (out.indexOf(items[k]!) < 0) out.push(items[k]!);
  if (out.indexOf(item) < 0) out.push(item);
  return out;
}
