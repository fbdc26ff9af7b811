// Building a spawn request from a "spawn" effect: credentials, environment, fds and
// sandboxing, all from the effect's payload and the host (no engine state is read).
import type { ServiceSection } from "../config/types.ts";
import type { Effect, SpawnContext } from "../engine/types.ts";
import type { SpawnRequest } from "../exec/spawner.ts";
import { findUser, resolveCredentials } from "../exec/users.ts";
import type { Passed } from "../sockets/activator.ts";
import type { ManagerHost } from "./host.ts";
import { credentialStores, credentialsDirectory, gatherCredentials, hasCredentials, writeCredentials } from "./credentials.ts";
import { directoryEnvironment, directoryOwner, unitDirectories, type DirectoryBases } from "./unit-directories.ts";
import type { StdioFds } from "./stdio-open.ts";
import { applyPrivileges, programArgv } from "./exec-privileges.ts";
import { expandCommand, sandboxRequest, serviceEnvironment, workingDirectory } from "./exec-context.ts";

export interface SpawnInputs {
  effect: Extract<Effect, { type: "spawn" }> & { context: SpawnContext };
  host: ManagerHost;
  notifySocket: string | null;
  systemMode: boolean;
  devNull: number;
  passed: Passed | null; // the main process's sockets and stored fds
  stdio: StdioFds; // fds 0, 1, 2 (./stdio.ts decides them, ./stdio-open.ts opens them)
  cgroupFd?: number;
  cgroupJoin?: boolean; // enter the cgroup by cgroup.procs (CgroupTree.ensureUnit's join)
  directoryBases: DirectoryBases; // where runtime_directory and the like are made
  privateTmp?: { tmp: string; varTmp: string | null }; // the unit's, when private_tmp is set
  fileLimit: { soft: number; hard: number }; // RLIMIT_NOFILE for a unit without limit_nofile (host.fileLimits)
}

export type BuiltRequest =
  | { request: SpawnRequest; readiness?: { read: number; write: number }; warnings: string[] }
  | { error: string };

/** load_credential / set_credential written for the process; $CREDENTIALS_DIRECTORY. */
function unitCredentials(unit: string, cfg: ServiceSection, runtimeBase: string, owner: { uid: number; gid: number } | null): { env: Record<string, string> } | { error: string } {
  if (!hasCredentials(cfg)) return { env: {} };
  const creds = gatherCredentials(cfg, credentialStores(process.env));
  if ("error" in creds) return creds;
  const written = writeCredentials(credentialsDirectory(runtimeBase, unit), creds, owner);
  return "error" in written ? written : { env: { CREDENTIALS_DIRECTORY: written.dir } };
}

export function buildSpawnRequest(inp: SpawnInputs): BuiltRequest {
  const { effect: e, host } = inp;
  const { config: unit, watchdogUsec, mainPid } = e.context;
  const cfg = unit.service!;
  const main = e.role === "main";
  // The user database is read only for units that ask for other ids.
  const wantsIds = cfg.user !== null || cfg.group !== null || cfg.supplementary_groups.length > 0;
  const db = wantsIds ? host.userDatabase() : null;
  const ids = db ? resolveCredentials(db, { user: cfg.user, group: cfg.group, supplementaryGroups: cfg.supplementary_groups }) : {};
  if ("error" in ids) return { error: ids.error };
  const { uid, gid, groups } = ids;
  const entry = db && cfg.user !== null ? findUser(db, cfg.user) : null;
  const user = entry ? { name: entry.name, home: entry.home, shell: entry.shell } : null;
  // Made before every process of the unit, as systemd does in each child it forks.
  const dirs = unitDirectories(cfg, inp.directoryBases, directoryOwner(cfg, ids, inp.systemMode));
  const warnings: string[] = [];
  for (const dir of dirs) {
    try {
      warnings.push(...host.makeUnitDirectory(dir));
    } catch (err) {
      return { error: `${dir.kind}_directory ${dir.relative}: ${(err as Error).message}` };
    }
  }
  const credentials = unitCredentials(unit.name, cfg, inp.directoryBases.runtime, directoryOwner(cfg, ids, inp.systemMode));
  if ("error" in credentials) return credentials;
  const passed = inp.passed;
  const { env, errors } = serviceEnvironment({
    unit: unit.name, cfg, user,
    notifySocket: inp.notifySocket,
    managerEnv: inp.systemMode ? { LANG: process.env.LANG ?? "C.UTF-8" } : inheritEnv(),
    directoryEnv: { ...directoryEnvironment(dirs), ...credentials.env },
    readFile: (p) => { try { return host.readFile(p); } catch { return null; } },
    watchdogUsec,
    listenFdNames: passed?.names,
  });
  if (errors.length > 0) return { error: errors.join("; ") };
  // Control processes (exec_reload, exec_stop...) learn the main pid, as in systemd.
  if (!main && mainPid !== null) env.MAINPID = String(mainPid);
  Object.assign(env, passed?.env); // REMOTE_ADDR, REMOTE_PORT of a connection
  Object.assign(env, e.env); // SERVICE_RESULT, EXIT_CODE, EXIT_STATUS for exec_stop and exec_stop_post
  // ":" passes $NAME as written; "@" gives the program its own argv[0].
  const expanded = e.command.noEnvironmentExpansion ? e.command.argv : expandCommand(e.command.argv, env);
  const argv = programArgv(e.command, expanded);
  const fds: number[] = [...(passed?.fds ?? [])];
  const pidEnv: string[] = [];
  if (watchdogUsec > 0) pidEnv.push("WATCHDOG_PID");
  if (fds.length > 0) pidEnv.push("LISTEN_PID");
  let readiness: { read: number; write: number } | undefined;
  if (main && cfg.notification_fd !== null) {
    if (cfg.notification_fd < 3 + fds.length) {
      return { error: `notification_fd ${cfg.notification_fd} is taken by the ${fds.length} passed fds at 3..${2 + fds.length}` };
    }
    readiness = host.pipe();
    while (fds.length < cfg.notification_fd - 3) fds.push(inp.devNull);
    fds.push(readiness.write);
  }
  const request: SpawnRequest = applyPrivileges({
    path: expanded[0]!, argv, env, pidEnv, fds, ...inp.stdio,
    cwd: workingDirectory(cfg.working_directory, user),
    uid, gid, groups, umask: cfg.umask,
    rlimits: [
      ...Object.entries(cfg.limits).map(([resource, l]) => ({ resource, soft: l.soft, hard: l.hard })),
      ...(cfg.limits.nofile ? [] : [{ resource: "nofile", ...inp.fileLimit }]), // not the manager's own (Bun raises it)
    ],
    nice: cfg.nice ?? undefined, oomScoreAdj: cfg.oom_score_adj ?? undefined,
    noNewPrivileges: cfg.no_new_privileges, newSession: true,
    cgroupFd: inp.cgroupFd,
    cgroupJoin: inp.cgroupJoin,
  }, sandboxRequest(cfg, {
    privateTmp: inp.privateTmp,
    writableDirectories: dirs.filter((d) => d.kind !== "configuration").map((d) => `${d.base}/${d.relative}`),
  }), e.command);
  return { request, readiness, warnings };
}

/** In run mode services inherit the caller's environment, less what is ours to set. */
function inheritEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("LISTEN_") || k === "NOTIFY_SOCKET" || k.startsWith("WATCHDOG_")) continue;
    env[k] = v;
  }
  return env;
}
