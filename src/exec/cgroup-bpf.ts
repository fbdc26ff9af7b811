// The cgroup BPF programs of a unit (device_allow/device_policy, ip_address_allow/deny,
// socket_bind_allow/deny):
// built by src/exec/bpf-devices.ts, bpf-firewall.ts and bpf-socket-bind.ts, loaded with bpf(2) and attached to
// the unit's cgroup (BPF_F_ALLOW_MULTI) before its first process starts there. The
// attachment is kept with the cgroup (CgroupTree) and released when the cgroup goes: the
// fds are closed (the kernel frees the programs and maps with the cgroup), or, when the
// cgroup stays and the unit's directives changed, detached first.

import { readFileSync, statSync } from "node:fs";
import { BPF_ATTACH, BPF_PROG_TYPE, lpmTrieCreate, mapUpdate, progAttach, progDetach, progLoad } from "../../ffi/bpf.ts";
import { close } from "../../ffi/fd.ts";
import { E } from "../../ffi/constants.ts";
import { errnoName, libc } from "../../ffi/libc.ts";
import type { ServiceSection } from "../config/types.ts";
import { deviceProgram, effectivePolicy, resolveDeviceRules, wantsDeviceProgram, type DeviceLookup } from "./bpf-devices.ts";
import { ACCESS_ALLOWED, ACCESS_DENIED, firewallProgram, lpmKey, readIpList, type IpCheck } from "./bpf-firewall.ts";
import { parseBindRule, socketBindProgram, type BindRule } from "./bpf-socket-bind.ts";
import { encodeEbpf, ebpf } from "./ebpf.ts";
import type { CgroupBpfOptions } from "./cgroup-bpf-options.ts";

export { cgroupBpfOptions, requiresCgroupBpf, wantsCgroupBpf, type CgroupBpfOptions } from "./cgroup-bpf-options.ts";

/** Programs attached to one cgroup, and the maps they use (a CgroupAttachment of src/exec/cgroup.ts). */
export class CgroupBpfAttachment {
  readonly programs: { fd: number; attachType: number }[] = [];
  readonly maps: number[] = [];
  /** key: the directives it was made from; the same ones need no new attachment. */
  constructor(readonly key: string) {}

  /** Lets the programs go: detached from cgroupFd when given, and the fds closed. */
  release(cgroupFd?: number): void {
    for (const p of this.programs.splice(0)) {
      if (cgroupFd !== undefined) progDetach(cgroupFd, p.fd, p.attachType);
      close(p.fd);
    }
    for (const fd of this.maps.splice(0)) close(fd);
  }
}

const fsLookup: DeviceLookup = {
  node(path) {
    try {
      const st = statSync(path);
      if (!st.isCharacterDevice() && !st.isBlockDevice()) return "not a device node";
      // glibc's major() and minor() of a dev_t
      const major = (Math.floor(st.rdev / 2 ** 8) & 0xfff) | (Math.floor(st.rdev / 2 ** 32) & ~0xfff);
      const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 2 ** 12) & ~0xff);
      return { type: st.isCharacterDevice() ? "c" : "b", major, minor };
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? String(error);
    }
  },
  procDevices: () => readFileSync("/proc/devices", "utf8"),
};

/**
 * Loads and attaches the unit's programs to cgroupFd. Returns the attachment (null: the
 * unit has none) with warnings for lines that matched no device, or what failed (then
 * nothing stays attached).
 */
export function attachCgroupBpf(cgroupFd: number, opts: CgroupBpfOptions, lookup: DeviceLookup = fsLookup):
  { attachment: CgroupBpfAttachment | null; warnings: string[] } | { error: string } {
  const attachment = new CgroupBpfAttachment(JSON.stringify(opts));
  const warnings: string[] = [];
  const fail = (error: string) => {
    attachment.release(cgroupFd);
    return { error };
  };
  const attach = (type: number, attachType: number, name: string, program: ReturnType<typeof deviceProgram>): string | null => {
    const loaded = progLoad(type, attachType, encodeEbpf(program), name, true);
    if (typeof loaded !== "number") return `loading the ${name} program: ${errnoName(loaded.errno)}${loaded.log ? ` (${loaded.log.split("\n").slice(-2).join("; ")})` : ""}`;
    const attached = progAttach(cgroupFd, loaded, attachType);
    if (typeof attached !== "number") {
      close(loaded);
      return `attaching the ${name} program to the cgroup: ${errnoName(attached.errno)}`;
    }
    attachment.programs.push({ fd: loaded, attachType });
    return null;
  };

  const policy = effectivePolicy(opts.devicePolicy, opts.privateDevices);
  if (wantsDeviceProgram(policy, opts.deviceAllow ?? [])) {
    const { rules, warnings: w } = resolveDeviceRules(policy, opts.deviceAllow ?? [], lookup);
    warnings.push(...w);
    const problem = attach(BPF_PROG_TYPE.CGROUP_DEVICE, BPF_ATTACH.CGROUP_DEVICE, "hearth_devices", deviceProgram(rules));
    if (problem) return fail(problem);
  }

  if (opts.ipAddressAllow?.length || opts.ipAddressDeny?.length) {
    const checks: IpCheck[] = [];
    for (const [lines, verdict] of [[opts.ipAddressDeny ?? [], ACCESS_DENIED], [opts.ipAddressAllow ?? [], ACCESS_ALLOWED]] as const) {
      const list = readIpList(lines);
      if (typeof list === "string") return fail(list);
      if (list.any) {
        checks.push({ any: true, verdict });
        continue;
      }
      for (const family of [4, 6] as const) {
        const prefixes = list.prefixes.filter((p) => p.family === family);
        if (prefixes.length === 0) continue;
        const map = lpmTrieCreate(4 + (family === 4 ? 4 : 16), 8, prefixes.length);
        if (typeof map !== "number") return fail(`creating an address map: ${errnoName(map.errno)}`);
        attachment.maps.push(map);
        const value = new Uint8Array(8);
        value[0] = verdict;
        for (const prefix of prefixes) {
          const updated = mapUpdate(map, lpmKey(prefix), value);
          if (typeof updated !== "number") return fail(`filling an address map: ${errnoName(updated.errno)}`);
        }
        checks.push({ family, mapFd: map, verdict });
      }
    }
    // "any" checks last, as systemd orders them (the verdict does not depend on the order).
    checks.sort((a, b) => Number("any" in a) - Number("any" in b));
    for (const direction of ["ingress", "egress"] as const) {
      const attachType = direction === "ingress" ? BPF_ATTACH.CGROUP_INET_INGRESS : BPF_ATTACH.CGROUP_INET_EGRESS;
      const problem = attach(BPF_PROG_TYPE.CGROUP_SKB, attachType, `hearth_${direction}`, firewallProgram(direction, checks));
      if (problem) return fail(problem);
    }
  }
  if (opts.socketBindAllow?.length || opts.socketBindDeny?.length) {
    const rules = (lines: string[] = []) => lines.flatMap((line) => line.trim().split(/\s+/).filter(Boolean)).map(parseBindRule);
    const allow = rules(opts.socketBindAllow), deny = rules(opts.socketBindDeny);
    const bad = [...allow, ...deny].find((r) => typeof r === "string");
    if (typeof bad === "string") return fail(bad);
    const program = socketBindProgram(allow as BindRule[], deny as BindRule[]);
    for (const [attachType, name] of [[BPF_ATTACH.CGROUP_INET4_BIND, "hearth_bind4"], [BPF_ATTACH.CGROUP_INET6_BIND, "hearth_bind6"]] as const) {
      const problem = attach(BPF_PROG_TYPE.CGROUP_SOCK_ADDR, attachType, name, program);
      if (problem) return fail(problem);
    }
  }
  return { attachment: attachment.programs.length > 0 ? attachment : null, warnings };
}

/** Whether this kernel loads cgroup programs (CONFIG_CGROUP_BPF), tried with a trivial one; null: not privileged to tell. */
export function probeCgroupBpf(): boolean | null {
  const loaded = progLoad(BPF_PROG_TYPE.CGROUP_DEVICE, BPF_ATTACH.CGROUP_DEVICE, encodeEbpf([ebpf.mov64Imm(0, 1), ebpf.exit()]), "hearth_probe");
  if (typeof loaded !== "number") return loaded.errno === E.EPERM && libc.geteuid() !== 0 ? null : false;
  close(loaded);
  return true;
}
