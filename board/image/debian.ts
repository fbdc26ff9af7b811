// Debian packages for a board: the kernel, glibc and BusyBox of its architecture,
// fetched with apt-get download (the archive's own client) and unpacked with dpkg-deb.
// Cached under build/debs/ARCH/: a second build downloads nothing.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function run(argv: string[], cwd?: string): string {
  const p = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${p.exitCode}): ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** The package a metapackage points at: "linux-image-arm64" -> "linux-image-6.1.0-56-arm64". Pure. */
export function realKernelPackage(apsCacheDepends: string): string | null {
  const m = apsCacheDepends.match(/Depends:\s*(linux-image-[^\s:]+)/);
  return m ? m[1]! : null;
}

export function resolveKernelPackage(metapackage: string, arch: string): string {
  const name = realKernelPackage(run(["apt-cache", "depends", `${metapackage}:${arch}`]));
  if (!name) throw new Error(`apt-cache depends ${metapackage}:${arch} names no linux-image package (apt-get update? dpkg --add-architecture ${arch}?)`);
  return name;
}

/** The .deb of package:arch in dir (arch "all": an architecture-independent one), downloading it if missing. Returns its path. */
export function fetchDeb(pkg: string, arch: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const find = () => readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(`_${arch}.deb`));
  let file = find();
  if (!file) {
    const spec = arch === "all" ? pkg : `${pkg}:${arch}`;
    console.log(`rootfs: apt-get download ${spec}`);
    run(["apt-get", "download", "-q", spec], dir);
    file = find();
    if (!file) throw new Error(`apt-get download ${pkg}:${arch} left no .deb in ${dir}`);
  }
  return join(dir, file);
}

/** Unpacks a .deb once (a stamp file marks it done); returns the directory. */
export function extractDeb(deb: string, dir: string): string {
  const stamp = join(dir, ".extracted");
  if (!existsSync(stamp)) {
    mkdirSync(dir, { recursive: true });
    run(["dpkg-deb", "-x", deb, dir]);
    writeFileSync(stamp, `${deb}\n`);
  }
  return dir;
}
