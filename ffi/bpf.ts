// The bpf(2) system call, for the cgroup programs of src/exec/cgroup-bpf.ts: every
// command number, type and union bpf_attr layout hearth uses, from include/uapi/linux/bpf.h
// (Linux 6.1; the same on x86_64 and aarch64). Needs CAP_SYS_ADMIN (or CAP_BPF with
// CAP_NET_ADMIN): hearth runs as root.

import { ptr } from "bun:ffi";
import { ARCH, E } from "./constants.ts";
import { lastErrno, libc } from "./libc.ts";

/** __NR_bpf: arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h. */
const SYS_BPF = ARCH === "x64" ? 321 : 280;

/** enum bpf_cmd. */
const CMD = { MAP_CREATE: 0, MAP_UPDATE_ELEM: 2, PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9 } as const;

/** enum bpf_prog_type. */
export const BPF_PROG_TYPE = { CGROUP_SKB: 8, CGROUP_DEVICE: 15, CGROUP_SOCK_ADDR: 18 } as const;
/** enum bpf_attach_type. */
export const BPF_ATTACH = { CGROUP_INET_INGRESS: 0, CGROUP_INET_EGRESS: 1, CGROUP_DEVICE: 6, CGROUP_INET4_BIND: 8, CGROUP_INET6_BIND: 9 } as const;
/** enum bpf_map_type. */
export const BPF_MAP_TYPE_LPM_TRIE = 11;
/** Map flags: an LPM trie must not be preallocated. */
const BPF_F_NO_PREALLOC = 1;
/** Attach flags: programs of the cgroups above run too, and several may be attached here. */
const BPF_F_ALLOW_MULTI = 2;
/** enum bpf_func_id: the helpers the programs call. */
export const BPF_FUNC = { map_lookup_elem: 1, skb_load_bytes: 26 } as const;

/** struct bpf_cgroup_dev_ctx: access_type (type | access << 16), major, minor. */
export const DEVCG_CTX = { accessType: 0, major: 4, minor: 8 } as const;
export const BPF_DEVCG_ACC = { MKNOD: 1, READ: 2, WRITE: 4 } as const;
export const BPF_DEVCG_DEV = { BLOCK: 1, CHAR: 2 } as const;
/** struct bpf_sock_addr: user_family, user_port (network order, in the low 16 bits), protocol. */
export const SOCK_ADDR = { userFamily: 0, userPort: 24, protocol: 36 } as const;
/** struct __sk_buff: the protocol field (ETH_P_* in network byte order). */
export const SK_BUFF_PROTOCOL = 16;

/** ETH_P_IP and ETH_P_IPV6 as __sk_buff.protocol holds them (network order, read as a little-endian word). */
export const SKB_PROTOCOL = { 4: 0x0008, 6: 0xdd86 } as const;
/** The addresses in the IP header (a cgroup skb program's data starts there): struct iphdr saddr/daddr, struct ip6_hdr ip6_src/ip6_dst. */
export const IP_ADDRESS_AT = { 4: { ingress: 12, egress: 16 }, 6: { ingress: 8, egress: 24 } } as const;

/** union bpf_attr is read up to the size passed; the rest must be zero, which it is. */
const ATTR_SIZE = 128;

function bpf(cmd: number, attr: Buffer): number | { errno: number } {
  for (;;) {
    const result = Number(libc.syscall(SYS_BPF, cmd, ptr(attr), ATTR_SIZE, 0, 0));
    if (result >= 0) return result;
    const errno = lastErrno();
    if (errno !== E.EINTR) return { errno };
  }
}

const address = (buffer: Buffer) => BigInt(ptr(buffer));

/**
 * BPF_PROG_LOAD: { u32 prog_type; u32 insn_cnt; u64 insns; u64 license; u32 log_level;
 * u32 log_size; u64 log_buf; u32 kern_version; u32 prog_flags; char prog_name[16];
 * u32 prog_ifindex; u32 expected_attach_type; }. With log: the verifier's complaint.
 */
export function progLoad(type: number, attachType: number, insns: Uint8Array, name: string, log = false): number | { errno: number; log: string } {
  const attr = Buffer.alloc(ATTR_SIZE);
  const code = Buffer.from(insns);
  const license = Buffer.from("GPL\0");
  const logBuf = Buffer.alloc(log ? 65536 : 0);
  attr.writeUInt32LE(type, 0);
  attr.writeUInt32LE(code.length / 8, 4);
  attr.writeBigUInt64LE(address(code), 8);
  attr.writeBigUInt64LE(address(license), 16);
  if (log) {
    attr.writeUInt32LE(1, 24);
    attr.writeUInt32LE(logBuf.length, 28);
    attr.writeBigUInt64LE(address(logBuf), 32);
  }
  attr.write(name.slice(0, 15), 48, "ascii");
  attr.writeUInt32LE(attachType, 68);
  const result = bpf(CMD.PROG_LOAD, attr);
  if (typeof result === "number") return result;
  return { errno: result.errno, log: log ? logBuf.toString("utf8", 0, Math.max(0, logBuf.indexOf(0))).trim() : "" };
}

/** BPF_MAP_CREATE of an LPM trie: { u32 map_type; u32 key_size; u32 value_size; u32 max_entries; u32 map_flags; }. */
export function lpmTrieCreate(keySize: number, valueSize: number, maxEntries: number): number | { errno: number } {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(BPF_MAP_TYPE_LPM_TRIE, 0);
  attr.writeUInt32LE(keySize, 4);
  attr.writeUInt32LE(valueSize, 8);
  attr.writeUInt32LE(maxEntries, 12);
  attr.writeUInt32LE(BPF_F_NO_PREALLOC, 16);
  return bpf(CMD.MAP_CREATE, attr);
}

/** BPF_MAP_UPDATE_ELEM (BPF_ANY): { u32 map_fd; u64 key (at 8); u64 value; u64 flags; }. */
export function mapUpdate(mapFd: number, key: Uint8Array, value: Uint8Array): number | { errno: number } {
  const attr = Buffer.alloc(ATTR_SIZE);
  const k = Buffer.from(key);
  const v = Buffer.from(value);
  attr.writeUInt32LE(mapFd, 0);
  attr.writeBigUInt64LE(address(k), 8);
  attr.writeBigUInt64LE(address(v), 16);
  return bpf(CMD.MAP_UPDATE_ELEM, attr);
}

/** BPF_PROG_ATTACH / DETACH: { u32 target_fd; u32 attach_bpf_fd; u32 attach_type; u32 attach_flags; }. */
function attachAttr(cgroupFd: number, progFd: number, attachType: number, flags: number): Buffer {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(cgroupFd, 0);
  attr.writeUInt32LE(progFd, 4);
  attr.writeUInt32LE(attachType, 8);
  attr.writeUInt32LE(flags, 12);
  return attr;
}

/** Attaches beside the programs already there (BPF_F_ALLOW_MULTI), as systemd does. */
export function progAttach(cgroupFd: number, progFd: number, attachType: number): number | { errno: number } {
  return bpf(CMD.PROG_ATTACH, attachAttr(cgroupFd, progFd, attachType, BPF_F_ALLOW_MULTI));
}

/** Detaches that one program (a multi attachment is named by its fd). */
export function progDetach(cgroupFd: number, progFd: number, attachType: number): number | { errno: number } {
  return bpf(CMD.PROG_DETACH, attachAttr(cgroupFd, progFd, attachType, 0));
}
