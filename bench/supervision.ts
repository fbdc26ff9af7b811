// The supervision race on the host: 200 ready probes started by hearth, s6 and runit,
// in a dependency graph and with no dependencies, side by side, several rounds
// interleaved. Prints the tables for RESULTS.md (markdown).
//
// Run: bun bench/supervision.ts [ROUNDS]   (default 5; needs `make build`, bench/setup.sh)
//
// Per run: the supervisor is started through build/bench/launch, which stamps the start
// time (CLOCK_MONOTONIC) in the record file; each probe stamps there when it started and
// when it became ready. From that file alone:
//   all ready    — last ready stamp minus the supervisor's start;
//   first start  — first probe start minus the supervisor's start (the supervisor's own
//                  start-up: loading its configuration, its first spawns);
//   reaction     — per unit with dependencies, its start minus its last dependency's
//                  ready stamp: how fast the supervisor acts on readiness (median of units);
//   starts/s     — no-dependency variant: units started per second, first to last start.
// CPU: the supervisor's processes (hearth; s6-svscan and every s6-supervise; runsvdir and
// every runsv) from /proc/PID/task/*/schedstat, sampled every 50 ms: total until all were
// ready, and the peak over one 50 ms interval (100 % = one core). "Services' CPU" is what
// ran in the services' processes themselves: the probes, and for s6 and runit the run
// scripts that wait for dependencies (sh, s6-svwait, sv).
import { rmSync } from "node:fs";
import { criticalPathMs, depth, makeUnits, sumOfDelaysMs, type BenchUnit } from "./lib/graph.ts";
import { table } from "./lib/markdown.ts";
import { HEARTH, LAUNCH, PROBE, requireBuilt, scratchDir } from "./lib/paths.ts";
import { createRecord, readTimes, waitAllReady, type Times } from "./lib/record.ts";
import { cpuNs, reapedChildrenCpuNs, childrenOf } from "./lib/proc.ts";
import { fmt, median, ratio, spread } from "./lib/stats.ts";
import { BenchRun, FLAVOURS, type Flavour } from "./lib/supervisors.ts";
import { interferenceNote, quietly } from "./lib/quiet.ts";

const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 5);
const RACERS: Flavour[] = ["hearth", "hearth-notify", "s6", "runit"];
const CPU_SAMPLE_MS = 50;
const RUN_TIMEOUT_MS = 60_000;

interface RunResult {
  allReadyMs: number;
  firstStartMs: number;
  reactionMs: number; // median over units with dependencies
  startsPerSec: number;
  cpuMs: number | null;
  peakCpuPct: number | null;
  servicesCpuMs: number | null;
}

function summarize(units: BenchUnit[], t: Times): Omit<RunResult, "cpuMs" | "peakCpuPct" | "servicesCpuMs"> {
  const reactions = units.filter((u) => u.deps.length > 0).map((u) => t.start[u.index]! - Math.max(...u.deps.map((d) => t.ready[d]!)));
  const firstStart = Math.min(...t.start), lastStart = Math.max(...t.start);
  return {
    allReadyMs: Math.max(...t.ready),
    firstStartMs: firstStart,
    reactionMs: reactions.length ? median(reactions) : NaN,
    startsPerSec: (units.length - 1) / ((lastStart - firstStart) / 1000),
  };
}

/** One supervisor, one variant: start, wait until every probe is ready, measure, stop. */
async function race(flavour: Flavour, withDeps: boolean): Promise<RunResult> {
  const units = makeUnits(withDeps);
  const { run, bringingUp } = await BenchRun.start(flavour, units);
  const samples: { at: number; cpu: number }[] = [];
  const sampleCpu = () => samples.push({ at: performance.now(), cpu: run.sup.supervisorPids().reduce((a, p) => a + cpuNs(p), 0) });
  sampleCpu();
  let times: Times;
  try {
    [, times] = await Promise.all([bringingUp, waitAllReady(run.record, units.length, RUN_TIMEOUT_MS, () => {
      if (run.sup.proc.exitCode !== null) throw new Error("the supervisor ended");
      if (performance.now() - samples.at(-1)!.at >= CPU_SAMPLE_MS) sampleCpu();
    })]);
  } catch (e) {
    return run.fail(e as Error);
  }
  sampleCpu();
  const supervisors = new Set(run.sup.supervisorPids());
  const services = [...supervisors].flatMap(childrenOf).filter((p) => !supervisors.has(p));
  const servicesCpu = services.reduce((a, p) => a + cpuNs(p) + reapedChildrenCpuNs(p), 0);
  await run.stop();

  let peak = 0;
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i]!.at - samples[i - 1]!.at;
    if (dt > 0) peak = Math.max(peak, (samples[i]!.cpu - samples[i - 1]!.cpu) / 1e6 / dt);
  }
  return {
    ...summarize(units, times),
    cpuMs: samples.at(-1)!.cpu / 1e6, peakCpuPct: peak * 100, servicesCpuMs: servicesCpu / 1e6,
  };
}

/** The sequential reference: each probe started when the one before it is ready. */
async function sequential(): Promise<RunResult> {
  const units = makeUnits(true); // in topological order
  const dir = scratchDir("sequential");
  const record = createRecord(dir, units.length);
  const procs = [];
  for (const u of units) {
    const p = Bun.spawn([PROBE, record, String(u.index), String(u.delayMs), "fd:1"], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    procs.push(p);
    const reader = p.stdout.getReader();
    await reader.read(); // the newline: ready
    reader.releaseLock();
  }
  await waitAllReady(record, units.length, 1000); // the last probe stamps just after telling
  const times = readTimes(record, units.length, 0); // from the first probe's start
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
  return { ...summarize(units, times), cpuMs: null, peakCpuPct: null, servicesCpuMs: null };
}

type Row = RunResult[];

function column(rows: Row, pick: (r: RunResult) => number | null): number[] {
  return rows.map(pick).filter((x): x is number => x !== null && Number.isFinite(x));
}

function report(title: string, withDeps: boolean, results: Map<string, Row>, limitMs: number, limitName: string): string {
  const hearth = results.get("hearth")!;
  const med = (rows: Row, pick: (r: RunResult) => number | null) => median(column(rows, pick));
  const lines: string[][] = [];
  for (const [name, rows] of results) {
    const ready = column(rows, (r) => r.allReadyMs);
    lines.push([
      name === "sequential" ? "sequential start (reference)" : `${name}`,
      spread(ready),
      ratio(median(ready), med(hearth, (r) => r.allReadyMs)),
      ratio(median(ready), limitMs),
      name === "sequential" ? "–" : spread(column(rows, (r) => r.firstStartMs)),
      name === "sequential" && withDeps ? "–" : withDeps ? spread(column(rows, (r) => r.reactionMs)) : fmt(med(rows, (r) => r.startsPerSec)),
      spread(column(rows, (r) => r.cpuMs)),
      ratio(med(rows, (r) => r.cpuMs), med(hearth, (r) => r.cpuMs)),
      spread(column(rows, (r) => r.peakCpuPct)),
      spread(column(rows, (r) => r.servicesCpuMs)),
    ]);
  }
  lines.push([limitName, fmt(limitMs), ratio(limitMs, med(hearth, (r) => r.allReadyMs)), "1.00", "–", "–", "–", "–", "–", "–"]);
  return `${title}\n\n` + table(
    ["supervisor", "all ready ms", "× hearth", `× limit`, "first start ms", withDeps ? "reaction ms (p50 of units)" : "starts/s",
      "supervisor CPU ms", "× hearth", "peak CPU %", "services' CPU ms"],
    lines,
  );
}

async function main() {
  requireBuilt(HEARTH, PROBE, LAUNCH);
  const graph = makeUnits(true), flat = makeUnits(false);
  const byVariant = { graph: new Map<string, Row>(), flat: new Map<string, Row>() };
  for (const f of RACERS) {
    byVariant.graph.set(f, []);
    byVariant.flat.set(f, []);
  }
  byVariant.graph.set("sequential", []);
  // One run of each, not counted: binaries and libraries into the page cache.
  for (const flavour of RACERS) await race(flavour, false);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < RACERS.length; i++) {
      const flavour = RACERS[(i + round) % RACERS.length]!; // rotate who goes first
      byVariant.graph.get(flavour)!.push(await quietly(flavour, () => race(flavour, true)));
      byVariant.flat.get(flavour)!.push(await quietly(flavour, () => race(flavour, false)));
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${flavour} done\n`);
    }
    byVariant.graph.get("sequential")!.push(await quietly("sequential", sequential));
  }
  byVariant.flat.set("sequential", byVariant.graph.get("sequential")!);

  const out: string[] = [];
  out.push(`${graph.length} ready probes; ${ROUNDS} rounds after one uncounted warm-up run of each, supervisors interleaved (order rotated each round); ` +
    `medians with (min–max) over the rounds; ratios are of medians.\n`);
  for (const f of RACERS) out.push(`- **${f}**: ${FLAVOURS[f]}`);
  out.push(
    `- graph: ${depth(graph)} layers (widths 1, 4, 12, 24, 32, 32, 32, 24, 20, 12, 6, 1), each unit requires and is ordered after ` +
      `1–3 units of the layer before (the last one after all 6 before it), ${graph.reduce((a, u) => a + u.deps.length, 0)} edges; ` +
      `readiness delays 10–40 ms; critical path ${criticalPathMs(graph)} ms; sum of delays ${sumOfDelaysMs(graph)} ms.`,
    "- s6: no s6-rc in Debian 12, so a unit with dependencies waits in its run script (`s6-svwait -U deps || exit 1; exec probe`).",
    "- runit: no readiness and no dependencies; a unit with dependencies runs `sv -w 60 start deps || exit 1` (the runit FAQ idiom) " +
      "and each service has a ./check (the probe asking the record file), which sv polls. runit's no-dependency run knows no readiness: its figure is when the probes were ready.",
    "- dinit: not packaged for Debian 12: not raced.",
    "- sequential start: each probe started (Bun.spawn) when the one before it is ready, in topological order; timed from the first probe's start.\n",
  );
  out.push(`- ${interferenceNote()}\n`);
  out.push(report("**With dependencies** (limit: the critical path)", true, byVariant.graph, criticalPathMs(graph), "critical path (physical limit)"));
  out.push("");
  out.push(report("**No dependencies** (limit: the longest single delay)", false, byVariant.flat, criticalPathMs(flat), "longest delay (physical limit)"));
  console.log(out.join("\n"));
}

await main();
