// The unit graph as a whole: references to unknown units, the built-in targets, default
// dependencies, and ordering cycles. What comes out is the set of units that can run.
//
// Ordering edges are the engine's own (src/engine/graph.ts, where the rules are written),
// so a configuration the loader accepts has no cycle there either.

import type { SystemConfig, UnitConfig, UnitSection } from "./types.ts";
import type { FileReport } from "./diagnostics.ts";
import { builtinTarget, extendBuiltin, isBuiltinTarget, uniqueWith } from "./builtins.ts";
import { didYouMean } from "./suggest.ts";
import { deviceUnit, referencedDevices } from "../devices/units.ts";
import { checkSocketConflicts } from "./sockets.ts";
import { isTemplateName } from "./templates.ts";
import { BUILTIN_TARGETS } from "./types.ts";
import { buildGraph, orderingEdges, type UnitGraph } from "../engine/graph.ts";

/** One unit file after its own validation: `unit` as written (null after a syntax error); it loads only without errors. */
export interface UnitFile {
  name: string;
  report: FileReport;
  unit: UnitConfig | null;
}

/** A unit that may run: its configuration with default dependencies, and where it came from. */
interface Candidate {
  config: UnitConfig;
  file: UnitFile | null; // null for a built-in target without a file
}

type DependencyList = "requires" | "requisite" | "on_failure" | "reload_propagated_from" | "wants" | "binds_to" | "part_of" | "conflicts" | "after" | "before" | "wanted_by" | "required_by";
const DEPENDENCY_LISTS: DependencyList[] = ["requires", "requisite", "on_failure", "reload_propagated_from", "wants", "binds_to", "part_of", "conflicts", "after", "before", "wanted_by", "required_by"];

/**
 * Lists whose names must be there for the unit to start: a name that matches no unit is
 * kept for the engine, which fails the start with "unit X not found" (systemd: the job for
 * a Requires= of a not-found unit fails). In every other list it is dropped: ordering
 * against a unit that is not there waits for nothing, a want of it is skipped, a conflict
 * with it is nothing (systemd: After=/Wants=/Conflicts= of a not-found unit).
 */
const NEEDED: ReadonlySet<DependencyList> = new Set(["requires", "requisite", "binds_to"]);

/** A name given in a dependency list that matches no unit file and no built-in target. */
export interface NotFoundReference {
  unit: string; // the unit whose list names it
  list: DependencyList | "socket.service"; // or a [[socket]]'s service
}

export function resolveGraph(
  files: UnitFile[], system: SystemConfig, systemReport: FileReport, templates: ReadonlySet<string> = new Set(),
): { units: Map<string, UnitConfig>; system: SystemConfig; notFound: Map<string, NotFoundReference[]> } {
  const known = new Set<string>([...BUILTIN_TARGETS, ...files.map((f) => f.name)]);
  const devices = referencedDevices(files.map((f) => f.unit), known);
  for (const name of devices) known.add(name);
  const candidates = new Map<string, Candidate>();
  for (const name of BUILTIN_TARGETS) candidates.set(name, { config: builtinTarget(name), file: null });
  for (const name of devices) candidates.set(name, { config: deviceUnit(name), file: null });
  checkSocketConflicts(files);
  for (const file of files) {
    if (file.unit === null) continue;
    const checked = withoutBadReferences(file.unit, known, file, files, templates);
    if (file.report.hasErrors) continue;
    const config = isBuiltinTarget(file.name) ? extendBuiltin(builtinTarget(file.name), checked) : checked;
    candidates.set(file.name, { config, file });
  }
  for (const candidate of candidates.values()) candidate.config = withDefaultDependencies(candidate.config);

  breakOrderingCycles(candidates);
  const loaded = new Set(candidates.keys());
  const units = new Map([...candidates].map(([name, c]) => [name, withoutUnloaded(c.config, loaded)]));
  warnAboutDisabledDependencies(files, units, known);
  return { units, system: checkSystemReferences(system, units, known, systemReport), notFound: notFoundNames(files, units, known) };
}

// ---------------------------------------------------------------- references

/** Reports unknown names (and self references) and returns the unit without them. */
function withoutBadReferences(unit: UnitConfig, known: Set<string>, file: UnitFile, files: UnitFile[], templates: ReadonlySet<string>): UnitConfig {
  const section: UnitSection = { ...unit.unit };
  // Plain loops, and a site only for a reference to report: this runs per unit at boot, in the interpreter.
  for (let l = 0; l < DEPENDENCY_LISTS.length; l++) {
    const list = DEPENDENCY_LISTS[l]!;
    const refs = unit.unit[list] ?? [];
    const kept: string[] = [];
    for (let index = 0; index < refs.length; index++) {
      const ref = refs[index]!;
      if (ref !== unit.name && known.has(ref)) {
        kept.push(ref);
        continue;
      }
      const site = file.report.at(`unit.${list}[${index}]`);
      if (ref === unit.name) {
        site.warning(`'${ref}' is this unit itself; ignored`);
        continue;
      }
      const hint = didYouMean(ref, known);
      if (NEEDED.has(list)) {
        kept.push(ref);
        site.warning(`unknown unit '${ref}': starting '${unit.name}' will fail${hint}`);
      } else site.quietWarning(`unknown unit '${ref}', ignored${hint}`); // systemd is silent about these
    }
    section[list] = kept;
  }
  unit.sockets.forEach((socket, index) => {
    const target = socket.service;
    if (target === undefined || target === unit.name) return;
    const site = file.report.at(`socket[${index}].service`);
    if (isTemplateName(target)) {
      // accept = true: each connection gets an instance of the template.
      if (!templates.has(target)) site.error(`no template '${target}' (units/${target}.toml)`);
      else if (!socket.accept) site.error(`'${target}' is a template, run once per connection: only an accept = true socket activates it`);
      return;
    }
    const other = files.find((f) => f.name === target);
    // As systemd: the socket loads; its first activation fails it, naming the unit.
    if (!known.has(target)) site.warning(`unknown unit '${target}': the socket is made, and its first activation fails it${didYouMean(target, known)}`);
    else if (other === undefined || (other.unit !== null && other.unit.service === null)) {
      site.error(`'${target}' has no [service] to activate`);
    }
  });
  const trigger = unit.timer?.unit ?? unit.path?.unit;
  if (trigger !== undefined && !known.has(trigger)) {
    file.report.at(unit.timer ? "timer" : "path").error(`unknown unit '${trigger}' to start${didYouMean(trigger, known)}`, "key");
  }
  return { ...unit, unit: section };
}

const LOADED_ONLY_LISTS = ["wants", "on_failure", "reload_propagated_from", "part_of", "conflicts", "after", "before", "wanted_by", "required_by"] as const;

/** Drops references to units that did not load, except in requires and binds_to (kept for the engine to fail on). */
function withoutUnloaded(config: UnitConfig, loaded: Set<string>): UnitConfig {
  const unit = { ...config.unit };
  for (let l = 0; l < LOADED_ONLY_LISTS.length; l++) {
    const list = LOADED_ONLY_LISTS[l]!;
    const names = unit[list] ?? [];
    const kept: string[] = [];
    for (let k = 0; k < names.length; k++) if (loaded.has(names[k]!)) kept.push(names[k]!);
    unit[list] = kept;
  }
  return { ...config, unit };
}

/**
 * requires/binds_to (or a socket's service) naming a unit that has errors: the reference
 * is kept, and the engine fails the start with the reason. Say so now. (Names that match
 * no unit were reported with the other references.)
 */
function warnAboutDisabledDependencies(files: UnitFile[], units: Map<string, UnitConfig>, known: Set<string>): void {
  for (const file of files) {
    if (file.unit === null || !units.has(file.name)) continue;
    const warn = (path: string, ref: string) =>
      file.report.at(path).warning(`'${ref}' has errors and is not loaded: '${file.name}' will fail to start`);
    for (const list of ["requires", "requisite", "binds_to"] as const) {
      (file.unit.unit[list] ?? []).forEach((ref, index) => {
        if (!units.has(ref) && ref !== file.name && known.has(ref)) warn(`unit.${list}[${index}]`, ref);
      });
    }
    file.unit.sockets.forEach((socket, index) => {
      if (socket.service !== undefined && !isTemplateName(socket.service) && !units.has(socket.service) && known.has(socket.service)) warn(`socket[${index}].service`, socket.service);
    });
  }
}

/**
 * The names that the loaded units' lists give and no unit file or built-in target has:
 * systemd's load state "not-found", which `hearth ctl status NAME` shows.
 */
function notFoundNames(files: UnitFile[], units: Map<string, UnitConfig>, known: Set<string>): Map<string, NotFoundReference[]> {
  const notFound = new Map<string, NotFoundReference[]>();
  for (const file of files) {
    if (file.unit === null || !units.has(file.name)) continue;
    for (const list of DEPENDENCY_LISTS) {
      for (const name of file.unit.unit[list] ?? []) {
        if (known.has(name)) continue;
        addNotFound(notFound, name, { unit: file.name, list });
      }
    }
    for (const socket of file.unit.sockets) {
      if (socket.service !== undefined && !known.has(socket.service)) addNotFound(notFound, socket.service, { unit: file.name, list: "socket.service" });
    }
  }
  return notFound;
}

function addNotFound(notFound: Map<string, NotFoundReference[]>, name: string, ref: NotFoundReference): void {
  const refs = notFound.get(name) ?? [];
  if (!refs.some((r) => r.unit === ref.unit && r.list === ref.list)) refs.push(ref);
  notFound.set(name, refs);
}

function checkSystemReferences(
  system: SystemConfig, units: Map<string, UnitConfig>, known: Set<string>, report: FileReport,
): SystemConfig {
  const manager = { ...system.manager };
  if (!units.has(manager.default_target)) {
    const why = known.has(manager.default_target) ? "has errors" : "is unknown";
    const hint = known.has(manager.default_target) ? "" : didYouMean(manager.default_target, known);
    report.at("manager.default_target").error(`'${manager.default_target}' ${why}, booting 'multi-user' instead${hint}`);
    manager.default_target = "multi-user";
  }
  const critical = system.watchdog.critical_units.filter((name, index) => {
    if (units.has(name)) return true;
    const why = known.has(name) ? "has errors and is not loaded" : "is unknown";
    const hint = known.has(name) ? "" : didYouMean(name, known);
    report.at(`watchdog.critical_units[${index}]`).warning(`'${name}' ${why}, ignored${hint}`);
    return false;
  });
  return { ...system, manager, watchdog: { ...system.watchdog, critical_units: critical } };
}

// ---------------------------------------------------------------- default dependencies

/**
 * systemd's DefaultDependencies=yes, written into the lists: a service requires sysinit
 * and starts after basic; every unit but shutdown conflicts with shutdown and is ordered
 * before it, so that starting shutdown stops everything in reverse order.
 */
export function withDefaultDependencies(config: UnitConfig): UnitConfig {
  if (config.unit.default_dependencies === false || config.name === "shutdown") return config;
  const unit = { ...config.unit };
  if (config.service !== null) {
    unit.requires = uniqueWith(unit.requires, "sysinit");
    unit.after = uniqueWith(unit.after, "basic");
  }
  unit.conflicts = uniqueWith(unit.conflicts, "shutdown");
  unit.before = uniqueWith(unit.before, "shutdown");
  return { ...config, unit };
}

// ---------------------------------------------------------------- ordering cycles

/** For each unit, the units it starts after: the engine's rules (src/engine/graph.ts). */
export { orderingEdges };

/**
 * One ordering cycle, as [a, b, c] for "a after b after c after a", starting at its
 * smallest name; null if there is none. Deterministic: names are visited in order.
 */
export function findOrderingCycle(after: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (name: string): string[] | null => {
    state.set(name, "open");
    path.push(name);
    for (const next of [...(after.get(name) ?? [])].sort()) {
      if (state.get(next) === "open") return path.slice(path.indexOf(next));
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    path.pop();
    state.set(name, "done");
    return null;
  };
  for (const name of [...after.keys()].sort()) {
    if (state.has(name)) continue;
    const cycle = visit(name);
    if (cycle) return rotateToSmallest(cycle);
  }
  return null;
}

/** Whether the ordering edges (each node's `after`) have a cycle: a depth-first walk in any order. */
function hasOrderingCycle(graph: UnitGraph): boolean {
  const state = new Map<string, "open" | "done">();
  const visit = (name: string): boolean => {
    state.set(name, "open");
    for (const next of graph.get(name)?.after ?? []) {
      const seen = state.get(next);
      if (seen === "open" || (seen === undefined && visit(next))) return true;
    }
    state.set(name, "done");
    return false;
  };
  for (const name of graph.keys()) if (!state.has(name) && visit(name)) return true;
  return false;
}

function rotateToSmallest(cycle: string[]): string[] {
  const start = cycle.indexOf([...cycle].sort()[0]!);
  return [...cycle.slice(start), ...cycle.slice(0, start)];
}

/**
 * Removes units until no ordering cycle is left. Every unit of a cycle is disabled,
 * except the built-in targets, which the boot needs: they lose their file's additions
 * only when the cycle is made of built-in targets alone.
 */
function breakOrderingCycles(candidates: Map<string, Candidate>): void {
  while (true) {
    const configs = new Map<string, UnitConfig>();
    candidates.forEach((c, name) => configs.set(name, c.config));
    // The cheap question first (no sorting, no copy of the edges): most boards have no cycle.
    if (!hasOrderingCycle(buildGraph(configs))) return;
    const cycle = findOrderingCycle(orderingEdges(configs));
    if (cycle === null) return;
    const removable = cycle.filter((name) => !isBuiltinTarget(name));
    const reverted = removable.length > 0 ? [] : cycle.filter(isBuiltinTarget).filter((name) => candidates.get(name)!.file);
    if (removable.length === 0 && reverted.length === 0) return; // cannot happen: the built-ins alone are acyclic

    reportCycle(cycle, candidates, new Set<string>([...removable, ...reverted]));
    for (const name of removable) candidates.delete(name);
    for (const name of reverted) candidates.set(name, { config: withDefaultDependencies(builtinTarget(name)), file: null });
  }
}

function reportCycle(cycle: string[], candidates: Map<string, Candidate>, disabled: Set<string>): void {
  const edges = cycle.map((name, i) => [name, cycle[(i + 1) % cycle.length]!] as const);
  const text = `ordering cycle: ${[...cycle, cycle[0]].join(" -> ")} ("a -> b": a starts after b)`;
  const implicit = edges.flatMap(([a, b]) => {
    const source = edgeSource(a, b, candidates);
    return typeof source === "string" ? [`${a} -> ${b}: ${source}`] : [];
  });
  const message = implicit.length ? `${text}; implicit: ${implicit.join("; ")}` : text;
  const outcome = `disabled: ${[...disabled].join(", ")}`;

  for (const [index, name] of cycle.entries()) {
    const file = candidates.get(name)!.file;
    if (file === null) continue;
    const previous = cycle[(index + cycle.length - 1) % cycle.length]!;
    const own = [edgeSource(name, cycle[(index + 1) % cycle.length]!, candidates), edgeSource(previous, name, candidates)]
      .find((source) => typeof source !== "string" && source.unit === name);
    const site = file.report.at(typeof own === "object" ? own.path : "unit");
    if (disabled.has(name)) site.error(`${message}; ${outcome}`, typeof own === "object" ? "value" : "key");
    else site.warning(`${message}; ${outcome}`, typeof own === "object" ? "value" : "key");
  }
}

/** Where "a after b" is written (a unit and the path of the list item), or why it is implied. */
function edgeSource(a: string, b: string, candidates: Map<string, Candidate>): { unit: string; path: string } | string {
  const written = (name: string) => candidates.get(name)?.file?.unit?.unit;
  const afterIndex = written(a)?.after.indexOf(b) ?? -1;
  if (afterIndex >= 0) return { unit: a, path: `unit.after[${afterIndex}]` };
  const beforeIndex = written(b)?.before.indexOf(a) ?? -1;
  if (beforeIndex >= 0) return { unit: b, path: `unit.before[${beforeIndex}]` };
  const config = candidates.get(a)!.config;
  if (b === "basic" && config.service !== null) return "services start after basic (default_dependencies)";
  if (a === "shutdown") return "every unit is ordered before shutdown (default_dependencies)";
  if (config.unit.after.includes(b) || candidates.get(b)!.config.unit.before.includes(a)) return "built-in ordering";
  return `${a} is a target and waits for the units it pulls in`;
}
