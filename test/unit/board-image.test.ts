// The rootfs builder's pure parts: board files, the cpio format, .modinfo, the QEMU
// command line, and `hearth install`'s plan.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseBoard } from "../../board/image/board.ts";
import { buildCpio, S_IFCHR, S_IFDIR } from "../../board/image/cpio.ts";
import { moduleDepends, readModinfo } from "../../board/image/modinfo.ts";
import { kernelCmdline, qemuArgv } from "../../board/image/qemu.ts";
import { realKernelPackage } from "../../board/image/debian.ts";
import { elfArch, performInstall, planInstall, PROC_MAPS_STAND_IN, requiredLibraries } from "../../src/cli/install.ts";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const REPO = join(import.meta.dir, "../..");
const board = (name: string) => parseBoard(name, readFileSync(join(REPO, "board", name, "board.toml"), "utf8"));

describe("board files", () => {
  test("every board folder has a valid board.toml; the QEMU boards carry the i6300esb watchdog", () => {
    const names = readdirSync(join(REPO, "board")).filter((n) => n.startsWith("qemu-") || n === "raspberrypi4");
    expect(names.sort()).toEqual(["qemu-aarch64", "qemu-x86_64", "raspberrypi4"]);
    for (const name of names) {
      const b = board(name);
      expect(b.cmdline).toContain(`console=${b.console}`);
      if (b.qemu) expect(b.qemu.args.join(" ")).toContain("-device i6300esb -action watchdog=reset");
    }
    expect(board("raspberrypi4").qemu).toBeNull();
    expect(board("raspberrypi4").modules).toEqual(["bcm2835_wdt"]);
  });
  test("a board file missing a key says which", () => {
    expect(() => parseBoard("x", 'description = "x"\narch = "arm64"\n')).toThrow("'bun_target'");
  });
});

describe("QEMU command line", () => {
  test("the board's words, then the appended ones; serial on stdio; no reboot loops", () => {
    const b = board("qemu-aarch64");
    expect(kernelCmdline(b, " hearth.watchdog_sec=5 ")).toBe("console=ttyAMA0 panic=-1 hearth.watchdog_sec=5");
    const argv = qemuArgv(b, { kernel: "k", initramfs: "i" }, { append: "x=1" });
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(argv.slice(argv.indexOf("-kernel"), argv.indexOf("-kernel") + 6)).toEqual(["-kernel", "k", "-initrd", "i", "-append", "console=ttyAMA0 panic=-1 x=1"]);
    expect(argv).toContain("-no-reboot");
    expect(qemuArgv(b, { kernel: "k", initramfs: "i" }, { interactive: true })).toContain("-nographic");
  });
});

describe("newc cpio", () => {
  test("headers, names and data padded to 4 bytes; a trailer", () => {
    const archive = Buffer.from(buildCpio([
      { name: "dev", mode: S_IFDIR | 0o755 },
      { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
      { name: "init", mode: 0o100755, data: Buffer.from("hello") },
    ], 0));
    const text = archive.toString("latin1");
    expect(archive.byteLength % 4).toBe(0);
    expect(text.startsWith("070701")).toBe(true);
    expect(text).toContain("dev/console\0");
    expect(text).toContain("TRAILER!!!\0");
    // the console's header: mode 020600, rdev 5:1
    const at = text.indexOf("dev/console") - 110;
    expect(text.slice(at + 14, at + 22)).toBe((S_IFCHR | 0o600).toString(16).padStart(8, "0"));
    expect(text.slice(at + 78, at + 94)).toBe("0000000500000001");
    const init = text.indexOf("init\0");
    expect(text.slice(init, init + 12)).toBe("init\0\0hello\0");
  });
});

describe(".modinfo", () => {
  test("depends= of a hand-made ELF64 relocatable", () => {
    const info = Buffer.from("name=i6300esb\0depends=watchdog,foo\0license=GPL\0");
    const shstr = Buffer.from("\0.modinfo\0.shstrtab\0");
    const header = Buffer.alloc(64);
    header.writeUInt32BE(0x7f454c46, 0);
    header[4] = 2; header[5] = 1;
    const infoAt = 64, shstrAt = infoAt + info.length, shAt = shstrAt + shstr.length;
    header.writeBigUInt64LE(BigInt(shAt), 0x28);
    header.writeUInt16LE(64, 0x3a); header.writeUInt16LE(3, 0x3c); header.writeUInt16LE(2, 0x3e);
    const sh = Buffer.alloc(64 * 3);
    sh.writeUInt32LE(1, 64); sh.writeBigUInt64LE(BigInt(infoAt), 64 + 0x18); sh.writeBigUInt64LE(BigInt(info.length), 64 + 0x20);
    sh.writeUInt32LE(10, 128); sh.writeBigUInt64LE(BigInt(shstrAt), 128 + 0x18); sh.writeBigUInt64LE(BigInt(shstr.length), 128 + 0x20);
    const elf = Buffer.concat([header, info, shstr, sh]);
    const parsed = readModinfo(elf);
    expect(parsed.get("name")).toEqual(["i6300esb"]);
    expect(moduleDepends(parsed)).toEqual(["watchdog", "foo"]);
  });
});

describe("Debian", () => {
  test("the real kernel package behind the metapackage", () => {
    expect(realKernelPackage("linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-56-arm64:arm64\n")).toBe("linux-image-6.1.0-56-arm64");
    expect(realKernelPackage("nothing")).toBeNull();
  });
});

describe("hearth install", () => {
  test("the binary as /sbin/hearth, /sbin/init and hearthctl linked to it, the /proc/self/maps stand-in", () => {
    const steps = planInstall({ root: "/r", binary: "/b", initramfs: false });
    expect(steps).toContainEqual({ kind: "copy", from: "/b", to: "/sbin/hearth", mode: 0o755 });
    expect(steps).toContainEqual({ kind: "symlink", path: "/sbin/init", target: "hearth" });
    expect(steps).toContainEqual({ kind: "symlink", path: "/usr/bin/hearthctl", target: "/sbin/hearth" });
    expect(steps).toContainEqual({ kind: "write", path: "/proc/self/maps", text: PROC_MAPS_STAND_IN });
    expect(steps.some((s) => s.kind === "symlink" && s.path === "/init")).toBe(false);
    expect(planInstall({ root: "/r", binary: "/b", initramfs: true })).toContainEqual({ kind: "symlink", path: "/init", target: "/sbin/init" });
  });
  test("the stand-in covers the whole user address space of both architectures", () => {
    const [low, high] = PROC_MAPS_STAND_IN.split(" ")[0]!.split("-").map((h) => BigInt(`0x${h}`));
    expect(low).toBe(0n);
    expect(high! >= 0xffff_ffff_f000n).toBe(true); // aarch64's 48-bit stack sits just below 2^48
    expect(PROC_MAPS_STAND_IN.trimEnd().endsWith("[stack]")).toBe(true);
  });
  test("the architecture from the ELF header, and the libraries it needs", () => {
    const elf = (machine: number) => { const b = new Uint8Array(64); b.set([0x7f, 0x45, 0x4c, 0x46]); b[18] = machine; return b; };
    expect(elfArch(elf(0xb7))).toBe("arm64");
    expect(elfArch(elf(0x3e))).toBe("x64");
    expect(elfArch(new Uint8Array(64))).toBeNull();
    expect(requiredLibraries("arm64")[0]).toEqual(["/lib/ld-linux-aarch64.so.1"]);
  });
  test("into a directory: the layout, a refusal to replace a foreign /sbin/init, and the glibc check", () => {
    const root = mkdtempSync(join(tmpdir(), "hearth-install-"));
    const binary = join(root, "fake-hearth");
    const header = new Uint8Array(64); header.set([0x7f, 0x45, 0x4c, 0x46]); header[18] = 0xb7;
    writeFileSync(binary, header);
    try {
      mkdirSync(join(root, "sbin"));
      symlinkSync("/bin/busybox", join(root, "sbin/init"));
      const refused = performInstall({ root, binary, initramfs: false }, false, () => {});
      expect(refused.some((p) => p.includes("/sbin/init exists and is not hearth's"))).toBe(true);
      const problems = performInstall({ root, binary, initramfs: false }, true, () => {});
      expect(readlinkSync(join(root, "sbin/init"))).toBe("hearth");
      expect(readlinkSync(join(root, "sbin/init.before-hearth"))).toBe("/bin/busybox");
      expect(readFileSync(join(root, "proc/self/maps"), "utf8")).toBe(PROC_MAPS_STAND_IN);
      expect((lstatSync(join(root, "sbin/hearth")).mode & 0o777).toString(8)).toBe("755");
      expect(existsSync(join(root, "etc/hearth/units"))).toBe(true);
      expect(problems.some((p) => p.includes("/lib/ld-linux-aarch64.so.1") && p.includes("libc6:arm64"))).toBe(true);
      expect(performInstall({ root, binary, initramfs: false }, false, () => {}).some((p) => p.includes("not hearth's"))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
