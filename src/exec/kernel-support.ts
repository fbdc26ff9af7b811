// What the running kernel can do of the sandbox, and which of a unit's directives it
// cannot honour. A unit is never started less confined than its file says: where the
// kernel lacks a feature the spawn fails at that step (and says which); this tells it
// ahead, in `hearth check` and once when the manager starts.

import { existsSync, readFileSync } from "node:fs";
import type { ServiceSection } from "../config/types.ts";
import { isSet, MOUNT_NAMESPACE_KEYS } from "../config/sandbox-keys.ts";

const CGROUP_BPF_KEYS = ["device_policy", "device_allow", "ip_address_allow", "ip_address_deny", "socket_bind_allow", "socket_bind_deny"] as const;

export interface KernelSupport {
  /** CONFIG_SECCOMP_FILTER: /proc/sys/kernel/seccomp/actions_avail lists "errno". */
  seccompFilter: boolean;
  /** Namespace types the kernel has (/proc/self/ns/*). */
  namespaces: Set<string>;
  /** CONFIG_CGROUP_BPF: a trivial cgroup device program loads; null: not root, cannot tell. Absent: not probed. */
  cgroupBpf?: boolean | null;
}

/** The running kernel's support, from /proc. */
export function probeKernel(): KernelSupport {
  let seccompFilter = false;
  try {
    seccompFilter = readFileSync("/proc/sys/kernel/seccomp/actions_avail", "utf8").split(/\s+/).includes("errno");
  } catch {}
  const namespaces = new Set(["mnt", "net", "ipc", "uts", "user", "pid", "cgroup"].filter((ns) => existsSync(`/proc/self/ns/${ns}`)));
  // Loading a program (and the BPF code, a chunk of its own) only when a unit asks whether it can.
  let cgroupBpf: boolean | null | undefined;
  const probeCgroupBpf = (): boolean | null => (require("./cgroup-bpf.ts") as typeof import("./cgroup-bpf.ts")).probeCgroupBpf();
  return {
    seccompFilter, namespaces,
    get cgroupBpf() { return cgroupBpf === undefined ? (cgroupBpf = probeCgroupBpf()) : cgroupBpf; },
  };
}

const SECCOMP_KEYS = [
  "system_call_filter", "system_call_architectures", "system_call_log", "restrict_address_families", "restrict_namespaces",
  "restrict_realtime", "restrict_suid_sgid", "lock_personality", "memory_deny_write_execute", "protect_clock", "protect_hostname",
  "private_devices", "protect_kernel_modules", "protect_kernel_logs", // their system call refusals
] as const;

/** The directives of a service the kernel cannot honour, each with why: the unit would fail to start. */
export function unsupportedDirectives(service: ServiceSection, kernel: KernelSupport): string[] {
  const out: string[] = [];
  const needs = (keys: readonly string[], what: string, have: () => boolean) => {
    const set = keys.filter((key) => isSet(service[key as keyof ServiceSection]));
    if (set.length > 0 && !have()) out.push(`${set.join(", ")} need${set.length === 1 ? "s" : ""} ${what}, which this kernel lacks: the unit will fail to start`);
  };
  needs(SECCOMP_KEYS, "seccomp filters (CONFIG_SECCOMP_FILTER)", () => kernel.seccompFilter);
  needs(MOUNT_NAMESPACE_KEYS, "mount namespaces", () => kernel.namespaces.has("mnt"));
  needs(["private_network"], "network namespaces", () => kernel.namespaces.has("net"));
  needs(["private_ipc"], "IPC namespaces", () => kernel.namespaces.has("ipc"));
  needs(["protect_hostname"], "UTS namespaces", () => kernel.namespaces.has("uts"));
  needs(["private_users"], "user namespaces", () => kernel.namespaces.has("user"));
  needs(CGROUP_BPF_KEYS, "cgroup BPF programs (CONFIG_CGROUP_BPF)", () => kernel.cgroupBpf !== false);
  return out;
}
