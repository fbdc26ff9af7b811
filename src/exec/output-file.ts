// Opening the file a service's stdout or stderr goes to (standard_output = "file:PATH",
// "append:PATH", "truncate:PATH"), in the manager, before the spawn. PID 1 never blocks:
// the open is non-blocking (a FIFO nobody reads fails with ENXIO instead of waiting for a
// reader, a device that would wait for a carrier returns at once), then the flag is
// cleared, since the service expects a blocking fd. A unix socket file is connected to,
// as systemd does (the connect does not wait either).

import { E, O } from "../../ffi/constants.ts";
import { close, openFile, setNonBlocking } from "../../ffi/fd.ts";
import { SysError } from "../../ffi/libc.ts";
import { connectUnixStreamNow } from "../../ffi/socket.ts";

export type OutputOpen = "file" | "append" | "truncate";

/**
 * An fd (O_CLOEXEC, the spawner places it) on PATH for writing, created with `mode` if
 * missing: "file" writes from offset 0 over what is there, "append" at the end, "truncate"
 * empties it first, as systemd's StandardOutput=. Throws SysError.
 */
export function openOutputFile(path: string, open: OutputOpen, mode: number): number {
  const how = open === "append" ? O.APPEND : open === "truncate" ? O.TRUNC : 0;
  let fd: number;
  try {
    fd = openFile(path, O.WRONLY | O.CREAT | O.NOCTTY | O.NONBLOCK | how, mode);
  } catch (e) {
    // ENXIO is also what opening a unix socket file gives: as systemd, connect to it.
    if (!(e instanceof SysError && e.errno === E.ENXIO)) throw e;
    try {
      return connectUnixStreamNow(path);
    } catch {
      throw e; // not a socket (a FIFO nobody reads), or no one listening: the open's reason
    }
  }
  try {
    setNonBlocking(fd, false);
  } catch (e) {
    close(fd);
    throw e;
  }
  return fd;
}
