// Finding a program the way execvp(3) would, but once, at load time: the spawner only
// takes absolute paths.

import { accessSync, constants, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

/** The default search path of systemd for services. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `name`: a name with a "/" is taken as a path (made absolute
 * against `cwd`); a bare name is looked up in the colon-separated `searchPath`, whose
 * relative entries are skipped (execvp takes an empty one as ".": a service's program
 * must not depend on the manager's cwd). Null when no executable regular file is found.
 */
export function resolveExecutable(name: string, searchPath: string = DEFAULT_PATH, cwd: string = "/"): string | null {
  if (name === "") return null;
  if (name.includes("/")) {
    const path = isAbsolute(name) ? name : resolve(cwd, name);
    return isExecutableFile(path) ? path : null;
  }
  for (const dir of searchPath.split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}
