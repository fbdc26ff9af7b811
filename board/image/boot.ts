// `make qemu` / `make qemu-interactive`: boots a board's images under QEMU with the
// serial console on this terminal.
//
//   bun board/image/boot.ts BOARD [--disk] [--append WORDS] [--interactive] [--timeout SECONDS]
//
// --disk boots the board's disk image (make image) instead of its initramfs: QEMU loads
// the kernel, initrd and device tree found in the image's boot partition, with its
// cmdline.txt, and the image is the board's SD card or virtio disk (never written:
// snapshot=on).
//
// Without --interactive the kernel command line also gets hearth.wants=poweroff-when-up,
// so the example powers the board off once it is up and QEMU exits (0 after a clean
// poweroff); a boot that takes longer than the timeout is killed (exit 124).

import { existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadBoard } from "./rootfs.ts";
import { qemuArgv, type BootImages } from "./qemu.ts";
import { bootImagesFromDisk } from "./boot-partition.ts";

const REPO = resolve(import.meta.dir, "../..");
export const POWEROFF_WHEN_UP = "hearth.wants=poweroff-when-up";

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  let append = "", interactive = false, timeoutSec = 600, disk = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--append") append = rest[++i] ?? "";
    else if (rest[i] === "--interactive") interactive = true;
    else if (rest[i] === "--disk") disk = true;
    else if (rest[i] === "--timeout") timeoutSec = Number(rest[++i]);
    else throw new Error(`unknown argument ${rest[i]}`);
  }
  if (!name) throw new Error("usage: bun board/image/boot.ts BOARD [--append WORDS] [--interactive] [--timeout S]");
  const board = loadBoard(name);
  const dir = join(REPO, "build/boards", name);
  let images: BootImages = { kernel: join(dir, "vmlinuz"), initramfs: join(dir, "initramfs.cpio") };
  if (disk) {
    const image = join(dir, board.image?.file ?? "disk.img");
    if (!existsSync(image)) throw new Error(`${image} is missing: make image BOARD=${name}`);
    images = bootImagesFromDisk(board, image);
  } else if (!existsSync(images.initramfs)) throw new Error(`${images.initramfs} is missing: make rootfs BOARD=${name}`);
  const words = interactive ? append : `${POWEROFF_WHEN_UP} ${append}`;
  const cmd = qemuArgv(board, images, { append: words, interactive });
  console.error(`boot: ${cmd.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" ")}`);
  const qemu = Bun.spawn(cmd, { stdio: ["inherit", "inherit", "inherit"] });
  const timer = interactive ? null : setTimeout(() => {
    console.error(`\nboot: no poweroff within ${timeoutSec} s: killing QEMU`);
    qemu.kill("SIGKILL");
  }, timeoutSec * 1000);
  const code = await qemu.exited;
  if (timer) clearTimeout(timer);
  if (images.disk) rmSync(dirname(images.kernel), { recursive: true, force: true });
  return qemu.signalCode === "SIGKILL" ? 124 : code;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.error(`boot: ${(e as Error).message}`);
  process.exit(1);
});
