// The sandbox keys checked at load, by the same code that plans the mounts and builds the
// seccomp filters at spawn (src/exec/mount-plan.ts, src/exec/seccomp.ts), so a bad family
// name or bind path is an error at its file:line instead of a failed start.
// That code is loaded only for a unit that has such keys (each module a chunk of its own
// in the executable, read synchronously by require).
import type { Sandbox } from "../exec/mount-plan.ts";
import type { SeccompOptions } from "../exec/seccomp-options.ts";
import { delegation } from "../exec/delegate.ts"; // tiny and pure: eager
import type { ServiceSection } from "./types.ts";

const planMounts: typeof import("../exec/mount-plan.ts").planMounts = (...a) => require("../exec/mount-plan.ts").planMounts(...a);
const buildSeccomp: typeof import("../exec/seccomp.ts").buildSeccomp = (...a) => require("../exec/seccomp.ts").buildSeccomp(...a);
const parseDeviceAllow: typeof import("../exec/bpf-devices.ts").parseDeviceAllow = (...a) => require("../exec/bpf-devices.ts").parseDeviceAllow(...a);
const parseIpLine: typeof import("../exec/bpf-firewall.ts").parseIpLine = (...a) => require("../exec/bpf-firewall.ts").parseIpLine(...a);
const parseBindRule: typeof import("../exec/bpf-socket-bind.ts").parseBindRule = (...a) => require("../exec/bpf-socket-bind.ts").parseBindRule(...a);

const MOUNT_KEYS: [keyof ServiceSection, keyof Sandbox][] = [
  ["read_write_paths", "readWritePaths"], ["exec_paths", "execPaths"], ["no_exec_paths", "noExecPaths"],
  ["temporary_file_system", "temporaryFileSystem"], ["bind_paths", "bindPaths"], ["bind_read_only_paths", "bindReadOnlyPaths"],
];
const SECCOMP_KEYS: [keyof ServiceSection, keyof SeccompOptions][] = [
  ["system_call_filter", "systemCallFilter"], ["system_call_log", "systemCallLog"],
  ["system_call_architectures", "systemCallArchitectures"], ["restrict_address_families", "restrictAddressFamilies"],
  ["restrict_namespaces", "restrictNamespaces"],
];

/** [key, what is wrong] for each sandbox key whose value the spawner would refuse. */
export function sandboxProblems(service: ServiceSection): [string, string][] {
  const problems: [string, string][] = [];
  for (const [key, field] of MOUNT_KEYS) {
    const value = service[key];
    if (!Array.isArray(value) || value.length === 0) continue;
    const plan = planMounts({ [field]: value }, []);
    if (typeof plan === "string") problems.push([key, plan.replace(`${key}: `, "")]);
  }
  for (const [key, field] of SECCOMP_KEYS) {
    const value = service[key];
    if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
    const built = buildSeccomp({ [field]: value });
    if (typeof built === "string") problems.push([key, built.replace(`${key}: `, "")]);
  }
  for (const line of service.device_allow ?? []) {
    const entry = parseDeviceAllow(line);
    if (typeof entry === "string") problems.push(["device_allow", entry]);
  }
  for (const key of ["ip_address_allow", "ip_address_deny"] as const) {
    for (const line of service[key] ?? []) {
      const parsed = parseIpLine(line);
      if (typeof parsed === "string") problems.push([key, parsed]);
    }
  }
  for (const key of ["socket_bind_allow", "socket_bind_deny"] as const) {
    for (const rule of (service[key] ?? []).flatMap((line) => line.trim().split(/\s+/).filter(Boolean))) {
      const parsed = parseBindRule(rule);
      if (typeof parsed === "string") problems.push([key, parsed]);
    }
  }
  const delegated = delegation(service.delegate);
  if (delegated !== null && typeof delegated === "object" && "problem" in delegated) problems.push(["delegate", delegated.problem]);
  return problems;
}
