// What systemd's "+" and "!" prefixes take away from a spawn request (src/config/exec-prefixes.ts).
import type { ExecCommand } from "../config/types.ts";
import type { SpawnRequest } from "../exec/spawner.ts";

/** Fields of sandboxRequest that are no privilege restriction: kept under "+" too. */
const NOT_RESTRICTIONS = ["cpuAffinity", "ioScheduling", "ignoreSigpipe"] as const;

/**
 * The request as the command's prefix wants it: "+" runs it as the manager's own user with
 * no capability, no_new_privileges or mount-namespace restriction (a whitelist: any
 * sandboxing field added later is dropped too); "!" drops only the user and groups.
 * Resource limits, nice, umask, the cgroup and the environment (USER, HOME) stay, as in systemd.
 */
export function applyPrivileges(request: SpawnRequest, sandbox: Partial<SpawnRequest>, command: ExecCommand): SpawnRequest {
  if (command.privileges === undefined) return { ...request, ...sandbox };
  const { uid: _uid, gid: _gid, groups: _groups, ...unprivileged } = request;
  if (command.privileges === "keep-ids") return { ...unprivileged, ...sandbox };
  const kept: Partial<SpawnRequest> = {};
  for (const key of NOT_RESTRICTIONS) if (sandbox[key] !== undefined) (kept as Record<string, unknown>)[key] = sandbox[key];
  return { ...unprivileged, ...kept, noNewPrivileges: false };
}

/** The argv the program is given: "@" replaces argv[0]. */
export function programArgv(command: ExecCommand, expanded: string[]): string[] {
  return command.argv0 === undefined ? expanded : [command.argv0, ...expanded.slice(1)];
}
