// A pseudo-terminal pair, from /dev/ptmx: the master for the caller, the slave's path for
// someone else to open (tests give it to a unit as its tty_path, as a serial port would be).
import { TTY_IOCTL, O } from "./constants.ts";
import { close, openFile } from "./fd.ts";
import { check, libc } from "./libc.ts";

export interface Pty {
  master: number;
  path: string; // /dev/pts/N
}

export function openPty(): Pty {
  const master = openFile("/dev/ptmx", O.RDWR | O.NOCTTY | O.CLOEXEC | O.NONBLOCK);
  try {
    check("ioctl(TIOCSPTLCK)", libc.ioctl(master, TTY_IOCTL.TIOCSPTLCK, new Int32Array([0])));
    const number = new Int32Array(1);
    check("ioctl(TIOCGPTN)", libc.ioctl(master, TTY_IOCTL.TIOCGPTN, number));
    return { master, path: `/dev/pts/${number[0]}` };
  } catch (e) {
    close(master);
    throw e;
  }
}
