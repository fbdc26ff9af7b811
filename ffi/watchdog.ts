// The Linux watchdog device API (Documentation/watchdog/watchdog-api.rst,
// include/uapi/linux/watchdog.h): open, ioctls, the magic close. Every call is a quick
// ioctl or write on a character device: none blocks.
import { E, O, WATCHDOG_INFO, WDIOC, WDIOS } from "./constants.ts";
import { check, cString, libc, retryExpecting, SysError } from "./libc.ts";

export interface WatchdogInfo {
  identity: string; // "i6300ESB timer", "Software Watchdog", ...
  options: number; // WDIOF_* the driver supports
  firmwareVersion: number;
}

function intIoctl(fd: number, request: number, name: string, value = 0): number | { errno: number } {
  const arg = new Int32Array([value]);
  const r = retryExpecting(name, () => libc.ioctl(fd, request, arg), [E.ENOTTY, E.EOPNOTSUPP, E.EINVAL, E.ENODEV]);
  return typeof r === "number" ? arg[0]! : r;
}

/** An open watchdog device. While open and enabled, the board resets unless pinged. */
export class WatchdogFd {
  private constructor(readonly fd: number, readonly path: string) {}

  /** The device the process before a daemon-reexec held open (never closed across the exec: a close would disturb it). */
  static adopt(fd: number, path: string): WatchdogFd {
    return new WatchdogFd(fd, path);
  }

  /** O_WRONLY|O_CLOEXEC as systemd opens it; opening usually starts the timer. */
  static open(path: string): WatchdogFd {
    const fd = check("open", libc.open(cString(path), O.WRONLY | O.CLOEXEC, 0), path);
    return new WatchdogFd(fd, path);
  }

  info(): WatchdogInfo | null {
    const buf = new Uint8Array(WATCHDOG_INFO.size);
    if (libc.ioctl(this.fd, WDIOC.GETSUPPORT, buf) < 0) return null;
    const view = new DataView(buf.buffer);
    const raw = buf.subarray(WATCHDOG_INFO.identity, WATCHDOG_INFO.identity + WATCHDOG_INFO.identityMax);
    const end = raw.indexOf(0);
    return {
      options: view.getUint32(WATCHDOG_INFO.options, true),
      firmwareVersion: view.getUint32(WATCHDOG_INFO.firmwareVersion, true),
      identity: new TextDecoder().decode(end >= 0 ? raw.subarray(0, end) : raw).trim(),
    };
  }

  /** WDIOF_* flags describing the last reboot (WDIOF_CARDRESET: the watchdog did it). */
  bootStatus(): number | null {
    const r = intIoctl(this.fd, WDIOC.GETBOOTSTATUS, "WDIOC_GETBOOTSTATUS");
    return typeof r === "number" ? r : null;
  }

  /** Ask for a timeout; the driver writes back what it accepted. "unsupported" on ENOTTY/EOPNOTSUPP. */
  setTimeout(seconds: number): number | "unsupported" {
    const r = intIoctl(this.fd, WDIOC.SETTIMEOUT, "WDIOC_SETTIMEOUT", seconds);
    if (typeof r === "number") return r;
    if (r.errno === E.ENOTTY || r.errno === E.EOPNOTSUPP) return "unsupported";
    throw new SysError("WDIOC_SETTIMEOUT", r.errno, `${seconds}s on ${this.path}`);
  }

  timeout(): number | null {
    const r = intIoctl(this.fd, WDIOC.GETTIMEOUT, "WDIOC_GETTIMEOUT");
    return typeof r === "number" ? r : null;
  }

  /** Seconds before the reset, for drivers that know (not all do). */
  timeLeft(): number | null {
    const r = intIoctl(this.fd, WDIOC.GETTIMELEFT, "WDIOC_GETTIMELEFT");
    return typeof r === "number" ? r : null;
  }

  /** WDIOS_ENABLECARD; drivers without SETOPTIONS are always enabled (ENOTTY ignored). */
  enable(): void {
    intIoctl(this.fd, WDIOC.SETOPTIONS, "WDIOC_SETOPTIONS", WDIOS.ENABLECARD);
  }

  keepalive(): boolean {
    return libc.ioctl(this.fd, WDIOC.KEEPALIVE, new Int32Array(1)) >= 0;
  }

  /** Stop the timer: WDIOS_DISABLECARD, then the magic close ("V"), then close. */
  disarmAndClose(): void {
    intIoctl(this.fd, WDIOC.SETOPTIONS, "WDIOC_SETOPTIONS", WDIOS.DISABLECARD);
    libc.write(this.fd, Buffer.from("V"), 1);
    libc.close(this.fd);
  }

  /** Close WITHOUT the magic character: the timer keeps running (the reboot path). */
  closeArmed(): void {
    libc.close(this.fd);
  }

}
