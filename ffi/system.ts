// System calls of early boot and of the way down: mount, umount, reboot, the hostname,
// the clocks, the loopback interface, the console. Thin wrappers: each throws SysError
// (or returns the errno the caller expects), and decides nothing.

import { AF_INET, CLOCK, E, IFF, IFREQ, MNT, O, REBOOT_CMD, SIOCGIFFLAGS, SIOCSIFFLAGS, SOCK, SIGNALS, SYS, TIMESPEC } from "./constants.ts";
import { check, cString, lastErrno, libc, retryExpecting, SysError } from "./libc.ts";
import { checkedSyscallInThread, syscallInThread } from "./async.ts";
import { openFile } from "./fd.ts";

/** mount(2) on the calling thread: for the API file systems, which never block. */
export function mountNow(source: string, target: string, fstype: string, flags: number, data: string): void {
  const result = libc.mount(cString(source), cString(target), cString(fstype), flags, data === "" ? null : cString(data));
  check("mount", result, `${fstype} on ${target}`);
}

/** mount(2) on a helper thread (a real disk may take its time). Rejects with SysError. */
export async function mountInThread(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
  await checkedSyscallInThread("mount", SYS.mount,
    [cString(source), cString(target), cString(fstype), flags, data === "" ? null : cString(data)], `${fstype} on ${target}`);
}

/** umount2(2) on a helper thread; resolves with 0 or the errno. */
export async function unmountInThread(target: string, flags: number = 0): Promise<number> {
  const { result, errno } = await syscallInThread(SYS.umount2, [cString(target), flags]);
  return result < 0 ? errno : 0;
}

/** umount2(target, MNT_DETACH) now; 0 or the errno. */
export function detachNow(target: string): number {
  return libc.umount2(cString(target), MNT.DETACH) < 0 ? lastErrno() : 0;
}

/** finit_module(2) of an open module file, on a helper thread; 0 or the errno (EEXIST: already loaded). */
export async function loadModuleFd(fd: number, params: string = ""): Promise<number> {
  const { result, errno } = await syscallInThread(SYS.finit_module, [fd, cString(params), 0]);
  return result < 0 ? errno : 0;
}

export type PowerCommand = "poweroff" | "reboot" | "halt";

/** reboot(2): does not return when it works. */
export function rebootNow(command: PowerCommand): never {
  const cmd = command === "poweroff" ? REBOOT_CMD.POWER_OFF : command === "reboot" ? REBOOT_CMD.RESTART : REBOOT_CMD.HALT;
  libc.reboot(cmd);
  throw new SysError("reboot", lastErrno(), command);
}

/** Ctrl-Alt-Del: false lets the kernel send SIGINT to PID 1 instead of rebooting at once. */
export function setCtrlAltDelReboots(immediate: boolean): void {
  check("reboot", libc.reboot(immediate ? REBOOT_CMD.CAD_ON : REBOOT_CMD.CAD_OFF), "CAD");
}

/** kill(-1, signal): every process but PID 1 and the caller. False when there was none (ESRCH). */
export function signalEveryProcess(signal: "SIGTERM" | "SIGKILL"): boolean {
  if (libc.kill(-1, SIGNALS[signal]!) === 0) return true;
  const errno = lastErrno();
  if (errno === E.ESRCH) return false;
  throw new SysError("kill", errno, `-1 ${signal}`);
}

/** sync(2) on a helper thread: a disk that hangs holds the promise, not the event loop. */
export async function syncInThread(): Promise<void> {
  await syscallInThread(SYS.sync, []);
}

export function setHostname(name: string): void {
  const bytes = Buffer.from(name, "utf8");
  check("sethostname", libc.sethostname(bytes, bytes.byteLength), name);
}

const timespec = new BigInt64Array(TIMESPEC.size / 8);

function clockMs(clock: number): number {
  check("clock_gettime", libc.clock_gettime(clock, timespec));
  return Number(timespec[0]!) * 1000 + Number(timespec[1]!) / 1e6;
}

/** CLOCK_MONOTONIC in ms: time since boot, without suspend. */
export function monotonicMs(): number {
  return clockMs(CLOCK.MONOTONIC);
}

/** CLOCK_BOOTTIME in ms: time since boot, with suspend. */
export function boottimeMs(): number {
  return clockMs(CLOCK.BOOTTIME);
}

/**
 * Sets IFF_UP on an interface (SIOCGIFFLAGS, then SIOCSIFFLAGS on an AF_INET socket).
 * For "lo" the kernel then adds 127.0.0.1/8 and ::1 by itself. Returns whether it was
 * already up.
 */
export function interfaceUp(name: string): boolean {
  const fd = check("socket", libc.socket(AF_INET, SOCK.DGRAM | SOCK.CLOEXEC, 0));
  try {
    const ifreq = new Uint8Array(IFREQ.size);
    ifreq.set(Buffer.from(name, "utf8").subarray(0, IFREQ.nameMax - 1), IFREQ.name);
    const view = new DataView(ifreq.buffer);
    check("ioctl", libc.ioctl(fd, SIOCGIFFLAGS, ifreq), `SIOCGIFFLAGS ${name}`);
    const flags = view.getUint16(IFREQ.flags, true);
    if (flags & IFF.UP) return true;
    view.setUint16(IFREQ.flags, flags | IFF.UP, true);
    check("ioctl", libc.ioctl(fd, SIOCSIFFLAGS, ifreq), `SIOCSIFFLAGS ${name}`);
    return false;
  } finally {
    libc.close(fd);
  }
}

/**
 * Opens the console and puts it on fds 0, 1 and 2 (dup3 keeps them open across exec,
 * as a console must be). Returns an extra O_CLOEXEC fd on it for the manager's own use.
 */
export function attachConsole(path: string = "/dev/console"): number {
  const fd = openFile(path, O.RDWR | O.NOCTTY);
  for (const target of [0, 1, 2]) {
    if (fd !== target) retryExpecting("dup3", () => libc.dup3(fd, target, 0), [], `${path} -> ${target}`);
  }
  return fd;
}
