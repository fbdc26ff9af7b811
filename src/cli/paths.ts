// Default directories (DESIGN §1): the system paths for PID 1 (and for root's tools),
// per-user ones for `hearth run`.
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SYSTEM_CONF_DIR = "/etc/hearth";
export const SYSTEM_RUN_DIR = "/run/hearth";

export function userConfDir(): string {
  const base = process.env.XDG_CONFIG_HOME ?? join(process.env.HOME ?? "/", ".config");
  return absoluteDir(join(base, "hearth"));
}

export function userRunDir(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? join(tmpdir(), `hearth-${process.getuid?.() ?? 0}`);
  return absoluteDir(join(base, "hearth"));
}

/**
 * A directory given on the command line, made absolute against the working directory:
 * services start in "/" (or their working_directory), and libsystemd refuses a relative
 * NOTIFY_SOCKET, so the manager must never hand out a path relative to its own cwd.
 */
export function absoluteDir(dir: string): string {
  return resolve(dir);
}

/**
 * For `hearth ctl`: the system manager if one runs, else the user's `hearth run` (the
 * client tries them in this order; it checks no file first: node:fs costs it ~5 ms).
 */
export function defaultRunDirs(): string[] {
  return [SYSTEM_RUN_DIR, userRunDir()];
}

/** For `hearth check`: the system configuration when root, else the user's. */
export function defaultConfDir(): string {
  return process.getuid?.() === 0 ? SYSTEM_CONF_DIR : userConfDir();
}
