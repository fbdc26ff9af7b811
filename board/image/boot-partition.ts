// Booting a disk image under QEMU the way its firmware would: the kernel, initrd, device
// tree and command line are read out of the image's FAT boot partition (mtools, nothing
// mounted), so what boots is what the image holds.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Board } from "./board.ts";
import type { BootImages } from "./qemu.ts";

const BOOT_OFFSET_MIB = 4; // board/image/disk.ts BOOT_OFFSET

/** Copies the boot files out of IMAGE into a new directory under SCRATCH (or the temp dir). */
export function bootImagesFromDisk(board: Board, image: string, scratch?: string): BootImages {
  const layout = board.image;
  if (!layout) throw new Error(`board/${board.name}/board.toml has no [image] section`);
  const dir = mkdtempSync(join(scratch ?? tmpdir(), "boot-partition-"));
  const dtbName = layout.deviceTree?.split("/").pop() ?? null;
  const files = ["vmlinuz", "initrd.img", "cmdline.txt", ...(dtbName ? [dtbName] : [])];
  const p = Bun.spawnSync(["mcopy", "-n", "-i", `${image}@@${BOOT_OFFSET_MIB}M`, ...files.map((f) => `::${f}`), dir], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`mcopy from ${image}'s boot partition failed: ${p.stderr.toString().trim()}`);
  return {
    kernel: join(dir, "vmlinuz"), initramfs: join(dir, "initrd.img"),
    disk: { image, dtb: dtbName ? join(dir, dtbName) : null, cmdline: readFileSync(join(dir, "cmdline.txt"), "utf8").trim() },
  };
}
