// The devices the kernel has, by sysfs path, and the device units they make present.
// Pure: fed the initial scan and each uevent, it answers which unit names appeared and
// which went (a name stays while any device gives it: two paths may name one node).

import { deviceUnitNames, type DeviceEvent } from "./uevent.ts";

export interface PlugChange {
  plugged: string[]; // unit names that appeared
  unplugged: string[]; // unit names that went
}

export class DeviceRegistry {
  private readonly byPath = new Map<string, string[]>();
  private readonly holders = new Map<string, number>(); // unit name -> how many devices give it

  /** How many devices are known (for status and bounds). */
  get size(): number {
    return this.byPath.size;
  }

  has(name: string): boolean {
    return this.holders.has(name);
  }

  /** Every device unit name present now. */
  names(): string[] {
    return [...this.holders.keys()].sort();
  }

  /** A uevent: add states a device, change/bind/online may add to it, remove ends it, move renames it. */
  apply(ev: DeviceEvent): PlugChange {
    const change: PlugChange = { plugged: [], unplugged: [] };
    switch (ev.action) {
      case "add":
        this.set(ev.devpath, deviceUnitNames(ev.devpath, ev.env), change);
        break;
      case "change": case "online": case "bind": {
        // These may carry fewer variables than the add did (a bind without DEVNAME): they
        // can name a device, never unname it.
        const names = deviceUnitNames(ev.devpath, ev.env);
        if (names.length > 0) this.set(ev.devpath, names, change);
        break;
      }
      case "remove":
        this.set(ev.devpath, [], change);
        break;
      case "move": {
        const old = ev.env.get("DEVPATH_OLD");
        if (old !== undefined) this.set(old, [], change);
        this.set(ev.devpath, deviceUnitNames(ev.devpath, ev.env), change);
        break;
      }
      default:
        break; // offline, unbind: the device is still there
    }
    return settle(change);
  }

  /**
   * The devices found by a scan of /sys replace what was known (at start, or after the
   * kernel dropped uevents we could not read in time).
   */
  replaceAll(devices: { devpath: string; env: ReadonlyMap<string, string> }[]): PlugChange {
    const change: PlugChange = { plugged: [], unplugged: [] };
    const seen = new Set<string>();
    for (const d of devices) {
      seen.add(d.devpath);
      this.set(d.devpath, deviceUnitNames(d.devpath, d.env), change);
    }
    for (const path of [...this.byPath.keys()]) if (!seen.has(path)) this.set(path, [], change);
    return settle(change);
  }

  private set(devpath: string, names: string[], change: PlugChange) {
    const before = this.byPath.get(devpath) ?? [];
    if (names.length === 0) this.byPath.delete(devpath);
    else this.byPath.set(devpath, names);
    for (const n of names) {
      if (before.includes(n)) continue;
      const count = (this.holders.get(n) ?? 0) + 1;
      this.holders.set(n, count);
      if (count === 1) change.plugged.push(n);
    }
    for (const n of before) {
      if (names.includes(n)) continue;
      const count = (this.holders.get(n) ?? 1) - 1;
      if (count > 0) this.holders.set(n, count);
      else {
        this.holders.delete(n);
        change.unplugged.push(n);
      }
    }
  }
}

/** A name that went and came back within one change is simply there. */
function settle(change: PlugChange): PlugChange {
  const both = change.plugged.filter((n) => change.unplugged.includes(n));
  return {
    plugged: change.plugged.filter((n) => !both.includes(n)),
    unplugged: change.unplugged.filter((n) => !both.includes(n)),
  };
}
