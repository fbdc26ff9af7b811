// The devices the kernel has, followed for the manager: a scan of /sys at start, then
// the kernel's uevents (ffi/netlink.ts) as they come, read from the reactor so that
// nothing waits. Every datagram is checked: one from a process (its netlink port is not
// the kernel's 0, or its credentials are not root's) is ignored and counted; one that
// does not parse is logged and dropped; when the kernel dropped some for want of room
// (ENOBUFS), /sys is scanned again, so the registry never stays wrong.
import { readdirSync, realpathSync } from "node:fs";
import { readConfigFile } from "../config/read-file.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import { close } from "../../ffi/fd.ts";
import { openUeventSocket, UeventReceiver } from "../../ffi/netlink.ts";
import { DeviceRegistry, type PlugChange } from "./registry.ts";
import { devpathProblem, parseUevent, parseUeventFile } from "./uevent.ts";

export interface DeviceWatcherOptions {
  /** Device unit names that appeared or went (after start()). */
  changed(change: PlugChange): void;
  log(level: "debug" | "info" | "warning", text: string): void;
}

/** Datagrams read per wake-up: a burst is taken in turns with the manager's other work. */
const READS_PER_WAKEUP = 64;
/** The most /sys/class entries a scan reads (a board has hundreds). */
const MAX_SCANNED = 65_536;
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
    return this.registry.replaceAll(scanSys(this.sysRoot));
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
        this.report(this.registry.replaceAll(scanSys(this.sysRoot)));
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
 * The devices under /sys/class/CLASS/NAME (every device of a class, block and net among
 * them): their sysfs path and the variables of their uevent file, the class as
 * SUBSYSTEM when the file does not say it (net's does not).
 */
export function scanSys(root = "/sys"): { devpath: string; env: Map<string, string> }[] {
  const devices: { devpath: string; env: Map<string, string> }[] = [];
  const seen = new Set<string>();
  let scanned = 0;
  for (const cls of listDir(`${root}/class`)) {
    for (const entry of listDir(`${root}/class/${cls}`)) {
      if (++scanned > MAX_SCANNED) return devices;
      let real: string;
      try {
        real = realpathSync(`${root}/class/${cls}/${entry}`);
      } catch {
        continue; // gone since the listing
      }
      if (!real.startsWith(`${root}/`) || seen.has(real)) continue;
      const devpath = real.slice(root.length);
      if (devpathProblem(devpath) !== null) continue;
      const read = readConfigFile(`${real}/uevent`, UEVENT_FILE_MAX);
      if (!("text" in read)) continue;
      seen.add(real);
      const env = parseUeventFile(read.text);
      if (!env.has("SUBSYSTEM")) env.set("SUBSYSTEM", cls);
      devices.push({ devpath, env });
    }
  }
  return devices;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
