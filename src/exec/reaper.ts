// Reaping and signalling processes. The manager calls reapChildren() on SIGCHLD (and
// may call it on a timer as a safety net): it collects every child that has exited,
// its own and the orphans re-parented to it (PID 1, or a subreaper in `hearth run`).
// Nothing else in the manager may call waitpid(-1): the spawner reaps only the
// children whose execve failed, before anyone else could see them.

import { E, PR, WNOHANG } from "../../ffi/constants.ts";
import { check, lastErrno, libc, SysError } from "../../ffi/libc.ts";
import { signalName, signalNumber } from "../../ffi/signals.ts";
import type { ExitStatus } from "../engine/types.ts";

export { signalName, signalNumber };

// How a process ended is the engine's vocabulary; it is decoded here from wait(2)'s status.
export type { ExitStatus };

export interface ReapedChild {
  pid: number;
  status: ExitStatus;
}

/**
 * The wait status of a process that has terminated (wait(2): WIFEXITED, WEXITSTATUS,
 * WTERMSIG, WCOREDUMP). Stopped/continued statuses are never asked for (no WUNTRACED),
 * so they are rejected.
 */
export function decodeWaitStatus(raw: number): ExitStatus {
  const low = raw & 0x7f;
  if (low === 0) return { kind: "exited", code: (raw >> 8) & 0xff };
  if (low !== 0x7f && (raw & 0xffff) === raw) {
    return { kind: "killed", signal: low, coreDumped: (raw & 0x80) !== 0 };
  }
  throw new RangeError(`not the status of a terminated process: 0x${raw.toString(16)}`);
}

const waitStatus = new Int32Array(1);

/** Every child that has terminated, without blocking (waitpid(-1, WNOHANG) until 0/ECHILD). */
export function reapChildren(): ReapedChild[] {
  const reaped: ReapedChild[] = [];
  for (;;) {
    const pid = libc.waitpid(-1, waitStatus, WNOHANG);
    if (pid > 0) {
      reaped.push({ pid, status: decodeWaitStatus(waitStatus[0]!) });
      continue;
    }
    if (pid === 0) break;
    const errno = lastErrno();
    if (errno === E.EINTR) continue;
    if (errno === E.ECHILD) break;
    throw new SysError("waitpid", errno);
  }
  return reaped;
}

/**
 * The exit status of one child if it has terminated (waitpid(pid, WNOHANG)), else null.
 * Throws SysError ECHILD when pid is not (or no longer) our child.
 */
export function reapChild(pid: number): ExitStatus | null {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`reapChild: bad pid ${pid}`);
  for (;;) {
    const result = libc.waitpid(pid, waitStatus, WNOHANG);
    if (result === pid) return decodeWaitStatus(waitStatus[0]!);
    if (result === 0) return null;
    const errno = lastErrno();
    if (errno !== E.EINTR) throw new SysError("waitpid", errno, `${pid}`);
  }
}

/** Orphans of our descendants are re-parented to us instead of to PID 1 (prctl(2)). */
export function becomeSubreaper(): void {
  check("prctl", libc.prctl(PR.SET_CHILD_SUBREAPER, 1, 0, 0, 0), "PR_SET_CHILD_SUBREAPER");
}

function toSignal(signal: number | string): number {
  const number = typeof signal === "number" ? signal : signalNumber(signal);
  if (number === null || !Number.isInteger(number) || number < 0) {
    throw new RangeError(`no such signal: ${signal}`);
  }
  return number;
}

/** kill(2). False when the process no longer exists (ESRCH); other errors throw. */
function sendSignal(target: number, signal: number | string): boolean {
  if (libc.kill(target, toSignal(signal)) === 0) return true;
  const errno = lastErrno();
  if (errno === E.ESRCH) return false;
  throw new SysError("kill", errno, `${target}`);
}

/**
 * Signals one process, or, with a negative pid, a process group (as kill(2) does).
 * 0 and -1 are refused: they would signal our own group, or every process.
 */
export function killProcess(pid: number, signal: number | string): boolean {
  if (!Number.isInteger(pid) || pid === 0 || pid === -1) {
    throw new RangeError(`killProcess: bad pid ${pid} (0 and -1 are refused)`);
  }
  return sendSignal(pid, signal);
}
