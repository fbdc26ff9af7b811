// `make image BOARD=NAME`: the board's flashable disk image, without root-only tools.
//
//   bun board/image/disk.ts BOARD --hearth dist/hearth-ARCH [--out build/boards/BOARD]
//
// writes OUT/<image.file> (sdcard.img for the Raspberry Pi, disk.img for the QEMU boards):
//
//   sector 0        an MBR (board/image/mbr.ts) with two partitions
//   4 MiB           FAT32 "BOOT" (mkfs.vfat, files put in with mcopy): the kernel as vmlinuz,
//                   the tiny initrd as initrd.img, the device tree, the Raspberry Pi firmware
//                   (Debian's raspi-firmware), config.txt and cmdline.txt
//   4 + boot MiB    ext4 "root" to the end (mke2fs -d, nothing mounted): the same root the
//                   initramfs holds (board/image/rootfs.ts stageRoot), hearth as /sbin/init
//
// Debian's kernel has ext4 and the disk drivers as modules, so the root cannot be mounted
// by the kernel alone: initrd.img is a small initramfs (board/initrd/init.c and those
// modules, a few MB) that loads them, mounts root= and executes /sbin/init on it.
//
// Reproducible: every timestamp is SOURCE_DATE_EPOCH (default: the last commit's time),
// the UUIDs and hash seed are fixed (mkfs.vfat --invariant: its volume id too), entries are added in sorted order; the
// same inputs give the same bytes.

import { closeSync, copyFileSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeFileSync, writeSync, ftruncateSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Board, DiskLayout } from "./board.ts";
import { mbr, SECTOR } from "./mbr.ts";
import { buildArguments, CONSOLE, installModules, stageRoot, unpackPackage, writeCpio } from "./rootfs.ts";

const REPO = resolve(import.meta.dir, "../..");
const MIB = 1024 * 1024;
export const BOOT_OFFSET = 4 * MIB; // the first partition's start: 4 MiB, aligned for any flash erase block
const DISK_SIGNATURE = 0x68656172; // "hear"
const ROOT_UUID = "a7e5d8c2-4e61-4a1b-9f00-6865617274a1";
const HASH_SEED = "0b1e6c44-2f7d-4d0e-8a5c-6865617274a2";

function run(argv: string[], env?: Record<string, string>): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${p.exitCode}): ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** SOURCE_DATE_EPOCH, or the time of the last commit. */
export function sourceDateEpoch(): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  return Number(run(["git", "-C", REPO, "log", "-1", "--format=%ct"]).trim());
}

/** The kernel command line of a disk boot: the board's words, then where the root is. Pure. */
export function diskCmdline(board: Board, layout: DiskLayout): string {
  return `${board.cmdline} root=${layout.root} rootfstype=ext4 rootwait rw`;
}

/** Sets every entry's timestamps (not following symlinks) under DIR to EPOCH. */
function pinTimes(dir: string, epoch: number) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) pinTimes(path, epoch);
    lutimesSync(path, epoch, epoch);
  }
  lutimesSync(dir, epoch, epoch);
}

/** Every path under DIR, parents first, sorted (for debugfs). */
function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = `${rel}/${name}`;
    out.push(r);
    if (lstatSync(join(dir, r)).isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

/** The tiny initrd: /init (board/initrd/init.c, static), the root's modules, /etc/initrd-modules. */
function buildInitrd(board: Board, layout: DiskLayout, kernelDir: string, work: string, out: string): number {
  const root = join(work, "initrd");
  rmSync(root, { recursive: true, force: true });
  for (const d of ["dev", "proc", "root", "etc"]) mkdirSync(join(root, d), { recursive: true });
  const argv = [board.cc, "-static", "-O2", "-Wall", "-o", join(root, "init"), join(REPO, "board/initrd/init.c")];
  if (Bun.spawnSync(argv, { stdout: "inherit", stderr: "inherit" }).exitCode !== 0) throw new Error(`${argv.join(" ")} failed`);
  const { loadOrder } = installModules(kernelDir, root, layout.initrdModules);
  writeFileSync(join(root, "etc/initrd-modules"), loadOrder.join("\n") + "\n");
  return writeCpio(root, [CONSOLE], out);
}

/** The boot partition's files, staged in DIR. */
function stageBoot(board: Board, layout: DiskLayout, kernel: { kernelDir: string; release: string }, initrd: string, dir: string) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(kernel.kernelDir, "boot", `vmlinuz-${kernel.release}`), join(dir, "vmlinuz"));
  copyFileSync(initrd, join(dir, "initrd.img"));
  if (layout.deviceTree) {
    const dtb = join(kernel.kernelDir, "usr/lib", `linux-image-${kernel.release}`, layout.deviceTree);
    copyFileSync(dtb, join(dir, layout.deviceTree.split("/").pop()!));
  }
  if (layout.firmware.length > 0) {
    const fw = unpackPackage(board, "raspi-firmware", "all");
    for (const f of layout.firmware) copyFileSync(join(fw, "usr/lib/raspi-firmware", f), join(dir, f));
  }
  if (layout.configTxt.length > 0) writeFileSync(join(dir, "config.txt"), layout.configTxt.join("\n") + "\n");
  writeFileSync(join(dir, "cmdline.txt"), diskCmdline(board, layout) + "\n");
}

function makeFat(dir: string, file: string, mib: number, epoch: number) {
  rmSync(file, { force: true });
  const env = { SOURCE_DATE_EPOCH: String(epoch), TZ: "UTC" };
  run(["mkfs.vfat", "-F", "32", "-n", "BOOT", "--invariant", "-C", file, String(mib * 1024)], env);
  const names = readdirSync(dir).sort();
  // -m keeps each file's (pinned) modification time; mtools' own times follow SOURCE_DATE_EPOCH.
  run(["mcopy", "-i", file, "-m", ...names.map((n) => join(dir, n)), "::"], env);
}

function makeExt4(dir: string, file: string, bytes: number, epoch: number, nodes: DeviceNode[]) {
  rmSync(file, { force: true });
  const fd = openSync(file, "w");
  ftruncateSync(fd, bytes);
  closeSync(fd);
  const env = { E2FSPROGS_FAKE_TIME: String(epoch), SOURCE_DATE_EPOCH: String(epoch), TZ: "UTC" };
  run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "root", "-U", ROOT_UUID,
    "-E", `hash_seed=${HASH_SEED},root_owner=0:0,nodiscard`, "-d", dir, file], env);
  // mke2fs -d copies owners and change times from the staged files (a change time cannot
  // be set, and a builder that is not root owns them): debugfs puts both right.
  const uid = process.getuid?.() ?? 0;
  const script = walk(dir).flatMap((p) => [
    `sif "${p}" ctime @${epoch}`, `sif "${p}" crtime @${epoch}`,
    ...(uid !== 0 ? [`sif "${p}" uid 0`, `sif "${p}" gid 0`] : []),
  ]);
  script.push(`sif / ctime @${epoch}`, `sif / crtime @${epoch}`);
  for (const n of nodes) {
    const [parent, name] = [n.path.split("/").slice(0, -1).join("/"), n.path.split("/").pop()!];
    script.push(`cd /${parent}`, `mknod ${name} c ${n.major} ${n.minor}`, `sif ${name} mode 020600`, `sif ${name} atime @${epoch}`, `sif ${name} mtime @${epoch}`,
      `sif ${name} ctime @${epoch}`, `sif ${name} crtime @${epoch}`, "cd /");
  }
  const scriptFile = `${file}.debugfs`;
  writeFileSync(scriptFile, script.join("\n") + "\n");
  run(["debugfs", "-w", "-f", scriptFile, file], env);
  rmSync(scriptFile);
}

/** Copies FROM into the open image at OFFSET, skipping all-zero chunks (the image stays sparse). */
function copyInto(image: number, from: string, offset: number) {
  const fd = openSync(from, "r");
  const chunk = Buffer.alloc(MIB);
  for (let at = 0; ; at += MIB) {
    const n = readSync(fd, chunk, 0, MIB, at);
    if (n <= 0) break;
    if (chunk.subarray(0, n).some((b) => b !== 0)) writeSync(image, chunk, 0, n, offset + at);
  }
  closeSync(fd);
}

export function buildDiskImage(board: Board, hearthBinary: string, outDir: string) {
  const layout = board.image;
  if (!layout) throw new Error(`board/${board.name}/board.toml has no [image] section`);
  const work = join(outDir, "image-work");
  const rootDir = join(work, "root");
  const kernel = stageRoot(board, hearthBinary, rootDir, { initramfs: false });
  // Mount points the example mounts on: made now, as a read-only root cannot get them later.
  for (const d of ["var/lib/demo", "var/cache/demo", "var/log"]) mkdirSync(join(rootDir, d), { recursive: true });
  return writeDiskImage(board, kernel, rootDir, work, join(outDir, layout.file));
}

/** A character device the root needs besides devtmpfs's (made by debugfs: no root needed). */
export interface DeviceNode {
  path: string; // relative to the root
  major: number;
  minor: number;
}

/**
 * The disk image OUT from a staged root ROOTDIR: the initrd and the boot partition made
 * in WORK, the partitions assembled. Also used by the boot race (bench/boot-race.ts --disk)
 * for each init's root.
 */
export function writeDiskImage(board: Board, kernel: { kernelDir: string; release: string }, rootDir: string, work: string, out: string,
  nodes: DeviceNode[] = []) {
  const layout = board.image;
  if (!layout) throw new Error(`board/${board.name}/board.toml has no [image] section`);
  const epoch = sourceDateEpoch();
  mkdirSync(work, { recursive: true });
  const initrd = join(work, "initrd.img");
  const initrdSize = buildInitrd(board, layout, kernel.kernelDir, work, initrd);
  const bootDir = join(work, "boot");
  stageBoot(board, layout, kernel, initrd, bootDir);
  pinTimes(rootDir, epoch);
  pinTimes(bootDir, epoch);

  const size = layout.sizeMib * MIB;
  const bootBytes = layout.bootMib * MIB;
  const rootOffset = BOOT_OFFSET + bootBytes;
  const fat = join(work, "boot.vfat"), ext4 = join(work, "root.ext4");
  makeFat(bootDir, fat, layout.bootMib, epoch);
  makeExt4(rootDir, ext4, size - rootOffset, epoch, nodes);

  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(`${out}.tmp`, "w");
  ftruncateSync(fd, size);
  writeSync(fd, mbr(DISK_SIGNATURE, [
    { type: 0x0c, firstLba: BOOT_OFFSET / SECTOR, sectors: bootBytes / SECTOR },
    { type: 0x83, firstLba: rootOffset / SECTOR, sectors: (size - rootOffset) / SECTOR },
  ]), 0, SECTOR, 0);
  copyInto(fd, fat, BOOT_OFFSET);
  copyInto(fd, ext4, rootOffset);
  closeSync(fd);
  renameSync(`${out}.tmp`, out);
  rmSync(fat);
  rmSync(ext4);
  return { image: out, size, initrdSize };
}

function main(argv: string[]) {
  const { board, hearth, outDir } = buildArguments("disk.ts", argv);
  const t0 = performance.now();
  const r = buildDiskImage(board, hearth, outDir);
  console.log(`image: ${board.name}: ${relative(REPO, r.image)} (${r.size / MIB} MiB; initrd ${(r.initrdSize / 1e6).toFixed(1)} MB) ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`image: ${(e as Error).message}`);
    process.exit(1);
  }
}
