// Putting dynamically linked Debian programs into an image with exactly the shared
// libraries they need: the packages' library closure from apt-cache, then each ELF
// file's PT_INTERP, DT_NEEDED and DT_RUNPATH (read with binutils' readelf, which reads
// any architecture) resolved inside the unpacked packages, recursively.

import { chmodSync, copyFileSync, lstatSync, mkdirSync, readlinkSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${p.exitCode}): ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

export function triplet(arch: string): string {
  if (arch === "arm64") return "aarch64-linux-gnu";
  if (arch === "amd64") return "x86_64-linux-gnu";
  throw new Error(`no multiarch triplet known for ${arch}`);
}

/**
 * The packages (of ARCH) that PKGS need, recursively, by Depends and Pre-Depends, kept to
 * the given packages and the shared-library ones (lib*): what dynamically linked programs
 * of PKGS can load. Pure over apt-cache's output (parseDependsRecurse).
 */
export function libraryClosure(pkgs: string[], arch: string): string[] {
  const out = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
    "--no-breaks", "--no-replaces", "--no-enhances", ...pkgs.map((p) => `${p}:${arch}`)]);
  return parseDependsRecurse(out, arch, pkgs);
}

export function parseDependsRecurse(text: string, arch: string, keep: string[]): string[] {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith(" ") || line.startsWith("<")) continue;
    const [name, a] = line.trim().split(":");
    if (a !== arch || !name) continue;
    if (keep.includes(name) || name.startsWith("lib")) names.add(name);
  }
  return [...names].sort();
}

export interface ElfInfo {
  interp: string | null;
  needed: string[];
  runpath: string[];
}

/** PT_INTERP, DT_NEEDED and DT_RUNPATH/RPATH from `readelf -lWd` output. Pure. */
export function parseReadelf(text: string): ElfInfo {
  const interp = text.match(/\[Requesting program interpreter: ([^\]]+)\]/)?.[1] ?? null;
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const runpath = [...text.matchAll(/\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]+)\]/g)]
    .flatMap((m) => m[1]!.split(":"));
  return { interp, needed, runpath };
}

export function readElf(path: string): ElfInfo | null {
  const p = Bun.spawnSync(["readelf", "-lWd", path], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) return null; // not an ELF file
  return parseReadelf(p.stdout.toString());
}

/** Follows symlinks of a path inside SYSROOT (absolute targets stay inside it). */
function resolveIn(sysroot: string, rel: string, depth = 0): string | null {
  const full = join(sysroot, rel);
  let st;
  try { st = lstatSync(full); } catch { return null; }
  if (!st.isSymbolicLink()) return full;
  if (depth > 16) return null;
  const target = readlinkSync(full);
  return resolveIn(sysroot, isAbsolute(target) ? target : join(dirname(rel), target), depth + 1);
}

/**
 * Copies each file (a path relative to one of SYSROOTS, the unpacked packages) into ROOT
 * at the same path, with its interpreter and every shared library it needs, recursively.
 * Libraries land at the path the loader looks them up by (their soname). Returns the
 * paths installed. Throws when a library cannot be found.
 */
export function installWithLibraries(files: string[], sysroots: string[], root: string, arch: string): string[] {
  const t = triplet(arch);
  const defaultDirs = [`/lib/${t}`, `/usr/lib/${t}`, "/lib", "/usr/lib"];
  const installed = new Set<string>();
  // A library's own NEEDED may be satisfied by one the loader has already loaded through
  // the program's RUNPATH (libsystemd-core needs libsystemd-shared, both in systemd's
  // private directory): every RUNPATH seen is searched last.
  const seenRunpaths: string[] = [];
  const find = (rel: string): string | null => {
    for (const s of sysroots) {
      const hit = resolveIn(s, rel);
      if (hit) return hit;
    }
    return null;
  };
  const install = (rel: string, from: string) => {
    if (installed.has(rel)) return;
    installed.add(rel);
    const to = join(root, rel);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    chmodSync(to, lstatSync(from).mode & 0o7777);
    const info = readElf(from);
    if (!info) return;
    if (info.interp) {
      const hit = find(info.interp);
      if (!hit) throw new Error(`${rel}: interpreter ${info.interp} is in none of the packages`);
      install(info.interp, hit);
    }
    const own = info.runpath.map((d) => d.replace("$ORIGIN", dirname(rel)));
    seenRunpaths.push(...own);
    const dirs = [...own, ...defaultDirs, ...seenRunpaths];
    for (const lib of info.needed) {
      const where = dirs.map((d) => join(d, lib)).find((p) => find(p) !== null);
      if (!where) throw new Error(`${rel}: needs ${lib}, which is in none of the packages`);
      install(where, find(where)!);
    }
  };
  for (const f of files) {
    const from = find(f);
    if (!from) throw new Error(`${f} is in none of the packages`);
    install(f, from);
  }
  return [...installed];
}

