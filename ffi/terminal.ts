// A terminal put back after its unit stopped (systemd's exec_context_revert_tty): its
// other users hung up, termios reset, its virtual console disallocated. From the manager
// itself: every step is an ioctl on an fd opened O_NONBLOCK, so none can wait. The same
// steps run in the child before each start (open_terminal in ffi/native.c).
import { O, TERMIOS, TTY_IOCTL } from "./constants.ts";
import { close, openFile, writeSome } from "./fd.ts";
import { libc } from "./libc.ts";

export interface TerminalReset {
  path: string;
  reset: boolean;
  vhangup: boolean;
  vtDisallocate: boolean;
}

const IFLAG_CLEAR = TERMIOS.IGNBRK | TERMIOS.BRKINT | TERMIOS.ISTRIP | TERMIOS.INLCR | TERMIOS.IGNCR | TERMIOS.IUCLC;
const LFLAG = TERMIOS.ISIG | TERMIOS.ICANON | TERMIOS.IEXTEN | TERMIOS.ECHO | TERMIOS.ECHOE | TERMIOS.ECHOK | TERMIOS.ECHOCTL | TERMIOS.ECHOKE;

/** Throws (SysError) only when the terminal cannot be opened; a step that fails is skipped. */
export function resetTerminal(t: TerminalReset): void {
  const open = () => openFile(t.path, O.RDWR | O.NOCTTY | O.NONBLOCK | O.CLOEXEC);
  let fd = open();
  try {
    if (t.vhangup) {
      libc.ioctl(fd, TTY_IOCTL.TIOCVHANGUP, null);
      close(fd); // hung up with the rest: open it again
      fd = -1;
      fd = open();
    }
    if (t.reset) {
      libc.ioctl(fd, TTY_IOCTL.TIOCNXCL, null);
      const termios = new Uint32Array(Math.ceil(TERMIOS.size / 4));
      if (libc.ioctl(fd, TTY_IOCTL.TCGETS, termios) >= 0) {
        termios[0] = ((termios[0]! & ~IFLAG_CLEAR) | TERMIOS.ICRNL | TERMIOS.IMAXBEL | TERMIOS.IUTF8) >>> 0;
        termios[1] = (termios[1]! | TERMIOS.ONLCR | TERMIOS.OPOST) >>> 0;
        termios[2] = (termios[2]! | TERMIOS.CREAD) >>> 0;
        termios[3] = LFLAG;
        libc.ioctl(fd, TTY_IOCTL.TCSETS, termios);
      }
      libc.ioctl(fd, TTY_IOCTL.TCFLSH, TERMIOS.TCIOFLUSH);
    }
    if (t.vtDisallocate) disallocate(fd, t.path);
  } finally {
    if (fd >= 0) close(fd);
  }
}

/** "/dev/ttyN": VT_DISALLOCATE on /dev/tty0 (refused while it is shown), then its scrollback cleared. */
function disallocate(fd: number, path: string): void {
  const vt = /^\/dev\/tty([1-9][0-9]*)$/.exec(path);
  if (vt) {
    try {
      const console = openFile("/dev/tty0", O.RDWR | O.NOCTTY | O.NONBLOCK | O.CLOEXEC);
      libc.ioctl(console, TTY_IOCTL.VT_DISALLOCATE, Number(vt[1]));
      close(console);
    } catch {
      // no virtual consoles here
    }
  }
  try {
    writeSome(fd, new TextEncoder().encode("\x1b[r\x1b[H\x1b[3J"));
  } catch {
    // a terminal that cannot be written to keeps its scrollback
  }
}
