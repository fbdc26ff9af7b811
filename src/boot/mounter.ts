// The effects of mount units: mount(2) and umount2(2) on helper threads, so a slow disk
// never stalls PID 1. A block device may appear a little after boot (its driver probes
// in parallel with us): wait for it, up to a limit.

import { existsSync, mkdirSync } from "node:fs";
import type { MountEntry } from "../config/types.ts";
import type { Mounter } from "../manager/manager.ts";
import { E, MNT } from "../../ffi/constants.ts";
import { describeErrno } from "../../ffi/libc.ts";
import { mountInThread, unmountInThread } from "../../ffi/system.ts";
import { parseMountOptions } from "./mount-options.ts";

const DEVICE_WAIT_MS = 10_000;

async function waitForDevice(path: string): Promise<void> {
  const deadline = Date.now() + DEVICE_WAIT_MS;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${DEVICE_WAIT_MS / 1000}s`);
    await Bun.sleep(50);
  }
}

export const systemMounter: Mounter = {
  async mount(entry: MountEntry) {
    if (entry.what.startsWith("/dev/")) await waitForDevice(entry.what);
    mkdirSync(entry.where, { recursive: true, mode: 0o755 });
    const { flags, data } = parseMountOptions(entry.options);
    await mountInThread(entry.what, entry.where, entry.type, flags, data);
  },
  async unmount(entry: MountEntry) {
    let errno = await unmountInThread(entry.where);
    if (errno === E.EBUSY) errno = await unmountInThread(entry.where, MNT.DETACH); // lazily, as the last resort
    if (errno !== 0 && errno !== E.EINVAL) throw new Error(`umount ${entry.where}: ${describeErrno(errno)}`);
  },
};
