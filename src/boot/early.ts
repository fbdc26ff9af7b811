// Early boot as PID 1, the effects: API file systems, the console, the hostname, the
// loopback interface, /run/systemd/system. Each step is tried on its own and reported;
// none of them may stop the boot. The decisions (what to mount, with which flags) are
// in api-mounts.ts and mount-options.ts.
//
// By the time this runs, Bun has started, which needed /proc/self/maps: the rootfs
// carries a one-line stand-in for it, hidden once procfs is mounted over /proc (see
// README.md, "The /proc decision", and src/cli/install.ts).

import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { API_MOUNTS, planApiMounts, type ApiMount } from "./api-mounts.ts";
import { parseMountOptions } from "./mount-options.ts";
import { attachConsole, interfaceUp, mountNow, setHostname } from "../../ffi/system.ts";
import { MS } from "../../ffi/constants.ts";

export interface EarlyReport {
  /** One line per step that did something or failed, for the log once it exists. */
  notes: { level: "info" | "warning" | "err"; text: string }[];
  consoleFd: number | null;
}

/** A path is a mount point when it sits on another device than its parent. */
export function isMountPoint(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch {
    return false;
  }
}

function mountApi(m: ApiMount): void {
  mkdirSync(m.where, { recursive: true, mode: m.mkdirMode ?? 0o755 });
  const mount = (options: string) => {
    const { flags, data } = parseMountOptions(options);
    mountNow(m.what, m.where, m.type, flags, data);
  };
  try {
    mount(m.options);
  } catch (e) {
    if (m.fallbackOptions === undefined) throw e;
    mount(m.fallbackOptions);
  }
}

/** Mounts what is missing of API_MOUNTS and puts the console on fds 0, 1, 2. */
export function mountApiFilesystems(report: EarlyReport): void {
  for (const m of planApiMounts(isMountPoint)) {
    try {
      mountApi(m);
    } catch (e) {
      report.notes.push({ level: m.type === "cgroup2" ? "warning" : "err", text: `mounting ${m.type} on ${m.where}: ${(e as Error).message}` });
    }
  }
  const missing = API_MOUNTS.filter((m) => !isMountPoint(m.where)).map((m) => m.where);
  if (missing.length > 0) report.notes.push({ level: "warning", text: `not mounted: ${missing.join(", ")}` });
}

/**
 * The mounts from / down made shared, as systemd does when the kernel starts it (the
 * kernel's default is private): a unit's own mount namespace (private_mounts, the
 * sandbox keys) is a slave of them, so what is mounted later — a data partition, a USB
 * stick — still reaches it. Not in a container ($container set): its manager chose.
 */
export function shareMounts(report: EarlyReport, container = process.env.container): void {
  if (container) return;
  try {
    mountNow("", "/", "", MS.REC | MS.SHARED, "");
  } catch (e) {
    report.notes.push({ level: "warning", text: `making / shared for mount propagation: ${(e as Error).message}` });
  }
}

export function openConsole(report: EarlyReport): void {
  try {
    report.consoleFd = attachConsole("/dev/console");
  } catch (e) {
    report.notes.push({ level: "err", text: `console: ${(e as Error).message}` });
  }
}

/** system.toml's hostname, else /etc/hostname, else "hearth". */
export function chooseHostname(configured: string | null, etcHostname: string | null): string {
  const fromFile = etcHostname?.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  return configured ?? fromFile ?? "hearth";
}

export function applyHostname(configured: string | null, report: EarlyReport): string {
  let etc: string | null = null;
  try { etc = readFileSync("/etc/hostname", "utf8"); } catch { /* none */ }
  const name = chooseHostname(configured, etc);
  try {
    setHostname(name);
  } catch (e) {
    report.notes.push({ level: "warning", text: `hostname: ${(e as Error).message}` });
  }
  return name;
}

/**
 * Unix datagram sockets made from now on queue this many datagrams (the kernel's default
 * is 10): the notify socket then takes a burst of daemons starting at once without their
 * sd_notify() blocking or failing. systemd raises it to the same at boot.
 */
export const DATAGRAM_QUEUE = 512;
const DATAGRAM_QUEUE_SYSCTL = "/proc/sys/net/unix/max_dgram_qlen";

export function raiseDatagramQueue(report: EarlyReport): void {
  try {
    const current = Number(readFileSync(DATAGRAM_QUEUE_SYSCTL, "utf8").trim());
    if (current >= DATAGRAM_QUEUE) return;
    writeFileSync(DATAGRAM_QUEUE_SYSCTL, `${DATAGRAM_QUEUE}\n`);
    report.notes.push({ level: "info", text: `net.unix.max_dgram_qlen raised from ${current} to ${DATAGRAM_QUEUE}` });
  } catch (e) {
    report.notes.push({ level: "warning", text: `net.unix.max_dgram_qlen: ${(e as Error).message}` });
  }
}

export function loopbackUp(report: EarlyReport): void {
  try {
    interfaceUp("lo");
  } catch (e) {
    report.notes.push({ level: "warning", text: `loopback: ${(e as Error).message}` });
  }
}
