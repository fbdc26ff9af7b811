// The workload of the supervision race: 200 units, each a ready probe with its own
// readiness delay, in a dependency graph or with no dependencies at all. Generated
// deterministically, so every run and every supervisor gets the same graph.

export interface BenchUnit {
  index: number;
  name: string;
  delayMs: number; // how long the probe takes to become ready
  deps: number[]; // indices of the units it requires and is ordered after
}

// Layer widths: fan-out from one root, a wide middle, fan-in to one last unit. 200 units.
const LAYERS = [1, 4, 12, 24, 32, 32, 32, 24, 20, 12, 6, 1];
const MIN_DELAY_MS = 10;
const MAX_DELAY_MS = 40;

/** A small linear congruential generator: the same numbers on every machine. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

/** The 200 units; with `withDeps` false, the same units and delays without dependencies. */
export function makeUnits(withDeps: boolean): BenchUnit[] {
  const next = lcg(7);
  const units: BenchUnit[] = [];
  let previous: number[] = [];
  for (let layer = 0; layer < LAYERS.length; layer++) {
    const current: number[] = [];
    for (let k = 0; k < LAYERS[layer]!; k++) {
      const index = units.length;
      const delayMs = MIN_DELAY_MS + (next() % (MAX_DELAY_MS - MIN_DELAY_MS + 1));
      const deps = new Set<number>();
      if (layer === LAYERS.length - 1) previous.forEach((p) => deps.add(p)); // the fan-in
      else if (previous.length > 0) {
        const want = 1 + (next() % 3); // 1 to 3 units of the layer before
        while (deps.size < Math.min(want, previous.length)) deps.add(previous[next() % previous.length]!);
      }
      units.push({ index, name: `u${String(index).padStart(3, "0")}`, delayMs, deps: withDeps ? [...deps].sort((a, b) => a - b) : [] });
      current.push(index);
    }
    previous = current;
  }
  return units;
}

/**
 * The physical limit: the longest chain of readiness delays (a unit cannot be ready
 * before its dependencies are, plus its own delay). Units are in topological order.
 */
export function criticalPathMs(units: BenchUnit[]): number {
  const finish: number[] = [];
  for (const u of units) finish[u.index] = u.delayMs + Math.max(0, ...u.deps.map((d) => finish[d]!));
  return Math.max(...finish);
}

/** The other reference's floor: every delay, one after another. */
export function sumOfDelaysMs(units: BenchUnit[]): number {
  return units.reduce((a, u) => a + u.delayMs, 0);
}

export function depth(units: BenchUnit[]): number {
  const level: number[] = [];
  for (const u of units) level[u.index] = 1 + Math.max(0, ...u.deps.map((d) => level[d]!));
  return Math.max(...level);
}
