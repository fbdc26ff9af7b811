// Which [service] keys make a sandbox, for the engine (a unit's sandbox is released when
// it stops) and src/exec/kernel-support.ts. Pure, and loads nothing else.
import type { ServiceSection } from "./types.ts";

/** The keys that give a unit's processes a mount namespace of their own. */
export const MOUNT_NAMESPACE_KEYS = [
  "protect_system", "protect_home", "private_devices", "private_tmp", "protect_kernel_tunables", "protect_kernel_modules",
  "protect_kernel_logs", "protect_control_groups", "protect_clock", "protect_proc", "proc_subset", "read_write_paths",
  "read_only_paths", "inaccessible_paths", "exec_paths", "no_exec_paths", "temporary_file_system", "bind_paths",
  "bind_read_only_paths", "private_mounts",
] as const;

/** A key set to something other than its "off" value (false, [], "default", "all", "auto"). */
export function isSet(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== false && value !== "default" && value !== "all" && value !== "auto";
}

/** Whether the unit's processes get a mount namespace of their own. */
export function usesMountNamespace(service: ServiceSection): boolean {
  return MOUNT_NAMESPACE_KEYS.some((key) => isSet(service[key]));
}

/** Whether they get namespaces of their own at all (mounts, network, IPC, hostname). */
export function usesNamespaces(service: ServiceSection): boolean {
  return usesMountNamespace(service) || Boolean(service.private_network || service.private_ipc || service.protect_hostname);
}
