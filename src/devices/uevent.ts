// The kernel's uevents, parsed (lib/kobject_uevent.c: "ACTION@DEVPATH\0KEY=VALUE\0…"),
// and the device unit names a device gets. Pure and bounded: a datagram is at most
// 8 KiB (ffi/netlink.ts), holds at most 64 variables (the kernel's UEVENT_NUM_ENVP),
// and anything that does not add up is refused with the reason.

import { deviceUnitName } from "./names.ts";

export interface DeviceEvent {
  action: string; // add, remove, change, move, bind, unbind, online, offline
  devpath: string; // under /sys, without it: /devices/virtual/net/eth0
  env: Map<string, string>;
}

const MAX_VARIABLES = 64;
const MAX_DEVPATH = 1024;

/** A uevent datagram from the kernel, or why it is not one. */
export function parseUevent(data: Uint8Array): DeviceEvent | { problem: string } {
  const text = Buffer.from(data).toString("latin1"); // bytes as they are: names are checked below
  if (text.startsWith("libudev\0")) return { problem: "a udev message, not the kernel's" };
  const fields = text.split("\0");
  if (fields[fields.length - 1] === "") fields.pop();
  const head = /^([a-z]{1,16})@(\/[^\0]*)$/.exec(fields[0] ?? "");
  if (!head) return { problem: `no ACTION@DEVPATH header: ${JSON.stringify((fields[0] ?? "").slice(0, 60))}` };
  if (fields.length - 1 > MAX_VARIABLES) return { problem: `${fields.length - 1} variables, more than the kernel sends (${MAX_VARIABLES})` };
  const env = new Map<string, string>();
  for (const field of fields.slice(1)) {
    const eq = field.indexOf("=");
    if (eq <= 0 || !/^[A-Z0-9_]+$/.test(field.slice(0, eq))) return { problem: `not KEY=VALUE: ${JSON.stringify(field.slice(0, 60))}` };
    env.set(field.slice(0, eq), field.slice(eq + 1));
  }
  const [, action, devpath] = head as unknown as [string, string, string];
  if (env.get("ACTION") !== action || env.get("DEVPATH") !== devpath) return { problem: "ACTION or DEVPATH disagree with the header" };
  const bad = devpathProblem(devpath);
  return bad === null ? { action, devpath, env } : { problem: bad };
}

export function devpathProblem(devpath: string): string | null {
  if (devpath.length > MAX_DEVPATH) return `DEVPATH longer than ${MAX_DEVPATH} bytes`;
  if (!devpath.startsWith("/") || devpath.split("/").some((p) => p === "..")) return `DEVPATH ${JSON.stringify(devpath.slice(0, 60))} is not a path under /sys`;
  return null;
}

/** The variables of a /sys/…/uevent file ("KEY=VALUE" lines), as a uevent carries them. */
export function parseUeventFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split("\n").slice(0, MAX_VARIABLES)) {
    const eq = line.indexOf("=");
    if (eq > 0 && /^[A-Z0-9_]+$/.test(line.slice(0, eq))) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

/**
 * The device units of a device, or [] for a device that gets none. systemd makes units
 * for the devices udev tags "systemd"; without udev, hearth takes every device that has
 * a node under /dev (DEVNAME) and every network interface (INTERFACE): its sysfs path
 * ("sys-devices-….device"), its node ("dev-ttyUSB0.device") and, for an interface,
 * "sys-subsystem-net-devices-NAME.device". The udev symlinks (/dev/disk/by-label/…,
 * /dev/serial/by-id/…) are udev's: without it they name nothing.
 */
export function deviceUnitNames(devpath: string, env: ReadonlyMap<string, string>): string[] {
  const devname = env.get("DEVNAME");
  const iface = env.get("SUBSYSTEM") === "net" || env.has("IFINDEX") ? env.get("INTERFACE") : undefined;
  const names: string[] = [];
  if (devname) names.push(deviceUnitName(devname.startsWith("/") ? devname : `/dev/${devname}`));
  if (iface && !iface.includes("/")) names.push(deviceUnitName(`/sys/subsystem/net/devices/${iface}`));
  if (names.length === 0) return [];
  names.unshift(deviceUnitName(`/sys${devpath}`));
  return names;
}
