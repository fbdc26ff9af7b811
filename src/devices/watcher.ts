// The devices the kernel has, followed for the manager: the named ones looked up in /sys at start, then
// the kernel's uevents (ffi/netlink.ts) as they come, read from the reactor so that
// nothing waits. Every datagram is checked: one from a process (its netlink port is not
// the kernel's 0, or its credentials are not root's) is ignored and counted; one that
// does not parse is logged and dropped; when the kernel dropped some for want of room
// (ENOBUFS), they are looked up again, so the registry never stays wrong.
import { realpathSync, statSync } from "node:fs";
import { readConfigFile } from "../config/read-file.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import { close } from "../../ffi/fd.ts";
import { openUeventSocket, UeventReceiver } from "../../ffi/netlink.ts";
import { DeviceRegistry, type PlugChange } from "./registry.ts";
import { devpathProblem, parseUevent, parseUeventFile } from "./uevent.ts";
import { unescapePath } from "./names.ts";

export interface DeviceWatcherOptions {
  /** The device units named by the configuration: only their devices are looked up in /sys. */
  wanted: ReadonlySet<string>;
  /** Device unit names that appeared or went (after start()). */
  changed(change: PlugChange): void;
  log(level: "debug" | "info" | "warning", text: string): void;
}

/** Datagrams read per wake-up: a burst is taken in turns with the manager's other work. */
const READS_PER_WAKEUP = 64;
const UEVENT_FILE_MAX = 8192;

export class DeviceWatcher {
  private fd = -1;
  private readonly registry = new DeviceRegistry();
  private readonly receiver = new UeventReceiver();
  private ignored = 0;
  private malformed = 0;

  constructor(private readonly reactor: Reactor, private readonly opts: DeviceWatcherOptions, private readonly sysRoot = "/sys") {}

  /** Opens the uevent socket, then scans /sys (so that nothing falls between); returns what is there. Throws if the socket cannot be had. */
  start(): PlugChange {
    this.fd = openUeventSocket();
    const fd = this.fd;
    this.reactor.watch(fd, { read: true }, () => this.readSome(fd));
    return this.registry.replaceAll(scanWanted(this.opts.wanted, this.sysRoot));
  }

  close() {
    if (this.fd < 0) return;
    this.reactor.unwatch(this.fd);
    close(this.fd);
    this.fd = -1;
  }

  private readSome(fd: number) {
    for (let i = 0; i < READS_PER_WAKEUP && this.fd === fd; i++) {
      const got = this.receiver.receive(fd);
      if (got === null) return;
      if (got === "overflow") {
        this.opts.log("warning", "the kernel dropped device events (receive buffer full): scanning /sys again");
        this.report(this.registry.replaceAll(scanWanted(this.opts.wanted, this.sysRoot)));
        continue;
      }
      if (got.senderPort !== 0 || (got.uid !== 0 && got.uid !== -1)) {
        this.count("ignored", `device event not from the kernel (netlink port ${got.senderPort}, uid ${got.uid})`);
        continue;
      }
      const ev = got.truncated ? { problem: "truncated" } : parseUevent(got.data);
      if ("problem" in ev) {
        this.count("malformed", `device event dropped: ${ev.problem}`);
        continue;
      }
      this.report(this.registry.apply(ev));
    }
  }

  /** Said at the 1st, 10th, 100th … time, with the count: a flood cannot flood the log. */
  private count(kind: "ignored" | "malformed", text: string) {
    const n = ++this[kind];
    if (String(n).replace(/^1/, "").replace(/0/g, "") === "") this.opts.log("warning", `${text} (${n} so far)`);
  }

  private report(change: PlugChange) {
    if (change.plugged.length > 0 || change.unplugged.length > 0) this.opts.changed(change);
  }
}

/**
 * The devices of the named device units that the kernel has now: each looked up where its
 * name points (a node under /dev by its numbers, /sys/dev/char|block/MAJ:MIN; a network
 * interface under /sys/class/net; a sysfs path as it is), a few system calls per unit
 * where a scan of all /sys/class takes seconds on a slow board.
 */
export function scanWanted(units: Iterable<string>, root = "/sys", dev = "/dev"): { devpath: string; env: Map<string, string> }[] {
  const devices: { devpath: string; env: Map<string, string> }[] = [];
  const seen = new Set<string>();
  for (const unit of units) {
    const where = sysPathOf(unit, root, dev);
    if (where === null) continue;
    let real: string;
    try {
      real = realpathSync(where);
    } catch {
      continue; // not there
    }
    if (!real.startsWith(`${root}/`) || seen.has(real)) continue;
    const devpath = real.slice(root.length);
    if (devpathProblem(devpath) !== null) continue;
    const read = readConfigFile(`${real}/uevent`, UEVENT_FILE_MAX);
    if (!("text" in read)) continue;
    seen.add(real);
    const env = parseUeventFile(read.text);
    if (!env.has("SUBSYSTEM")) {
      try {
        env.set("SUBSYSTEM", realpathSync(`${real}/subsystem`).split("/").pop()!);
      } catch {
        // a device without a subsystem link: named by its node or interface all the same
      }
    }
    devices.push({ devpath, env });
  }
  return devices;
}

/** Where in /sys the device a device unit names would be, or null for a name that points nowhere there. */
export function sysPathOf(unit: string, root = "/sys", dev = "/dev"): string | null {
  const path = unit.endsWith(".device") ? unescapePath(unit.slice(0, -".device".length)) : null;
  if (path === null) return null;
  if (path.startsWith("/dev/")) {
    let st;
    try {
      st = statSync(`${dev}${path.slice("/dev".length)}`);
    } catch {
      return null;
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) return null;
    // Linux's dev_t: 12 bits of major, 20 of minor, split as glibc's major()/minor() read them.
    const rdev = BigInt(st.rdev);
    const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
    const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
    return `${root}/dev/${st.isBlockDevice() ? "block" : "char"}/${major}:${minor}`;
  }
  const net = /^\/sys\/subsystem\/net\/devices\/([^/]+)$/.exec(path);
  if (net) return `${root}/class/net/${net[1]}`;
  return path.startsWith("/sys/") ? `${root}${path.slice("/sys".length)}` : null;
}
