// Runs the benchmarks listed in bench/benchmarks.ts one after another and writes
// bench/RESULTS.md: the machine, the date, the commit, each benchmark's command, time and
// output. `make bench` runs this after building everything.
//
// Run: bun bench/run-all.ts [NAME...]
//   With names, only those run and their output goes to stdout; RESULTS.md is written
//   only by a run of all of them (so it never mixes figures from different runs).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCHMARKS, type Benchmark } from "./benchmarks.ts";
import { ROOT } from "./lib/paths.ts";
import { machine } from "./lib/proc.ts";
import { LoadMeter, QUIET_CORES, waitForQuiet } from "./lib/quiet.ts";

function git(...args: string[]): string {
  const p = Bun.spawnSync(["git", ...args], { cwd: ROOT, stderr: "ignore" });
  return p.stdout.toString().trim();
}

function commandLine(b: Benchmark): string {
  return ["bun", `bench/${b.file}`, ...b.args].join(" ");
}

interface Outcome {
  output: string;
  ok: boolean;
  seconds: number;
  /** Cores' worth of CPU that the rest of the machine used meanwhile (0.5: half a core). */
  otherLoad: number;
}

async function runOne(b: Benchmark): Promise<Outcome> {
  // Wait for 3 s of quiet first (on a machine of its own that is all it costs).
  await waitForQuiet(3000, (line) => process.stderr.write(`   ${line}\n`));
  process.stderr.write(`== ${b.name}: ${commandLine(b)}\n`);
  const t0 = performance.now(), meter = new LoadMeter(1000);
  const p = Bun.spawn([process.execPath, join(ROOT, "bench", b.file), ...b.args], {
    cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit",
  });
  const [output, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  const elapsedMs = performance.now() - t0;
  const otherLoad = meter.otherLoad();
  process.stderr.write(`== ${b.name}: exit ${code}, ${(elapsedMs / 1000).toFixed(0)} s, other load ${otherLoad.toFixed(2)} cores\n`);
  return { output: output.trim(), ok: code === 0, seconds: elapsedMs / 1000, otherLoad };
}

/** A benchmark that does not guard itself, and ran beside other work. */
function suspect(b: Benchmark, r: Outcome): boolean {
  return !b.gated && r.otherLoad > QUIET_CORES;
}

function section(b: Benchmark, r: Outcome): string {
  const body = b.markdown && r.ok ? r.output : "```\n" + r.output + "\n```";
  const status = r.ok ? "" : " — **FAILED** (see the make bench output)";
  const load = b.gated
    ? `other processes meanwhile, while it waited for quiet too: ${r.otherLoad.toFixed(2)} cores; it repeats disturbed measurements (its interference line)`
    : `other processes on the machine meanwhile: ${r.otherLoad.toFixed(2)} cores` +
      (suspect(b, r) ? " — **not quiet: these figures are suspect, run again**" : "");
  return `## ${b.title}\n\n\`${commandLine(b)}\` (${r.seconds.toFixed(0)} s; ${load})${status}\n\n${body}\n`;
}

const names = process.argv.slice(2);
const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const chosen = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
const started = new Date();
const sections: string[] = [];
let failed = 0, noisy = 0;
for (const b of chosen) {
  const r = await runOne(b);
  if (!r.ok) failed++;
  if (suspect(b, r)) noisy++;
  const text = section(b, r);
  sections.push(text);
  if (names.length) console.log(text);
}

if (!names.length) {
  const dirty = git("status", "--porcelain", "--untracked-files=no") ? " (with uncommitted changes)" : "";
  const minutes = ((Date.now() - started.getTime()) / 60000).toFixed(1);
  const header = [
    "# Benchmark results",
    "",
    "Written by `make bench` (bench/run-all.ts); see bench/README.md for what each figure means.",
    "Figures are ratios against references measured side by side in the same run, with medians and",
    "spreads over repeated runs; absolute times are for scale only.",
    "",
    `- date: ${started.toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- machine: ${machine()}`,
    `- commit: ${git("rev-parse", "--short", "HEAD")}${dirty} (${git("log", "-1", "--format=%s")})`,
    `- peers: ${peerVersions()}`,
    `- command: \`make bench\` (${minutes} min in all${failed ? `; ${failed} benchmark(s) FAILED` : ""})`,
    `- quiet machine: ${noisy ? `**no**: other processes used more than ${QUIET_CORES} cores during ${noisy} benchmark(s) (marked below)` : `yes (other processes under ${QUIET_CORES} cores during every benchmark that does not guard itself; those that do say what they repeated)`}`,
    "",
  ].join("\n");
  writeFileSync(join(ROOT, "bench/RESULTS.md"), header + "\n" + sections.join("\n"));
  process.stderr.write(`wrote bench/RESULTS.md (${minutes} min)\n`);
}
process.exit(failed ? 1 : 0);

function peerVersions(): string {
  const version = (pkg: string) => {
    const p = Bun.spawnSync(["dpkg-query", "-W", "-f=${Version}", pkg], { stderr: "ignore" });
    return p.exitCode === 0 ? `${pkg} ${p.stdout.toString()}` : `${pkg} (not installed)`;
  };
  return ["s6", "runit"].map(version).join(", ") + " (Debian); dinit and s6-rc: not packaged for Debian 12";
}
