// Default directories (DESIGN §1): the system paths for PID 1 (and for root's tools),
// per-user ones for `hearth run`. No node:os or node:path here: `hearth ctl` loads this
// module, and each of those costs the client ~60 ms of its start on a TCG-emulated board.

export const SYSTEM_CONF_DIR = "/etc/hearth";
export const SYSTEM_RUN_DIR = "/run/hearth";

export function userConfDir(): string {
  const base = process.env.XDG_CONFIG_HOME ?? `${process.env.HOME ?? "/"}/.config`;
  return absoluteDir(`${base}/hearth`);
}

export function userRunDir(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? `${tmpDir()}/hearth-${process.getuid?.() ?? 0}`;
  return absoluteDir(`${base}/hearth`);
}

/** os.tmpdir()'s answer: $TMPDIR, $TMP or $TEMP, else /tmp. */
function tmpDir(): string {
  return process.env.TMPDIR || process.env.TMP || process.env.TEMP || "/tmp";
}

/**
 * A directory given on the command line, made absolute against the working directory:
 * services start in "/" (or their working_directory), and libsystemd refuses a relative
 * NOTIFY_SOCKET, so the manager must never hand out a path relative to its own cwd.
 */
export function absoluteDir(dir: string): string {
  const parts: string[] = [];
  for (const part of (dir.startsWith("/") ? dir : `${process.cwd()}/${dir}`).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
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
