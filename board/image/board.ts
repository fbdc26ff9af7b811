// A board's one small file (board/NAME/board.toml): its kernel, console, modules, QEMU
// flags and watchdog device. Pure: text in, a checked Board out.

import { parse } from "smol-toml";

export interface Board {
  name: string;
  description: string;
  arch: "arm64" | "amd64"; // Debian's names
  bunTarget: string;
  cc: string;
  kernelPackage: string;
  console: string;
  cmdline: string;
  modules: string[];
  watchdogDevice: string;
  /** The watchdog's driver for this board, in place of the example's (system.toml kernel_modules). */
  watchdogModule: string | null;
  /** How `make image` lays out the board's disk image; null: the board has none. */
  image: DiskLayout | null;
  qemu: {
    binary: string;
    args: string[];
    /** Words the kernel command line gets under QEMU only (what the emulated board lacks). */
    append: string;
    /** How QEMU attaches the disk image (the drive's id is "disk"). */
    diskArgs: string[];
    /** The board boots from its disk image only (no initramfs images). */
    diskOnly: boolean;
  } | null; // null: a real board, not booted here
}

export interface DiskLayout {
  /** The image's file name under build/boards/BOARD (sdcard.img, disk.img). */
  file: string;
  /** The whole image in MiB: a power of two (QEMU's SD cards must be). */
  sizeMib: number;
  /** The FAT boot partition in MiB (it starts at 4 MiB; the ext4 root takes the rest). */
  bootMib: number;
  /** The root partition as the kernel names it (root= on the command line). */
  root: string;
  /** Modules the tiny initrd loads to mount the root (with their dependencies). */
  initrdModules: string[];
  /** The device tree under the kernel package's /usr/lib/linux-image-RELEASE/, or null. */
  deviceTree: string | null;
  /** Files of Debian's raspi-firmware (/usr/lib/raspi-firmware/) the boot partition holds. */
  firmware: string[];
  /** config.txt lines (the Raspberry Pi firmware's), or none. */
  configTxt: string[];
}

export function parseBoard(name: string, text: string): Board {
  const raw = parse(text) as Record<string, unknown>;
  const str = (key: string): string => {
    const v = raw[key];
    if (typeof v !== "string" || v === "") throw new Error(`board/${name}/board.toml: '${key}' must be a non-empty string`);
    return v;
  };
  const list = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`board/${name}/board.toml: '${what}' must be a list of strings`);
    return v as string[];
  };
  const arch = str("arch");
  if (arch !== "arm64" && arch !== "amd64") throw new Error(`board/${name}/board.toml: arch must be "arm64" or "amd64"`);
  const q = raw.qemu as Record<string, unknown> | undefined;
  const wdm = raw.watchdog_module;
  if (wdm !== undefined && (typeof wdm !== "string" || wdm === "")) throw new Error(`board/${name}/board.toml: 'watchdog_module' must be a non-empty string`);
  return {
    name, description: str("description"), arch, bunTarget: str("bun_target"), cc: str("cc"),
    kernelPackage: str("kernel_package"), console: str("console"), cmdline: str("cmdline"),
    modules: list(raw.modules ?? [], "modules"), watchdogDevice: str("watchdog_device"),
    watchdogModule: (wdm as string | undefined) ?? null,
    image: raw.image === undefined ? null : parseLayout(name, raw.image as Record<string, unknown>, list),
    qemu: q ? {
      binary: String(q.binary), args: list(q.args, "qemu.args"), append: typeof q.append === "string" ? q.append : "",
      diskArgs: list(q.disk_args ?? [], "qemu.disk_args"), diskOnly: q.disk_only === true,
    } : null,
  };
}

function parseLayout(name: string, t: Record<string, unknown>, list: (v: unknown, what: string) => string[]): DiskLayout {
  const where = `board/${name}/board.toml [image]`;
  const mib = (key: string): number => {
    const v = t[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 8 || v > 65536) throw new Error(`${where}: '${key}' must be a whole number of MiB (8 to 65536)`);
    return v;
  };
  const sizeMib = mib("size_mib"), bootMib = mib("boot_mib");
  if ((sizeMib & (sizeMib - 1)) !== 0) throw new Error(`${where}: 'size_mib' must be a power of two (QEMU's SD cards are)`);
  if (4 + bootMib + 64 > sizeMib) throw new Error(`${where}: 'boot_mib' leaves less than 64 MiB for the root`);
  if (typeof t.root !== "string" || !t.root.startsWith("/dev/")) throw new Error(`${where}: 'root' must be a /dev path`);
  const dt = t.device_tree;
  if (dt !== undefined && typeof dt !== "string") throw new Error(`${where}: 'device_tree' must be a string`);
  const file = t.file ?? "disk.img";
  if (typeof file !== "string" || !/^[\w.-]+\.img$/.test(file)) throw new Error(`${where}: 'file' must be a plain NAME.img`);
  return {
    file, sizeMib, bootMib, root: t.root, initrdModules: list(t.initrd_modules ?? [], "image.initrd_modules"),
    deviceTree: dt ?? null, firmware: list(t.firmware ?? [], "image.firmware"), configTxt: list(t.config_txt ?? [], "image.config_txt"),
  };
}

/** The Bun binary's architecture name (process.arch) for a Debian architecture. */
export function bunArch(board: Board): "arm64" | "x64" {
  return board.arch === "amd64" ? "x64" : "arm64";
}
