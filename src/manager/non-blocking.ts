// non_blocking (systemd's NonBlocking=): O_NONBLOCK on the socket-activation fds a main
// process gets (not on fd-store fds, as in systemd). The flag belongs to the open file
// description, shared with the manager's own fd: the manager never blocks on them anyway
// (it accepts only on accept = true sockets, which are non-blocking already).
import { setNonBlocking } from "../../ffi/fd.ts";

export function setPassedNonBlocking(fds: number[], warn: (text: string) => void) {
  for (const fd of fds) {
    try {
      setNonBlocking(fd, true);
    } catch (e) {
      warn(`non_blocking: fd ${fd}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
