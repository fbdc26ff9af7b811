// [[mount]] entries of system.toml as units, so the engine mounts them in parallel with
// everything else and orders after them only the units that say requires_mounts_for.
// Pure: a configuration in, a configuration out.
//
// Each entry becomes a unit named as systemd names mount units ("/var/lib/x" ->
// "var-lib-x.mount"), wanted by the target being booted (which therefore waits for it),
// without default dependencies (it may start at once), ordered before shutdown (so it
// is unmounted after the units that use it have stopped). A unit with
// requires_mounts_for = ["/var/lib/x/db"] requires, and starts after, the mount units of
// every [[mount]] on that path; so does a mount nested inside another.

import type { MountEntry, UnitConfig } from "../config/types.ts";
import { emptyUnitSection, unique } from "../config/builtins.ts";

/** systemd's path escaping (systemd-escape --path --suffix=mount). */
export function mountUnitName(where: string): string {
  const trimmed = where.replace(/\/+/g, "/").replace(/^\/|\/$/g, "");
  if (trimmed === "") return "-.mount";
  const escaped = [...trimmed].map((c, i) => {
    if (c === "/") return "-";
    if (/[A-Za-z0-9:_]/.test(c) || (c === "." && i > 0)) return c;
    return [...Buffer.from(c, "utf8")].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
  });
  return `${escaped.join("")}.mount`;
}

/** Whether `path` is `where` or lies below it. */
export function isOnPath(where: string, path: string): boolean {
  const w = where === "/" ? "/" : where.replace(/\/+$/, "");
  return path === w || w === "/" || path.startsWith(`${w}/`);
}

/** The [[mount]] entries a path needs, outermost first. */
export function mountsForPath(path: string, mounts: readonly MountEntry[]): MountEntry[] {
  return mounts.filter((m) => isOnPath(m.where, path)).sort((a, b) => a.where.length - b.where.length);
}

export function withMountUnits(units: Map<string, UnitConfig>, mounts: readonly MountEntry[], bootTarget: string): Map<string, UnitConfig> {
  const result = new Map(units);
  const names = new Map<string, string>(); // where -> unit name
  for (const m of mounts) {
    const name = mountUnitName(m.where);
    if (result.has(name)) continue; // a unit file of that name wins; the loader's problem
    names.set(m.where, name);
  }
  const needs = (paths: readonly string[], self?: string) =>
    unique(paths.flatMap((p) => mountsForPath(p, mounts)).map((m) => names.get(m.where)).filter((n): n is string => !!n && n !== self));

  for (const m of mounts) {
    const name = names.get(m.where);
    if (name === undefined) continue;
    const parents = needs([m.where], name);
    result.set(name, {
      name, file: "", service: null, sockets: [], mount: m,
      unit: {
        ...emptyUnitSection(), description: m.where, default_dependencies: false,
        requires: parents, after: parents, conflicts: ["shutdown"], before: ["shutdown"],
      },
    });
  }
  const target = result.get(bootTarget);
  if (target) {
    const wanted = [...names.values()];
    result.set(bootTarget, { ...target, unit: { ...target.unit, wants: unique([...target.unit.wants, ...wanted]) } });
  }
  for (const [name, cfg] of result) {
    if (cfg.mount || cfg.unit.requires_mounts_for.length === 0) continue;
    const wanted = needs(cfg.unit.requires_mounts_for);
    if (wanted.length === 0) continue;
    result.set(name, {
      ...cfg,
      unit: { ...cfg.unit, requires: unique([...cfg.unit.requires, ...wanted]), after: unique([...cfg.unit.after, ...wanted]) },
    });
  }
  return result;
}
