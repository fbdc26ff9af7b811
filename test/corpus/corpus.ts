// The Debian corpus: the packages of test/corpus/packages.txt fetched with apt-get
// download (cached in build/corpus/debs), their systemd .service and .socket files (and
// drop-ins) unpacked with dpkg-deb, imported package by package, and every imported
// config dir checked with `hearth check`. Used by corpus.test.ts and by hand:
//   bun test/corpus/corpus.ts        prints the figure and the top dropped directives

import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { importUnits, renderUnit, unitPath, type ImportResult } from "../../src/import/importer.ts";
import { formatSummary, summarize, type Summary } from "../../src/import/summary.ts";
import { checkMain } from "../../src/cli/check.ts";

const ROOT = resolve(import.meta.dir, "../..");
export const CACHE = join(ROOT, "build/corpus");
const DEBS = join(CACHE, "debs");
const UNITS = join(CACHE, "units");
const OUT = join(CACHE, "imported");
const UNIT_DIRS = ["lib/systemd/system", "usr/lib/systemd/system"];

export function packageList(): string[] {
  return readFileSync(join(import.meta.dir, "packages.txt"), "utf8").split("\n")
    .map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
}

function run(argv: string[], cwd?: string): { ok: boolean; output: string } {
  const proc = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  return { ok: proc.exitCode === 0, output: proc.stdout.toString() + proc.stderr.toString() };
}

function debOf(pkg: string): string | undefined {
  return readdirSync(DEBS).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
}

/**
 * Downloads the packages not in the cache yet; else why not, and whether that is because
 * the archive could not be reached (rather than a name the archive does not have).
 */
export function fetchPackages(packages: string[]): { ok: true } | { ok: false; reason: string; unreachable: boolean } {
  mkdirSync(DEBS, { recursive: true });
  const missing = packages.filter((p) => debOf(p) === undefined);
  if (missing.length === 0) return { ok: true };
  let got = run(["apt-get", "download", "-q", ...missing], DEBS);
  // A fresh machine may have no package lists yet: fetch them once and try again.
  if (!got.ok && /Unable to locate package|has no installation candidate/.test(got.output)) {
    run(["apt-get", "update", "-q"]);
    got = run(["apt-get", "download", "-q", ...packages.filter((p) => debOf(p) === undefined)], DEBS);
  }
  const still = packages.filter((p) => debOf(p) === undefined);
  if (still.length === 0) return { ok: true };
  const unknown = /Unable to locate package|has no installation candidate|Can't select/.test(got.output);
  return { ok: false, unreachable: !unknown, reason: `apt-get download left ${still.join(", ")} missing: ${got.output.trim().split("\n").slice(-3).join(" | ")}` };
}

/** A package's unit files (and drop-in dirs) unpacked under build/corpus/units/PKG; the .service and .socket paths. */
export function unpackUnits(pkg: string): string[] {
  const dir = join(UNITS, pkg);
  const stamp = join(dir, ".unpacked");
  if (!existsSync(stamp)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const deb = join(DEBS, debOf(pkg)!);
    // Only the unit directories; tar says "not found" for the ones a package lacks.
    const patterns = UNIT_DIRS.map((d) => `./${d}/*`);
    run(["sh", "-c", `dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" --wildcards "$@" 2>/dev/null; true`, deb, dir, ...patterns]);
    writeFileSync(stamp, "");
  }
  const files: string[] = [];
  for (const unitDir of UNIT_DIRS) {
    const full = join(dir, unitDir);
    if (!existsSync(full)) continue;
    for (const entry of readdirSync(full).sort()) {
      const path = join(full, entry);
      // Symbolic links are aliases (dbus-org.freedesktop.login1.service) or masks (to /dev/null), not units.
      if (/\.(service|socket)$/.test(entry) && lstatSync(path).isFile()) files.push(path);
    }
  }
  return files;
}

export interface CorpusRun {
  packages: number;
  withUnits: number;
  result: ImportResult; // all packages together
  summary: Summary;
  /** Lines of `hearth check` that are errors, package by package. */
  checkErrors: string[];
}

/** Imports every package's units into build/corpus/imported/PKG and checks each dir. */
export async function runCorpus(packages: string[]): Promise<CorpusRun> {
  rmSync(OUT, { recursive: true, force: true });
  const all: ImportResult = { units: [], notes: [], files: [], errors: [] };
  const checkErrors: string[] = [];
  let withUnits = 0;
  for (const pkg of packages) {
    const files = unpackUnits(pkg);
    if (files.length === 0) continue;
    withUnits++;
    const result = importUnits(files);
    const confDir = join(OUT, pkg);
    for (const unit of result.units) {
      mkdirSync(join(confDir, "units"), { recursive: true });
      writeFileSync(unitPath(confDir, unit), renderUnit(unit));
    }
    all.units.push(...result.units);
    all.notes.push(...result.notes);
    all.files.push(...result.files);
    all.errors.push(...result.errors);
    if (result.units.length === 0) continue;
    const lines: string[] = [];
    // Programs are not looked up: they come from packages this machine does not have.
    await checkMain(["-c", confDir], {
      out: (line) => lines.push(line), err: (line) => lines.push(line),
      env: { isExecutable: () => true, exists: () => true },
    });
    checkErrors.push(...lines.filter((line) => line.includes(": error: ")));
  }
  return { packages: packages.length, withUnits, result: all, summary: summarize(all), checkErrors };
}

if (import.meta.main) {
  const packages = packageList();
  const fetched = fetchPackages(packages);
  if (!fetched.ok) {
    console.error(fetched.reason);
    process.exit(1);
  }
  const corpus = await runCorpus(packages);
  console.log(`${corpus.packages} packages, ${corpus.withUnits} with .service or .socket files`);
  for (const line of formatSummary(corpus.summary, Number(process.argv[2] ?? 20))) console.log(line);
  for (const line of corpus.checkErrors) console.log(`check: ${line}`);
  for (const line of corpus.result.errors) console.log(`error: ${line}`);
}
