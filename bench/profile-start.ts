// Where hearth spends its time while it starts the 200-unit graph of the supervision
// race: `hearth run` from the sources (the compiled binary is one minified bundle, which
// hides where a sample was taken) under Bun's sampling CPU profiler (--cpu-prof), its
// samples sorted into the parts of hearth they were taken in.
//
// Run: bun bench/profile-start.ts [ROUNDS]   (default 3; prints markdown)
//
// The profiler samples the JS thread only (with the native calls made from it, such as
// the spawner): the epoll thread and Bun's own threads are not in it, so the samples add
// up to less than the process's CPU time, which is given beside them. Each sample counts
// for the part of hearth nearest to where it was taken: a sample in Array.map called from
// the engine counts for the engine.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeUnits } from "./lib/graph.ts";
import { table } from "./lib/markdown.ts";
import { LAUNCH, PROBE, ROOT, requireBuilt, scratchDir } from "./lib/paths.ts";
import { cpuNs } from "./lib/proc.ts";
import { waitAllReady } from "./lib/record.ts";
import { fmt, median, spread } from "./lib/stats.ts";
import { BenchRun } from "./lib/supervisors.ts";

const ROUNDS = Number(process.argv[2] ?? 3);
const INTERVAL_US = 500;

// The parts of hearth, tried in order on each frame from the sampled one to the root.
const PARTS: [string, (fn: string, url: string) => boolean][] = [
  ["spawn: clone + child set-up until exec (native)", (fn) => fn === "hearth_spawn"],
  ["loading the native helpers (dlopen)", (fn) => fn === "dlopen"],
  ["spawn: request layout (JS)", (_, url) => /\/(ffi\/spawn|src\/exec\/spawner)\.ts$/.test(url)],
  ["configuration: TOML, schema, graph", (_, url) => /\/src\/config\/|smol-toml/.test(url)],
  ["engine: jobs, unit state machines", (_, url) => url.includes("/src/engine/")],
  ["reaping (waitpid)", (_, url) => url.includes("/src/exec/reaper")],
  ["manager: effects, logs, notify, control", (_, url) => /\/src\/(manager|log|notify|control)\//.test(url)],
  ["reactor and other ffi", (_, url) => url.includes("/ffi/")],
  ["start-up and command line (src/main, src/cli)", (_, url) => /\/src\/(main\.ts|cli\/)/.test(url)],
];
const OTHER = "runtime (module loading, GC, Bun internals)";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Sample counts per part, and per function (self), from a .cpuprofile, up to wall-clock time `untilUs`. */
function classify(path: string, untilUs: number): { parts: Map<string, number>; functions: Map<string, number>; samples: number } {
  const profile = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[]; samples: number[]; startTime: number; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string>();
  const part = (id: number): string => {
    const known = partOf.get(id);
    if (known) return known;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url } = byId.get(at)!.callFrame;
      const hit = PARTS.find(([, test]) => test(functionName, url));
      if (hit) {
        partOf.set(id, hit[0]);
        return hit[0];
      }
    }
    partOf.set(id, OTHER);
    return OTHER;
  };
  const parts = new Map<string, number>(), functions = new Map<string, number>();
  let samples = 0, at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    at += profile.timeDeltas[i]!;
    if (at > untilUs) break; // stopping the units is not starting them
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === "(root)" || functionName === "(idle)" || functionName === "(program)") continue;
    samples++;
    parts.set(part(id), (parts.get(part(id)) ?? 0) + 1);
    const name = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(src|ffi|node_modules)\//, "$1/") || "[native]"}`;
    functions.set(name, (functions.get(name) ?? 0) + 1);
  }
  return { parts, functions, samples };
}

async function main() {
  requireBuilt(PROBE, LAUNCH);
  const units = makeUnits(true);
  const partMs = new Map<string, number[]>(), fnMs = new Map<string, number[]>();
  const sampledMs: number[] = [], cpuMs: number[] = [], readyMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const profileDir = scratchDir("profile");
    const { run } = await BenchRun.start("hearth", units, {
      BUN_OPTIONS: `--cpu-prof --cpu-prof-interval=${INTERVAL_US} --cpu-prof-dir=${profileDir}`,
    }, [process.execPath, join(ROOT, "src/main.ts")]);
    const times = await waitAllReady(run.record, units.length, 60_000).catch((e) => run.fail(e));
    const allReadyUs = Date.now() * 1000;
    cpuMs.push(cpuNs(run.sup.pid) / 1e6);
    readyMs.push(Math.max(...times.ready));
    await run.stop(); // the profile is written as hearth exits
    const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error("hearth wrote no .cpuprofile (does this Bun honour BUN_OPTIONS=--cpu-prof?)");
    const { parts, functions, samples } = classify(join(profileDir, file), allReadyUs);
    rmSync(profileDir, { recursive: true, force: true });
    const ms = (n: number) => (n * INTERVAL_US) / 1000;
    sampledMs.push(ms(samples));
    for (const name of [...PARTS.map(([p]) => p), OTHER]) partMs.set(name, [...(partMs.get(name) ?? []), ms(parts.get(name) ?? 0)]);
    for (const [name, n] of functions) fnMs.set(name, [...(fnMs.get(name) ?? []), ms(n)]);
  }
  const total = median(sampledMs);
  const rows = [...partMs]
    .sort((a, b) => median(b[1]) - median(a[1]))
    .map(([name, xs]) => [name, spread(xs), `${((median(xs) / total) * 100).toFixed(0)} %`]);
  const top = [...fnMs]
    .map(([name, xs]) => [name, median([...xs, ...Array(ROUNDS - xs.length).fill(0)])] as const)
    .sort((a, b) => b[1] - a[1]).slice(0, 10)
    .map(([name, ms]) => [`\`${name}\``, fmt(ms)]);
  console.log(
    `hearth run (from the sources) starting the ${units.length}-unit graph, ${ROUNDS} runs (profiled: all ready in ${spread(readyMs)} ms). ` +
      `hearth's CPU until all ready: ${spread(cpuMs)} ms (every thread); samples on the JS thread: ${spread(sampledMs)} ms. ` +
      `ms of JS-thread samples, median (min–max):\n\n` +
      table(["part of hearth", "ms", "share of samples"], rows) +
      "\n\nTop functions by own samples (median ms):\n\n" + table(["function", "ms"], top),
  );
}

await main();
