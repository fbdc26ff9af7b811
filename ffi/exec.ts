// execve(2) of the manager itself (daemon-reexec): the same process, a new program. The
// fds named survive it (FD_CLOEXEC cleared on them alone); every other fd hearth made is
// O_CLOEXEC and closes.
import { ptr } from "bun:ffi";
import { FD_CLOEXEC, F } from "./constants.ts";
import { check, lastErrno, libc, SysError } from "./libc.ts";

/** Clears FD_CLOEXEC on `fds` (keep: true), or sets it again (an exec that failed): inherited by the program execed next or not. */
export function keepAcrossExec(fds: Iterable<number>, keep = true): void {
  for (const fd of fds) {
    const flags = check("fcntl", libc.fcntl(fd, F.GETFD, 0), `F_GETFD fd ${fd}`);
    check("fcntl", libc.fcntl(fd, F.SETFD, keep ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC), `F_SETFD fd ${fd}`);
  }
}

/** A NULL-terminated array of C strings (the buffers are returned too: they must outlive the call). */
function cStrings(list: string[]): { array: BigUint64Array; keep: Buffer[] } {
  const keep = list.map((s) => Buffer.from(`${s}\0`));
  const array = new BigUint64Array(list.length + 1);
  keep.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, keep };
}

/** execve(path, argv, env): returns only on failure, with it thrown. */
export function execve(path: string, argv: string[], env: Record<string, string | undefined>): never {
  const file = Buffer.from(`${path}\0`);
  const args = cStrings(argv);
  const envs = cStrings(Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`));
  libc.execve(ptr(file), ptr(args.array), ptr(envs.array));
  throw new SysError("execve", lastErrno(), path);
}
