// The QEMU command line of a board, with the serial console on stdio. Pure.

import type { Board } from "./board.ts";

export interface BootImages {
  kernel: string;
  initramfs: string;
  /** Booting from the disk image: the image, the device tree (if any) and cmdline.txt's words. */
  disk?: { image: string; dtb: string | null; cmdline: string };
}

export interface QemuOptions {
  /** Words appended to the board's kernel command line. */
  append?: string;
  /** Keep QEMU's monitor on the console (Ctrl-A X quits); otherwise it is off. */
  interactive?: boolean;
  /** A QMP socket at this path (QEMU waits for its client before the guest starts). */
  qmpSocket?: string;
  /** false: a reset (the watchdog's, or a reboot) boots the guest again instead of ending QEMU. */
  exitOnReboot?: boolean;
  /** The guest's real-time clock starts at this date (QEMU's -rtc base=): "1970-01-02T00:00:00" for a board without an RTC. */
  rtcBase?: string;
}

export function kernelCmdline(board: Board, append = "", base = board.cmdline): string {
  return [base, append].map((s) => s.trim()).filter((s) => s !== "").join(" ");
}

export function qemuArgv(board: Board, images: BootImages, opts: QemuOptions = {}): string[] {
  if (!board.qemu) throw new Error(`board ${board.name} is not a QEMU board`);
  const disk = images.disk;
  if (disk && board.qemu.diskArgs.length === 0) throw new Error(`board ${board.name}: [qemu] has no disk_args`);
  // A board that names its serial ports (raspi3b: the console is the second) gets the
  // console as the next one; -nographic would take the first.
  const ownSerial = board.qemu.args.includes("-serial");
  return [
    board.qemu.binary, ...board.qemu.args,
    "-kernel", images.kernel, "-initrd", images.initramfs,
    ...(disk?.dtb ? ["-dtb", disk.dtb] : []),
    ...(disk ? board.qemu.diskArgs.map((a) => a.replace("{image}", disk.image)) : []),
    "-append", kernelCmdline(board, [board.qemu.append, opts.append ?? ""].join(" "), disk?.cmdline),
    // Interactive: serial and monitor share the terminal (Ctrl-A X quits), a reboot reboots.
    // Otherwise the serial port alone on stdio, and a reboot (or a panic, with panic=-1)
    // ends QEMU, so that nothing ever loops.
    ...(opts.interactive
      ? (ownSerial ? ["-display", "none", "-serial", "mon:stdio"] : ["-nographic"])
      : ["-display", "none", "-serial", "stdio", "-monitor", "none"]),
    ...(!opts.interactive && opts.exitOnReboot !== false ? ["-no-reboot"] : []),
    ...(opts.qmpSocket ? ["-qmp", `unix:${opts.qmpSocket},server=on,wait=on`] : []),
    ...(opts.rtcBase ? ["-rtc", `base=${opts.rtcBase}`] : []),
  ];
}
