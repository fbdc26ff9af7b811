// The disk image's pure parts: the MBR, the [image] section of a board file, the kernel
// command line of a disk boot and QEMU's command line for it.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBoard } from "../../board/image/board.ts";
import { chs, mbr } from "../../board/image/mbr.ts";
import { diskCmdline } from "../../board/image/disk.ts";
import { qemuArgv } from "../../board/image/qemu.ts";

const REPO = join(import.meta.dir, "../..");
const board = (name: string) => parseBoard(name, readFileSync(join(REPO, "board", name, "board.toml"), "utf8"));

describe("MBR", () => {
  test("two partitions: FAT32 (LBA) at 4 MiB and Linux after it, signature and 0x55AA", () => {
    const m = mbr(0x68656172, [
      { type: 0x83, firstLba: 139264, sectors: 909312 },
      { type: 0x0c, firstLba: 8192, sectors: 131072 },
    ]);
    const v = new DataView(m.buffer);
    expect(m.byteLength).toBe(512);
    expect([m[510], m[511]]).toEqual([0x55, 0xaa]);
    expect(v.getUint32(440, true)).toBe(0x68656172);
    // sorted by start: the FAT partition is the first entry
    expect(m[446 + 4]).toBe(0x0c);
    expect(v.getUint32(446 + 8, true)).toBe(8192);
    expect(v.getUint32(446 + 12, true)).toBe(131072);
    expect(m[462 + 4]).toBe(0x83);
    expect(v.getUint32(462 + 8, true)).toBe(139264);
    expect(v.getUint32(462 + 12, true)).toBe(909312);
    expect([...m.subarray(478, 510)].every((b) => b === 0)).toBe(true); // entries 3 and 4 empty
  });
  test("CHS of the first sectors, and the marker past cylinder 1023", () => {
    expect(chs(0)).toEqual([0, 1, 0]);
    expect(chs(8192)).toEqual([130, 3, 0]); // 8192 = (0 * 255 + 130) * 63 + 2
    expect(chs(2_000_000_000)).toEqual([0xfe, 0xff, 0xff]);
  });
  test("overlapping or too many partitions are refused", () => {
    expect(() => mbr(0, [{ type: 0x0c, firstLba: 2048, sectors: 4096 }, { type: 0x83, firstLba: 4000, sectors: 10 }])).toThrow("overlaps");
    expect(() => mbr(0, Array.from({ length: 5 }, (_, i) => ({ type: 0x83, firstLba: 1 + i * 10, sectors: 10 })))).toThrow("at most 4");
  });
});

describe("board [image]", () => {
  test("the Raspberry Pi 3: SD card image with the firmware, the device tree and the SD host drivers in the initrd", () => {
    const b = board("raspberrypi3");
    expect(b.image).toMatchObject({ file: "sdcard.img", sizeMib: 512, root: "/dev/mmcblk0p2", deviceTree: "broadcom/bcm2837-rpi-3-b.dtb" });
    expect(b.image!.firmware).toEqual(["bootcode.bin", "start.elf", "fixup.dat"]);
    expect(b.image!.initrdModules).toContain("ext4");
    expect(b.watchdogModule).toBe("bcm2835_wdt");
    expect(b.qemu!.diskOnly).toBe(true);
    expect(diskCmdline(b, b.image!)).toBe("console=ttyS1,115200 panic=-1 root=/dev/mmcblk0p2 rootfstype=ext4 rootwait rw");
  });
  test("the QEMU boards: a virtio disk with the root on /dev/vda2", () => {
    for (const name of ["qemu-aarch64", "qemu-x86_64"]) {
      const b = board(name);
      expect(b.image).toMatchObject({ file: "disk.img", root: "/dev/vda2", deviceTree: null, firmware: [] });
      expect(b.image!.initrdModules).toEqual(["virtio_pci", "virtio_blk", "ext4", "crc32c_generic"]);
    }
  });
  test("a size that is not a power of two, or a boot partition that leaves no root, is refused", () => {
    const base = 'description = "x"\narch = "arm64"\nbun_target = "t"\ncc = "c"\nkernel_package = "k"\nconsole = "c"\ncmdline = "c"\nwatchdog_device = "/dev/w"\n';
    expect(() => parseBoard("x", `${base}[image]\nsize_mib = 500\nboot_mib = 64\nroot = "/dev/vda2"\n`)).toThrow("power of two");
    expect(() => parseBoard("x", `${base}[image]\nsize_mib = 128\nboot_mib = 64\nroot = "/dev/vda2"\n`)).toThrow("less than 64 MiB");
    expect(() => parseBoard("x", `${base}[image]\nsize_mib = 512\nboot_mib = 64\nroot = "vda2"\n`)).toThrow("'root'");
  });
});

describe("QEMU command line of a disk boot", () => {
  const images = (image: string, dtb: string | null) => ({ kernel: "k", initramfs: "i", disk: { image, dtb, cmdline: "console=ttyS1,115200 root=/dev/mmcblk0p2 rw" } });
  test("raspi3b: the SD card, the device tree, cmdline.txt's words then QEMU's own, the console on the second serial port", () => {
    const argv = qemuArgv(board("raspberrypi3"), images("/b/sdcard.img", "/t/bcm2837-rpi-3-b.dtb"), { append: "x=1" });
    expect(argv.slice(argv.indexOf("-dtb"), argv.indexOf("-dtb") + 2)).toEqual(["-dtb", "/t/bcm2837-rpi-3-b.dtb"]);
    expect(argv).toContain("if=sd,format=raw,snapshot=on,file=/b/sdcard.img");
    expect(argv[argv.indexOf("-append") + 1]).toBe("console=ttyS1,115200 root=/dev/mmcblk0p2 rw hearth.watchdog_sec=off hearth.shutdown_watchdog_sec=off x=1");
    expect(argv.join(" ")).toContain("-serial null");
    expect(argv.join(" ")).toContain("-serial stdio");
    const interactive = qemuArgv(board("raspberrypi3"), images("/b/sdcard.img", null), { interactive: true });
    expect(interactive).not.toContain("-nographic");
    expect(interactive.join(" ")).toContain("-serial mon:stdio");
  });
  test("virt: a virtio disk, no device tree", () => {
    const argv = qemuArgv(board("qemu-aarch64"), images("/b/disk.img", null));
    expect(argv).not.toContain("-dtb");
    expect(argv.join(" ")).toContain("-drive if=none,id=disk,format=raw,snapshot=on,file=/b/disk.img -device virtio-blk-pci,drive=disk");
  });
});
