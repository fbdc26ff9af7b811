// The directories a unit asks for (systemd's RuntimeDirectory=, StateDirectory=,
// CacheDirectory=, LogsDirectory=, ConfigurationDirectory=): where each kind lives, which
// directories a spawn makes, and the variables that tell the processes. Pure: the shell
// makes them through the host (src/exec/directories.ts) before each process starts.
import { join } from "node:path";
import type { ServiceSection } from "../config/types.ts";

export const DIRECTORY_KINDS = ["runtime", "state", "cache", "logs", "configuration"] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];

/** The base directory of each kind. */
export type DirectoryBases = Record<DirectoryKind, string>;

/**
 * As systemd: /run, /var/lib, /var/cache, /var/log, /etc for the system; for a user
 * manager (hearth run) the XDG directories, the logs under the state one, and the runtime
 * ones in $XDG_RUNTIME_DIR, else in the run directory. Only absolute XDG values count
 * (the basedir spec says relative ones are to be ignored).
 */
export function directoryBases(systemMode: boolean, runDir: string, env: Record<string, string | undefined>, home: string): DirectoryBases {
  if (systemMode) return { runtime: "/run", state: "/var/lib", cache: "/var/cache", logs: "/var/log", configuration: "/etc" };
  const xdg = (name: string, fallback: string) => (env[name]?.startsWith("/") ? env[name]! : fallback);
  const state = xdg("XDG_STATE_HOME", join(home, ".local/state"));
  return {
    runtime: xdg("XDG_RUNTIME_DIR", runDir),
    state,
    cache: xdg("XDG_CACHE_HOME", join(home, ".cache")),
    logs: join(state, "log"),
    configuration: xdg("XDG_CONFIG_HOME", join(home, ".config")),
  };
}

/** One directory to make before a process starts. */
export interface UnitDirectory {
  kind: DirectoryKind;
  base: string;
  relative: string; // normalized at load: no "..", no leading "/"
  mode: number;
  // Who owns it (and, when that changes, what is in it); null: left as made (run mode
  // without user/group: a user manager cannot give files away).
  owner: { uid: number; gid: number } | null;
}

/** The directories of a unit, kind by kind in systemd's order. */
export function unitDirectories(cfg: ServiceSection, bases: DirectoryBases, owner: UnitDirectory["owner"]): UnitDirectory[] {
  const out: UnitDirectory[] = [];
  for (const kind of DIRECTORY_KINDS) {
    const mode = cfg[`${kind}_directory_mode`] ?? 0o755;
    for (const relative of cfg[`${kind}_directory`] ?? []) out.push({ kind, base: bases[kind], relative, mode, owner });
  }
  return out;
}

/** RUNTIME_DIRECTORY=/run/a:/run/b and the others, for the kinds the unit uses. */
export function directoryEnvironment(dirs: UnitDirectory[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const d of dirs) {
    const name = `${d.kind.toUpperCase()}_DIRECTORY`;
    const path = join(d.base, d.relative);
    env[name] = env[name] === undefined ? path : `${env[name]}:${path}`;
  }
  return env;
}

/**
 * Who owns the directories: the unit's user and group when it names one (-1: the id it
 * does not name stays as it is); in system mode root otherwise (systemd gives a directory
 * left by an earlier user = back to root).
 */
export function directoryOwner(cfg: ServiceSection, ids: { uid?: number; gid?: number }, systemMode: boolean): UnitDirectory["owner"] {
  if (cfg.user === null && cfg.group === null) return systemMode ? { uid: 0, gid: 0 } : null;
  const unset = systemMode ? 0 : -1;
  return { uid: ids.uid ?? unset, gid: ids.gid ?? unset };
}
