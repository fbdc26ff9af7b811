// `hearth ctl analyze security [UNIT]`: how exposed each service is, directive by
// directive, in the manner of systemd-analyze security: every check has a weight, a
// service that does not confine itself there is exposed by that weight, and the exposure
// is the exposed share of all weights on a scale of 0 (all confined) to 10 (none). Pure:
// the server sends the rows (securityReport), the client prints them
// (./security-format.ts, which loads none of this).

import type { ServiceSection, UnitConfig } from "../config/types.ts";
import type { SecurityCheck, UnitSecurity } from "./security-format.ts";
import { mergeFilter } from "../exec/seccomp.ts";
import { expandSyscallName } from "../exec/syscall-groups.ts";

type Rule = [key: string, weight: number, description: string, level: (s: ServiceSection) => number];

const yes = (value: unknown) => (value === true ? 1 : 0);
const bounding = (s: ServiceSection) => s.capability_bounding_set ?? null;

/** The capability is out of the bounding set (or a directive drops it, as private_devices does). */
function dropsCapability(cap: string, impliedBy: (s: ServiceSection) => boolean = () => false): (s: ServiceSection) => number {
  return (s) => (impliedBy(s) || (bounding(s) !== null && !bounding(s)!.includes(cap)) ? 1 : 0);
}

/** Every call of the group is refused by system_call_filter. */
function filtersGroup(group: string): (s: ServiceSection) => number {
  return (s) => {
    if (!s.system_call_filter?.length) return 0;
    const merged = mergeFilter(s.system_call_filter);
    if (typeof merged === "string") return 0;
    const members = expandSyscallName(group) ?? [];
    return members.every((name) => merged.names.has(name) !== merged.allow) ? 1 : 0;
  };
}

const RULES: Rule[] = [
  ["user", 2000, "Service runs as root", (s) => (s.user !== null && s.user !== "root" && s.user !== "0" ? 1 : 0)],
  ["no_new_privileges", 1000, "Service processes may gain privileges (setuid programs, file capabilities)", (s) => yes(s.no_new_privileges)],
  ["capability_bounding_set ~CAP_SYS_ADMIN", 1500, "Service may have CAP_SYS_ADMIN", dropsCapability("CAP_SYS_ADMIN")],
  ["capability_bounding_set ~CAP_SYS_PTRACE", 1000, "Service may have CAP_SYS_PTRACE", dropsCapability("CAP_SYS_PTRACE")],
  ["capability_bounding_set ~CAP_SYS_MODULE", 1000, "Service may have CAP_SYS_MODULE", dropsCapability("CAP_SYS_MODULE", (s) => s.protect_kernel_modules === true)],
  ["capability_bounding_set ~CAP_SYS_RAWIO", 1000, "Service may have CAP_SYS_RAWIO", dropsCapability("CAP_SYS_RAWIO", (s) => s.private_devices === true)],
  ["capability_bounding_set ~CAP_NET_ADMIN", 500, "Service may have CAP_NET_ADMIN", dropsCapability("CAP_NET_ADMIN")],
  ["capability_bounding_set ~CAP_SYS_BOOT", 500, "Service may have CAP_SYS_BOOT", dropsCapability("CAP_SYS_BOOT")],
  ["capability_bounding_set ~CAP_SYS_TIME", 500, "Service may have CAP_SYS_TIME", dropsCapability("CAP_SYS_TIME", (s) => s.protect_clock === true)],
  ["capability_bounding_set ~CAP_MKNOD", 300, "Service may have CAP_MKNOD", dropsCapability("CAP_MKNOD", (s) => s.private_devices === true)],
  ["ambient_capabilities", 100, "Service process receives ambient capabilities", (s) => (s.ambient_capabilities?.length ? 0 : 1)],
  ["protect_system", 1000, "Service has full access to the OS file hierarchy",
    (s) => (s.protect_system === "strict" ? 1 : s.protect_system === "full" ? 0.6 : s.protect_system === true ? 0.4 : 0)],
  ["protect_home", 1000, "Service has full access to home directories",
    (s) => (s.protect_home === true || s.protect_home === "tmpfs" ? 1 : s.protect_home === "read-only" ? 0.5 : 0)],
  ["private_tmp", 1000, "Service has access to other software's temporary files", (s) => yes(s.private_tmp)],
  ["private_devices", 1000, "Service potentially has access to hardware devices", (s) => yes(s.private_devices)],
  ["private_network", 2500, "Service has access to the host's network", (s) => yes(s.private_network)],
  ["device_allow", 1000, "Service has no device ACL (device_policy, device_allow)", (s) => {
    const closed = s.device_policy === "strict" || s.device_policy === "closed" || s.private_devices === true;
    return closed ? (s.device_allow?.length ? 0.5 : 1) : 0;
  }],
  ["ip_address_deny", 1000, "Service does not define an IP address allow list", (s) => {
    if (!s.ip_address_deny?.some((line) => line.split(/\s+/).includes("any"))) return 0;
    const allowed = (s.ip_address_allow ?? []).flatMap((line) => line.split(/\s+/)).filter(Boolean);
    return allowed.length === 0 ? 1 : allowed.every((a) => a === "localhost") ? 0.8 : 0.5;
  }],
  ["delegate", 100, "Service maintains its own delegated control group subtree",
    (s) => (s.delegate === true || (Array.isArray(s.delegate) && s.delegate.length > 0) ? 0 : 1)],
  ["private_users", 1000, "Service has access to other users", (s) => yes(s.private_users)],
  ["private_ipc", 100, "Service has access to the host's System V IPC", (s) => yes(s.private_ipc)],
  ["protect_kernel_tunables", 1000, "Service may alter kernel tunables", (s) => yes(s.protect_kernel_tunables)],
  ["protect_kernel_modules", 1000, "Service may load kernel modules", (s) => yes(s.protect_kernel_modules)],
  ["protect_kernel_logs", 1000, "Service may read from or write to the kernel log ring buffer", (s) => yes(s.protect_kernel_logs)],
  ["protect_control_groups", 1000, "Service may modify the control group file system", (s) => yes(s.protect_control_groups)],
  ["protect_clock", 1000, "Service may write to the hardware clock or system clock", (s) => yes(s.protect_clock)],
  ["protect_hostname", 50, "Service may change the system host name", (s) => yes(s.protect_hostname)],
  ["protect_proc", 1000, "Service has full access to the process tree (/proc)", (s) => (s.protect_proc && s.protect_proc !== "default" ? 1 : 0)],
  ["proc_subset", 10, "Service has full access to non-process /proc files", (s) => (s.proc_subset === "pid" ? 1 : 0)],
  ["restrict_address_families", 1500, "Service may allocate sockets of any address family",
    (s) => (s.restrict_address_families?.length ? 1 : 0)],
  ["restrict_namespaces", 1500, "Service may create namespaces",
    (s) => (s.restrict_namespaces === true ? 1 : Array.isArray(s.restrict_namespaces) && s.restrict_namespaces.length ? 0.5 : 0)],
  ["restrict_realtime", 500, "Service may acquire realtime scheduling", (s) => yes(s.restrict_realtime)],
  ["restrict_suid_sgid", 1000, "Service may create SUID/SGID files", (s) => yes(s.restrict_suid_sgid)],
  ["lock_personality", 100, "Service may change ABI personality", (s) => yes(s.lock_personality)],
  ["memory_deny_write_execute", 100, "Service may create writable executable memory mappings", (s) => yes(s.memory_deny_write_execute)],
  ["system_call_architectures", 1000, "Service may execute system calls of all ABIs", (s) => (s.system_call_architectures?.length ? 1 : 0)],
  ...(["@swap", "@clock", "@debug", "@module", "@mount", "@raw-io", "@reboot"] as const).map((group): Rule =>
    [`system_call_filter ~${group}`, 1000, `Service does not filter system calls of ${group}`, filtersGroup(group)]),
  ...(["@privileged", "@resources"] as const).map((group): Rule =>
    [`system_call_filter ~${group}`, 700, `Service does not filter system calls of ${group}`, filtersGroup(group)]),
  ...(["@obsolete", "@cpu-emulation"] as const).map((group): Rule =>
    [`system_call_filter ~${group}`, 250, `Service does not filter system calls of ${group}`, filtersGroup(group)]),
  ["umask", 100, "Files created by service are world-readable by default", (s) => ((s.umask & 0o004) !== 0 ? 1 : 0)],
];

/** A service's checks and its exposure. */
export function unitSecurity(unit: string, service: ServiceSection): UnitSecurity {
  const checks = RULES.map(([key, weight, description, level]) => ({ key, description, weight, level: level(service) }));
  const total = checks.reduce((sum, c) => sum + c.weight, 0);
  const exposed = checks.reduce((sum, c) => sum + c.weight * (1 - c.level), 0);
  return { unit, exposure: Math.round((100 * exposed) / total) / 10, checks };
}

/** Every service of the configuration, most exposed first. */
export function securityReport(units: Iterable<UnitConfig>): UnitSecurity[] {
  const rows: UnitSecurity[] = [];
  for (const u of units) if (u.service) rows.push(unitSecurity(u.name, u.service));
  return rows.sort((a, b) => b.exposure - a.exposure || a.unit.localeCompare(b.unit));
}
