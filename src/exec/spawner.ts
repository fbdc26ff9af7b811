// The one way the manager starts a process. Bun.spawn is not used: it sets the
// environment before fork (so a child cannot get its own pid in LISTEN_PID), it cannot
// set rlimits, umask, nice, oom_score_adj or no_new_privs before exec, and it reaps its
// children itself, while PID 1 must reap every child through one reaper
// (src/exec/reaper.ts).
//
// spawn() is synchronous and returns once the child has called execve: an exec failure
// is reported here (ok: false), not later as an exit status, and the failed child is
// already reaped. The child's steps, in order: signal dispositions reset, setsid, fds
// placed, rlimits, nice, oom_score_adj, umask, setgroups, setgid, setuid, chdir,
// no_new_privs, pid env vars, signal mask emptied, execve (see ffi/native.c).

import { RLIMIT, E } from "../../ffi/constants.ts";
import { devNull } from "../../ffi/fd.ts";
import { describeErrno, libc, SysError } from "../../ffi/libc.ts";
import { spawnNative, type NativeSpawn } from "../../ffi/spawn.ts";

export interface SpawnRequest {
  /** Absolute path of the program. */
  path: string;
  argv: string[];
  env: Record<string, string>;
  /** Names of env vars set to the child's own pid before exec (LISTEN_PID, WATCHDOG_PID). */
  pidEnv?: string[];
  /** Placed at fd 3, 4, ... in the child; every other fd >= 3 + fds.length is closed. */
  fds?: number[];
  /** fds for 0, 1, 2; undefined means /dev/null. */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  cwd?: string;
  /** Applied as setgroups, setgid, setuid, in that order. */
  uid?: number;
  gid?: number;
  /**
   * Supplementary groups. When uid is set and groups is not, and the manager runs as
   * root, the supplementary groups are cleared (the manager's own must not leak).
   */
  groups?: number[];
  umask?: number;
  /** resource: an RLIMIT_ name in lower case without the prefix ("nofile", "core"). */
  rlimits?: { resource: string; soft: number; hard: number }[];
  nice?: number;
  oomScoreAdj?: number;
  noNewPrivileges?: boolean;
  /** setsid() in the child; default true. */
  newSession?: boolean;
}

export type SpawnResult =
  | { ok: true; pid: number }
  | { ok: false; errno: number; stage: string; message: string };

/** A request hearth refuses before any process exists (stage "request"). */
function refuse(message: string): SpawnResult {
  return { ok: false, errno: E.EINVAL, stage: "request", message };
}

/** Infinity means RLIM_INFINITY; so does any value past 2^53 (no real limit is that large). */
function rlimitValue(value: number): number {
  return value > Number.MAX_SAFE_INTEGER ? Infinity : Math.trunc(value);
}

function nativeRlimits(rlimits: SpawnRequest["rlimits"]): NativeSpawn["rlimits"] | string {
  const result: NativeSpawn["rlimits"] = [];
  for (const { resource, soft, hard } of rlimits ?? []) {
    const number = RLIMIT[resource.toLowerCase().replace(/^rlimit_/, "")];
    if (number === undefined) return `unknown resource limit "${resource}"`;
    if (!(soft >= 0 && hard >= 0)) return `resource limit "${resource}" must not be negative`;
    if (soft > hard) return `resource limit "${resource}": soft limit above hard limit`;
    result.push([number, rlimitValue(soft), rlimitValue(hard)]);
  }
  return result;
}

/** Which supplementary groups to set, if any (see SpawnRequest.groups). */
function supplementaryGroups(req: SpawnRequest): number[] | undefined {
  if (req.groups !== undefined) return req.groups;
  if (req.uid !== undefined && libc.geteuid() === 0) return [];
  return undefined;
}

function validate(req: SpawnRequest): string | null {
  if (!req.path.startsWith("/")) return `program path must be absolute: "${req.path}"`;
  if (req.argv.length === 0) return "argv must not be empty";
  const strings = [req.path, ...req.argv, ...Object.entries(req.env).flat(), req.cwd ?? ""];
  if (strings.some((s) => s.includes("\0"))) return "strings must not contain NUL bytes";
  if (Object.keys(req.env).some((name) => name === "" || name.includes("="))) {
    return "environment variable names must be non-empty and contain no '='";
  }
  const fds = [req.stdin, req.stdout, req.stderr, ...(req.fds ?? [])];
  if (fds.some((fd) => fd !== undefined && !(Number.isInteger(fd) && fd >= 0))) return "fds must be integers >= 0";
  return null;
}

function toNative(req: SpawnRequest, rlimits: NativeSpawn["rlimits"]): NativeSpawn {
  const pidEnv = req.pidEnv ?? [];
  const env = Object.entries(req.env);
  for (const name of pidEnv) if (!(name in req.env)) env.push([name, ""]);
  return {
    path: req.path,
    argv: req.argv,
    env,
    pidEnv,
    fdSources: [req.stdin ?? devNull(), req.stdout ?? devNull(), req.stderr ?? devNull(), ...(req.fds ?? [])],
    cwd: req.cwd,
    setsid: req.newSession ?? true,
    uid: req.uid,
    gid: req.gid,
    groups: supplementaryGroups(req),
    umask: req.umask,
    nice: req.nice,
    oomScoreAdj: req.oomScoreAdj,
    rlimits,
    noNewPrivileges: req.noNewPrivileges ?? false,
  };
}

/** Starts a process; see the top of this file. Never throws for a bad request or a failed step. */
export function spawn(req: SpawnRequest): SpawnResult {
  const problem = validate(req);
  if (problem) return refuse(problem);
  const rlimits = nativeRlimits(req.rlimits);
  if (typeof rlimits === "string") return refuse(rlimits);
  let nativeRequest: NativeSpawn;
  try {
    nativeRequest = toNative(req, rlimits);
  } catch (error) {
    if (!(error instanceof SysError)) throw error;
    return { ok: false, errno: error.errno, stage: "devnull", message: error.message };
  }
  const result = spawnNative(nativeRequest);
  if ("pid" in result) return { ok: true, pid: result.pid };
  const subject = result.stage === "execve" ? ` ${req.path}` : result.stage === "chdir" ? ` ${req.cwd}` : "";
  return {
    ok: false,
    errno: result.errno,
    stage: result.stage,
    message: `${result.stage}${subject}: ${describeErrno(result.errno)}`,
  };
}
