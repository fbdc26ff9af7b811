// Configuration loading (issue 11 goal 1, the "configuration loaded" phase): `hearth check`
// on the boot race's configuration (system.toml and its 30 unit files, bench/boot-race/
// peers.ts) against `hearth --version` of the same binary, so the difference is the
// configuration chunk's loading and the load itself (PID 1 runs the same loadConfig).
//   arm64  dist/hearth-arm64 under qemu-aarch64 user mode (TCG: what the boot race's board feels)
//   native dist/hearth on this host
// The probe path is replaced by /bin/true, which exists here: a load without diagnostics,
// as at boot. Interleaved pairs, each on a quiet machine (bench/lib/quiet.ts); wall time
// of the whole process.
//   bun bench/config-load.ts [RUNS]      (default 7 pairs each)
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { table } from "./lib/markdown.ts";
import { HEARTH, ROOT, requireBuilt, scratchDir } from "./lib/paths.ts";
import { spread } from "./lib/stats.ts";
import { interferenceNote, quietly } from "./lib/quiet.ts";
import { PROBE, SERVICES } from "./boot-race/workload.ts";
import { hearthUnit } from "./boot-race/peers.ts";

const RUNS = Number(process.argv[2] ?? 7);
const HEARTH_ARM64 = join(ROOT, "dist/hearth-arm64");
const QEMU = Bun.which("qemu-aarch64") ?? Bun.which("qemu-aarch64-static");
const SYSROOT = "/usr/aarch64-linux-gnu";

async function wallMs(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const code = await p.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return ms;
}

/** RUNS interleaved pairs after one warm-up pair: check's and --version's times, ms. */
async function pairs(label: string, check: string[], version: string[]): Promise<[number[], number[]]> {
  await wallMs(check);
  await wallMs(version);
  const cs: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [c, v] = await quietly(label, async () => [await wallMs(check), await wallMs(version)] as const);
    cs.push(c);
    vs.push(v);
  }
  return [cs, vs];
}

function row(name: string, check: number[], version: number[]): string[] {
  return [name, spread(check), spread(version), spread(check.map((c, i) => c - version[i]!))];
}

requireBuilt(HEARTH, HEARTH_ARM64);
const confDir = scratchDir("config-load");
mkdirSync(join(confDir, "units"));
writeFileSync(join(confDir, "system.toml"), `[manager]\nhostname = "race"\n`);
for (const svc of SERVICES) writeFileSync(join(confDir, "units", `${svc.name}.toml`), hearthUnit(svc).replaceAll(PROBE, "/bin/true"));

const rows: string[][] = [];
try {
  if (QEMU && existsSync(join(SYSROOT, "lib/ld-linux-aarch64.so.1"))) {
    const qemu = [QEMU, "-L", SYSROOT, HEARTH_ARM64];
    const [c, v] = await pairs("arm64 under qemu", [...qemu, "check", "-c", confDir], [...qemu, "--version"]);
    rows.push(row("arm64, qemu-aarch64 user mode", c, v));
  } else {
    console.error(`no qemu-aarch64 or no ${SYSROOT}: \`make deps-board\` installs them; the arm64 row is left out`);
  }
  const [c, v] = await pairs("native", [HEARTH, "check", "-c", confDir], [HEARTH, "--version"]);
  rows.push(row("native (this host)", c, v));
} finally {
  rmSync(confDir, { recursive: true, force: true });
}

console.log(`**Configuration loading** — \`hearth check\` on the boot race's system.toml and ${SERVICES.length} unit files ` +
  `against \`hearth --version\` of the same binary; ${RUNS} interleaved pairs each; wall ms, median (min–max).\n`);
console.log(table(["where", "check ms", "--version ms", "check − --version ms (chunk + load)"], rows));
console.log(`\n_${interferenceNote()}_`);
