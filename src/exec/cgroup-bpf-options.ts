// The cgroup BPF directives of a unit and whether it needs programs at all: what the
// manager asks before every start. The programs (./cgroup-bpf.ts and its builders) are
// loaded only for a unit that has some.
import type { ServiceSection } from "../config/types.ts";

export type DevicePolicy = "auto" | "closed" | "strict";

/** The directives, as the unit's file says them. */
export interface CgroupBpfOptions {
  devicePolicy?: DevicePolicy;
  deviceAllow?: string[];
  privateDevices?: boolean;
  ipAddressAllow?: string[];
  ipAddressDeny?: string[];
  socketBindAllow?: string[];
  socketBindDeny?: string[];
}

export function cgroupBpfOptions(cfg: ServiceSection): CgroupBpfOptions {
  return {
    devicePolicy: cfg.device_policy, deviceAllow: cfg.device_allow, privateDevices: cfg.private_devices,
    ipAddressAllow: cfg.ip_address_allow, ipAddressDeny: cfg.ip_address_deny,
    socketBindAllow: cfg.socket_bind_allow, socketBindDeny: cfg.socket_bind_deny,
  };
}

/** Whether the unit needs cgroup BPF: it fails to start where it cannot have it. */
export function wantsCgroupBpf(opts: CgroupBpfOptions): boolean {
  return wantsDeviceProgram(effectivePolicy(opts.devicePolicy, opts.privateDevices), opts.deviceAllow ?? [])
    || Boolean(opts.ipAddressAllow?.length || opts.ipAddressDeny?.length || opts.socketBindAllow?.length || opts.socketBindDeny?.length);
}

/**
 * Whether the file asks for them itself: private_devices alone implies a device program,
 * applied where the kernel and the cgroup allow, its /dev of its own being the confinement
 * the file asks for; the explicit keys fail the start instead.
 */
export function requiresCgroupBpf(opts: CgroupBpfOptions): boolean {
  return (opts.devicePolicy ?? "auto") !== "auto" || Boolean(opts.deviceAllow?.length || opts.ipAddressAllow?.length
    || opts.ipAddressDeny?.length || opts.socketBindAllow?.length || opts.socketBindDeny?.length);
}

/** The policy in force: private_devices turns "auto" into "closed". */
export function effectivePolicy(policy: DevicePolicy | undefined, privateDevices: boolean | undefined): DevicePolicy {
  return (policy ?? "auto") === "auto" && privateDevices ? "closed" : policy ?? "auto";
}

/** Whether the unit gets a device program at all. */
export function wantsDeviceProgram(policy: DevicePolicy, allow: readonly string[]): boolean {
  return policy !== "auto" || allow.length > 0;
}

