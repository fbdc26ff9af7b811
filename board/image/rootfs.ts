// `make rootfs BOARD=NAME`: the board's boot images, from Debian packages only.
//
//   bun board/image/rootfs.ts BOARD --hearth dist/hearth-ARCH [--out build/boards/BOARD]
//
// writes OUT/vmlinuz (the board's Debian kernel) and OUT/initramfs.cpio (uncompressed):
// glibc and BusyBox of the board's architecture, hearth installed by `hearth install`,
// the kernel modules the board names (with their dependencies and a modules.dep), the
// example configuration (board/rootfs) and its demo programs (board/demo, compiled
// statically for the board), and a getty on the console from Debian's own unit file
// (./getty.ts). Nothing in the image is a shell script.

import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, readlinkSync, lstatSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseBoard, type Board } from "./board.ts";
import { dataPadding, entryHeader, S_IFCHR, S_IFDIR, TRAILER, type CpioEntry } from "./cpio.ts";
import { extractDeb, fetchDeb, resolveKernelPackage } from "./debian.ts";
import { installGetty } from "./getty.ts";
import { moduleDepends, readModinfo } from "./modinfo.ts";
import { moduleName } from "../../src/boot/modules.ts";
import { performInstall } from "../../src/cli/install.ts";
import { installSandboxExtras } from "./sandbox-extras.ts";

const REPO = resolve(import.meta.dir, "../..");

/** BusyBox applets linked in /bin: a shell and the usual tools for the rescue console. */
const BUSYBOX_APPLETS = [
  "sh", "ash", "cat", "cp", "cttyhack", "df", "dmesg", "echo", "free", "grep", "halt", "head", "hostname",
  "ip", "kill", "login", "ls", "mkdir", "mount", "mv", "nc", "poweroff", "ps", "reboot", "rm", "sleep", "tail",
  "top", "umount", "uname", "vi", "wc",
];

export function loadBoard(name: string): Board {
  return parseBoard(name, readFileSync(join(REPO, "board", name, "board.toml"), "utf8"));
}

/** `BOARD --hearth PATH [--out DIR]`, the arguments of rootfs.ts and disk.ts. */
export function buildArguments(tool: string, argv: string[]): { board: Board; hearth: string; outDir: string } {
  const [name, ...rest] = argv;
  let hearth: string | null = null, out: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--hearth") hearth = rest[++i] ?? null;
    else if (rest[i] === "--out") out = rest[++i] ?? null;
    else throw new Error(`unknown argument ${rest[i]}`);
  }
  if (!name || !hearth) throw new Error(`usage: bun board/image/${tool} BOARD --hearth PATH [--out DIR]`);
  return { board: loadBoard(name), hearth: resolve(hearth), outDir: resolve(out ?? join(REPO, "build/boards", name)) };
}

function main(argv: string[]) {
  const { board, hearth, outDir } = buildArguments("rootfs.ts", argv);
  const t0 = performance.now();
  const images = buildImages(board, hearth, outDir);
  console.log(`rootfs: ${board.name}: ${relative(REPO, images.kernel)}, ${relative(REPO, images.initramfs)} ` +
    `(${(images.size / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

export function buildImages(board: Board, hearthBinary: string, outDir: string) {
  const root = join(outDir, "root");
  const { kernelDir, release } = stageRoot(board, hearthBinary, root, { initramfs: true });
  mkdirSync(outDir, { recursive: true });
  const kernel = join(outDir, "vmlinuz");
  copyFileSync(join(kernelDir, "boot", `vmlinuz-${release}`), kernel);
  const initramfs = join(outDir, "initramfs.cpio");
  // The kernel opens /dev/console for PID 1 before anything is mounted: it must be in the image.
  const size = writeCpio(root, [CONSOLE], initramfs);
  return { kernel, initramfs, size };
}

export const CONSOLE: CpioEntry = { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 };

/** The board's Debian packages, unpacked (cached under build/debs/ARCH). */
export function unpackPackage(board: Board, pkg: string, arch: string = board.arch): string {
  const debs = join(REPO, "build/debs", board.arch);
  return extractDeb(fetchDeb(pkg, arch, debs), join(debs, "x", pkg));
}

export function kernelOf(board: Board): { kernelDir: string; release: string } {
  const kernelDir = unpackPackage(board, resolveKernelPackage(board.kernelPackage, board.arch));
  return { kernelDir, release: readdirSync(join(kernelDir, "lib/modules"))[0]! };
}

/**
 * The root file system in ROOT: glibc, BusyBox, hearth (with /init when it is an
 * initramfs), the example configuration with the board's watchdog driver, the demo
 * programs and the board's kernel modules.
 */
export function stageRoot(board: Board, hearthBinary: string, root: string, opts: { initramfs: boolean }) {
  const kernel = kernelOf(board);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  copyLibc(unpackPackage(board, "libc6"), root);
  installBusybox(unpackPackage(board, "busybox-static"), root);
  const problems = performInstall({ root, binary: hearthBinary, initramfs: opts.initramfs }, true, () => {});
  if (problems.length > 0) throw new Error(`hearth install: ${problems.join("; ")}`);
  cpSync(join(REPO, "board/rootfs"), root, { recursive: true });
  for (const note of installGetty(board, root, (pkg) => unpackPackage(board, pkg))) console.log(`rootfs: ${note}`);
  if (board.watchdogModule) useWatchdogModule(join(root, "etc/hearth/system.toml"), board.watchdogModule);
  compileDemo(board, join(root, "usr/bin/hearth-demo"));
  installSandboxExtras(board, root);
  installModules(kernel.kernelDir, root, board.modules);
  return kernel;
}

/** The example loads the QEMU boards' watchdog driver; another board names its own. */
function useWatchdogModule(systemToml: string, module: string) {
  const text = readFileSync(systemToml, "utf8");
  const next = text.replace(/^kernel_modules = \[[^\]]*\].*$/m, `kernel_modules = ["${module}"]   # the board's watchdog driver`);
  if (next === text) throw new Error(`${systemToml}: no kernel_modules line to point at ${module}`);
  writeFileSync(systemToml, next);
}

/** glibc's loader and libraries (not its gconv modules, locales or programs). */
export function copyLibc(libcDir: string, root: string) {
  for (const dir of ["lib", "lib64", "usr/lib"]) {
    const from = join(libcDir, dir);
    if (!existsSync(from)) continue;
    cpSync(from, join(root, dir), { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes("/gconv") });
  }
}

function installBusybox(busyboxDir: string, root: string) {
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(join(busyboxDir, "bin/busybox"), join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const applet of BUSYBOX_APPLETS) symlinkSync("busybox", join(root, "bin", applet));
}

function compileDemo(board: Board, out: string) {
  mkdirSync(dirname(out), { recursive: true });
  const argv = [board.cc, "-static", "-O2", "-Wall", "-o", out, join(REPO, "board/demo/hearth-demo.c")];
  const p = Bun.spawnSync(argv, { stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed`);
}

/**
 * Copies the named modules and everything they depend on (from each module's .modinfo)
 * into ROOT/lib/modules/RELEASE, and writes modules.dep for them. Returns RELEASE and
 * the modules' paths inside ROOT in an order that loads each after its dependencies.
 */
export function installModules(kernelDir: string, root: string, names: string[]): { release: string; loadOrder: string[] } {
  const modulesRoot = join(kernelDir, "lib/modules");
  const release = readdirSync(modulesRoot)[0]!;
  const from = join(modulesRoot, release);
  const paths = new Map<string, string>(); // module name -> path relative to the release dir
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(from, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.ko(\.(xz|gz|zst))?$/.test(entry.name)) paths.set(moduleName(entry.name), rel);
    }
  };
  walk("kernel");
  const builtin = readFileSync(join(from, "modules.builtin"), "utf8");
  const deps = new Map<string, string[]>();
  const visit = (name: string) => {
    if (deps.has(name)) return;
    const path = paths.get(name);
    if (!path) {
      if (!builtin.split("\n").some((l) => moduleName(l) === name)) throw new Error(`module ${name}: not in ${kernelDir}`);
      return;
    }
    const direct = moduleDepends(readModinfo(readFileSync(join(from, path)))).map(moduleName);
    deps.set(name, direct);
    direct.forEach(visit);
  };
  names.map(moduleName).forEach(visit);
  const to = join(root, "lib/modules", release);
  const closure = (name: string, seen = new Set<string>()): string[] => {
    for (const d of deps.get(name) ?? []) if (!seen.has(d)) { seen.add(d); closure(d, seen); }
    return [...seen];
  };
  const lines: string[] = [];
  for (const name of deps.keys()) {
    const path = paths.get(name)!;
    mkdirSync(dirname(join(to, path)), { recursive: true });
    copyFileSync(join(from, path), join(to, path));
    lines.push(`${path}: ${closure(name).map((d) => paths.get(d)).filter(Boolean).join(" ")}`.trimEnd());
  }
  writeFileSync(join(to, "modules.dep"), lines.join("\n") + "\n");
  copyFileSync(join(from, "modules.builtin"), join(to, "modules.builtin"));
  const loadOrder: string[] = [];
  const place = (name: string) => {
    const path = paths.get(name);
    if (!path || loadOrder.includes(`/lib/modules/${release}/${path}`)) return;
    (deps.get(name) ?? []).forEach(place);
    loadOrder.push(`/lib/modules/${release}/${path}`);
  };
  names.map(moduleName).forEach(place);
  return { release, loadOrder };
}

/** The staged tree (plus extra entries) as a newc cpio, streamed to a file. Returns its size. */
export function writeCpio(root: string, extra: CpioEntry[], out: string): number {
  const fd = openSync(`${out}.tmp`, "w");
  let size = 0, ino = 1;
  const put = (bytes: Uint8Array) => { writeSync(fd, bytes); size += bytes.byteLength; };
  const add = (e: CpioEntry) => {
    put(entryHeader(e, e === TRAILER ? 0 : ino++, 0));
    if (e.data) { put(e.data); put(dataPadding(e.data.byteLength)); }
  };
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      const path = join(root, rel);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) add({ name: rel, mode: 0o120777, data: Buffer.from(readlinkSync(path)) });
      else if (st.isDirectory()) { add({ name: rel, mode: S_IFDIR | (st.mode & 0o7777) }); walk(rel); }
      else add({ name: rel, mode: st.mode, data: readFileSync(path) });
    }
  };
  walk("");
  extra.forEach(add);
  add(TRAILER);
  closeSync(fd);
  renameSync(`${out}.tmp`, out);
  return size;
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`rootfs: ${(e as Error).message}`);
    process.exit(1);
  }
}
