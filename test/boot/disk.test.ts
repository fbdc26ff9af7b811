// Boot tests of the flashable disk images (make image): the Raspberry Pi 3's SD card
// under QEMU's raspi3b and the virt boards' virtio disks, each booted to `Startup
// finished`, the example run, and a clean power-off. One VM at a time (raspi3b alone
// takes a host thread and a half). The initramfs path is boards.test.ts.

import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { boot, diskImageMissing, REPO, selfcheckUnits, type BootRun } from "./qemu.ts";

const BOARDS = [
  { name: "raspberrypi3", root: "mmcblk0p2" },
  { name: "qemu-aarch64", root: "vda2" },
  { name: "qemu-x86_64", root: "vda2" },
] as const;
const BOOT_TIMEOUT_MS = 300_000;
const runs = new Map<string, BootRun>();

const EXAMPLE_UNITS = readdirSync(join(REPO, "board/rootfs/etc/hearth/units"))
  .map((f) => f.replace(/\.toml$/, ""))
  .filter((u) => u !== "poweroff-when-up" && u !== "selfcheck");

beforeAll(async () => {
  for (const b of BOARDS) {
    const missing = diskImageMissing(b.name);
    if (missing) throw new Error(missing);
  }
  for (const b of BOARDS) {
    runs.set(b.name, await boot(b.name, { disk: true, qmp: true, append: "hearth.wants=poweroff-when-up", timeoutMs: BOOT_TIMEOUT_MS }));
  }
}, BOARDS.length * BOOT_TIMEOUT_MS + 30_000);

for (const board of BOARDS) {
  describe(`${board.name} from its disk image`, () => {
    const run = () => runs.get(board.name)!;
    const explain = () => `console of ${board.name}:\n${run().console.slice(-6000)}`;

    test("the initrd mounts the root from the disk and hands over to hearth as /sbin/init", () => {
      const r = run();
      expect(r.console).toContain(`EXT4-fs (${board.root}): mounted filesystem`);
      expect(r.console).not.toContain("initrd: ");
      expect(r.console).toContain("running as PID 1.");
    });

    test("boots to Startup finished, runs the example, powers off cleanly", () => {
      const r = run();
      if (r.timedOut || r.exitCode !== 0) console.error(explain());
      expect(r.timedOut).toBe(false);
      const m = r.console.match(/Startup finished in (.*) = (\d+) ms; (\d+) units ready/);
      expect(m).not.toBeNull();
      console.log(`${board.name} (disk): ${m![0]}; boot to poweroff ${(r.ms / 1000).toFixed(1)} s wall`);
      const units = selfcheckUnits(r.console);
      for (const name of EXAMPLE_UNITS) expect({ name, active: units.get(name)?.active }).toEqual({ name, active: "active" });
      expect(r.console).toContain("echo-client: sent 'hello hearth', got 'hello hearth'");
      expect(r.console).toContain("reboot: Power down");
      expect(r.console).not.toContain("Kernel panic");
      // A power-off, not a reset (with -no-reboot both end QEMU with 0): QEMU saw the guest shut down.
      expect(r.events.some((e) => e.event === "SHUTDOWN" && e.data?.reason === "guest-shutdown")).toBe(true);
      expect(r.events.some((e) => e.event === "RESET")).toBe(false);
      expect(r.exitCode).toBe(0);
    });
  });
}
