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
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { table } from "./lib/markdown.ts";
import { HEARTH, ROOT, requireBuilt, scratchDir } from "./lib/paths.ts";
import { spread } from "./lib/stats.ts";
import { interferenceNote } from "./lib/quiet.ts";
import { pairs, qemuUser } from "./lib/paired.ts";
import { PROBE, SERVICES } from "./boot-race/workload.ts";
import { hearthUnit } from "./boot-race/peers.ts";

const RUNS = Number(process.argv[2] ?? 7);
const HEARTH_ARM64 = join(ROOT, "dist/hearth-arm64");

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
  const qemu = qemuUser();
  if (qemu) {
    const arm64 = [...qemu, HEARTH_ARM64];
    const [c, v] = await pairs("arm64 under qemu", [...arm64, "check", "-c", confDir], [...arm64, "--version"], RUNS);
    rows.push(row("arm64, qemu-aarch64 user mode", c, v));
  }
  const [c, v] = await pairs("native", [HEARTH, "check", "-c", confDir], [HEARTH, "--version"], RUNS);
  rows.push(row("native (this host)", c, v));
} finally {
  rmSync(confDir, { recursive: true, force: true });
}

console.log(`**Configuration loading** — \`hearth check\` on the boot race's system.toml and ${SERVICES.length} unit files ` +
  `against \`hearth --version\` of the same binary; ${RUNS} interleaved pairs each; wall ms, median (min–max).\n`);
console.log(table(["where", "check ms", "--version ms", "check − --version ms (chunk + load)"], rows));
console.log(`\n_${interferenceNote()}_`);
