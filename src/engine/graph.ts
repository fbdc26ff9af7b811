// The unit graph: every dependency of the loaded configuration normalised into forward
// edges, so the job engine asks one question per relation ("what does U require?",
// "what must be up before U?", "who requires U?") without caring where it was written.
// The ordering rules live here only: the loader looks for ordering cycles in this same
// graph (src/config/graph.ts), so a configuration it accepts has none here.
//   a after b  <=  a.after has b, or b.before has a, or
//                  a is a target that pulls b in (requires, binds_to, wants, or b's
//                  wanted_by/required_by names a) and b is not itself ordered after a.
import type { UnitConfig } from "../config/types.ts";

export interface UnitNode {
  name: string;
  requires: Set<string>; // pulled in; if it fails while U waits after it, U fails
  wants: Set<string>; // pulled in; its failure does not matter
  bindsTo: Set<string>; // like requires, and U stops whenever it stops
  conflicts: Set<string>; // starting one stops the other (kept symmetric)
  after: Set<string>; // U starts only once these finished their jobs (stops in reverse)
  // Reverse edges, for stop propagation and reverse ordering.
  requiredBy: Set<string>; // units that requires/binds_to U
  boundBy: Set<string>; // units that binds_to U
  consistsOf: Set<string>; // units whose part_of names U: its stops and restarts reach them
  before: Set<string>; // units ordered after U
}

export type UnitGraph = Map<string, UnitNode>;

function emptyNode(name: string): UnitNode {
  return {
    name, requires: new Set(), wants: new Set(), bindsTo: new Set(), conflicts: new Set(),
    after: new Set(), requiredBy: new Set(), boundBy: new Set(), consistsOf: new Set(), before: new Set(),
  };
}

/**
 * Build the graph. Names that are not loaded units (a unit that failed to load, or a
 * typo the loader already reported) are kept in requires/binds_to so the engine can fail
 * the dependent with a reason; they are dropped from wants/after, which tolerate them.
 */
export function buildGraph(units: Map<string, UnitConfig>): UnitGraph {
  const graph: UnitGraph = new Map();
  const node = (name: string) => {
    let n = graph.get(name);
    if (!n) graph.set(name, (n = emptyNode(name)));
    return n;
  };
  const known = (name: string) => units.has(name);

  for (const cfg of units.values()) linkUnit(cfg, node, known);

  // A target waits for what it pulls in (systemd's default dependencies of targets),
  // unless the pulled unit is explicitly ordered after the target (by after/before as
  // written: an order a target rule implied does not count).
  const explicit = new Map([...graph].map(([name, n]) => [name, new Set(n.after)]));
  for (const cfg of units.values()) {
    if (cfg.service !== null || cfg.sockets.length > 0 || cfg.device) continue; // a device waits for no unit
    const t = node(cfg.name);
    for (const d of [...t.requires, ...t.wants]) {
      if (known(d) && !explicit.get(d)?.has(t.name)) t.after.add(d);
    }
  }

  for (const u of graph.values()) {
    for (const d of u.requires) if (known(d)) node(d).requiredBy.add(u.name);
    for (const d of u.bindsTo) if (known(d)) node(d).boundBy.add(u.name);
    for (const d of u.after) node(d).before.add(u.name);
  }
  return graph;
}

/** The forward edges one unit's configuration declares (both ends of conflicts). */
function linkUnit(cfg: UnitConfig, node: (name: string) => UnitNode, known: (name: string) => boolean) {
  const u = node(cfg.name);
  const s = cfg.unit;
  for (const d of s.requires) u.requires.add(d);
  for (const d of s.binds_to) { u.bindsTo.add(d); u.requires.add(d); }
  for (const d of s.wants) if (known(d)) u.wants.add(d);
  for (const d of s.conflicts) if (known(d)) { u.conflicts.add(d); node(d).conflicts.add(u.name); }
  for (const d of s.after) if (known(d)) u.after.add(d);
  for (const d of s.part_of ?? []) if (known(d)) node(d).consistsOf.add(u.name);
  for (const d of s.before) if (known(d)) node(d).after.add(u.name);
  for (const t of s.wanted_by) if (known(t)) node(t).wants.add(u.name);
  for (const t of s.required_by) if (known(t)) node(t).requires.add(u.name);
}

/**
 * Adds a unit made at run time (an instance of a template) with every edge, both ways, as
 * buildGraph would have: a target waits for what it pulls in unless that is ordered after it.
 */
export function addToGraph(graph: UnitGraph, cfg: UnitConfig, known: (name: string) => boolean): void {
  const node = (name: string) => {
    let n = graph.get(name);
    if (!n) graph.set(name, (n = emptyNode(name)));
    return n;
  };
  linkUnit(cfg, node, known);
  const u = node(cfg.name);
  if (cfg.service === null && cfg.sockets.length === 0) {
    for (const d of [...u.requires, ...u.wants]) if (known(d) && !graph.get(d)?.after.has(u.name)) u.after.add(d);
  }
  for (const d of u.requires) if (known(d)) node(d).requiredBy.add(u.name);
  for (const d of u.bindsTo) if (known(d)) node(d).boundBy.add(u.name);
  for (const d of u.after) node(d).before.add(u.name);
  for (const other of graph.values()) if (other.after.has(u.name)) u.before.add(other.name);
}

/** Removes a unit and every edge that names it. */
export function removeFromGraph(graph: UnitGraph, name: string): void {
  graph.delete(name);
  for (const n of graph.values()) {
    for (const set of [n.requires, n.wants, n.bindsTo, n.conflicts, n.after, n.requiredBy, n.boundBy, n.consistsOf, n.before]) set.delete(name);
  }
}

/** For each unit, the units it starts after (the loader's cycle search walks these). */
export function orderingEdges(units: Map<string, UnitConfig>): Map<string, Set<string>> {
  const graph = buildGraph(units);
  return new Map([...units.keys()].map((name) => [name, new Set(graph.get(name)?.after ?? [])]));
}
