// What a seccomp filter is written in (include/uapi/linux/seccomp.h, filter.h,
// bpf_common.h, audit.h) and the kernel values its argument checks compare with; the
// architecture's part is one record per architecture, so src/exec/seccomp.ts is written
// once for both. The programs themselves are built in src/exec/seccomp.ts (pure); the
// child loads them with prctl(PR_SET_SECCOMP) (ffi/native.c, SECCOMP in ./constants.ts).

import { CLONE_NEWNS, CLONE_NS, O, SCHED, SCHED_RESET_ON_FORK, type Arch } from "./constants.ts";
import { SYSCALL_NUMBERS } from "./syscalls.ts";

export interface SeccompArch {
  /** systemd's name for it (SystemCallArchitectures=, ConditionArchitecture=). */
  name: string;
  /** AUDIT_ARCH_*: what seccomp_data.arch says for a native call. */
  audit: number;
  /** A bit that marks another ABI's call under the native audit arch (x32 on x86_64, asm/unistd.h); null: none. */
  foreignAbiBit: number | null;
  /** System call numbers by name; a name missing is a call the architecture does not have. */
  syscalls: Readonly<Record<string, number>>;
}

export const SECCOMP_ARCH: Readonly<Record<Arch, SeccompArch>> = {
  x64: { name: "x86-64", audit: 0xc000003e, foreignAbiBit: 0x40000000, syscalls: SYSCALL_NUMBERS.x64 },
  arm64: { name: "arm64", audit: 0xc00000b7, foreignAbiBit: null, syscalls: SYSCALL_NUMBERS.arm64 },
};

/** SECCOMP_RET_* actions (the errno goes in the low 16 bits of RET.ERRNO). */
export const RET = { KILL_PROCESS: 0x80000000, ERRNO: 0x00050000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000 } as const;

/** Classic BPF opcodes (BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, ...). */
export const BPF = { LD_W_ABS: 0x20, JEQ: 0x15, JGE: 0x35, JSET: 0x45, JA: 0x05, RET: 0x06, AND: 0x54 } as const;

/** struct seccomp_data: nr, arch, the instruction pointer, then the 64-bit arguments (low halves first, little-endian). */
export const SECCOMP_DATA = { NR: 0, ARCH: 4, arg: (i: number) => 16 + 8 * i } as const;

/** Errno names hearth accepts for system_call_error_number: in ./constants.ts, which the configuration schema reads without this module's tables. */
export { ERRNO_NUMBERS } from "./constants.ts";

/** Address families (linux/socket.h), by the names systemd takes. */
export const ADDRESS_FAMILIES: Readonly<Record<string, number>> = {
  AF_UNIX: 1, AF_LOCAL: 1, AF_INET: 2, AF_AX25: 3, AF_IPX: 4, AF_APPLETALK: 5, AF_NETROM: 6, AF_BRIDGE: 7,
  AF_ATMPVC: 8, AF_X25: 9, AF_INET6: 10, AF_ROSE: 11, AF_DECnet: 12, AF_NETBEUI: 13, AF_SECURITY: 14,
  AF_KEY: 15, AF_NETLINK: 16, AF_PACKET: 17, AF_ASH: 18, AF_ECONET: 19, AF_ATMSVC: 20, AF_RDS: 21,
  AF_SNA: 22, AF_IRDA: 23, AF_PPPOX: 24, AF_WANPIPE: 25, AF_LLC: 26, AF_IB: 27, AF_MPLS: 28, AF_CAN: 29,
  AF_TIPC: 30, AF_BLUETOOTH: 31, AF_IUCV: 32, AF_RXRPC: 33, AF_ISDN: 34, AF_PHONET: 35,
  AF_IEEE802154: 36, AF_CAIF: 37, AF_ALG: 38, AF_NFC: 39, AF_VSOCK: 40, AF_KCM: 41, AF_QIPCRTR: 42,
  AF_SMC: 43, AF_XDP: 44, AF_MCTP: 45,
};

/** CLONE_NEW* flags (linux/sched.h), by systemd's names for RestrictNamespaces=. */
export const NAMESPACE_FLAGS: Readonly<Record<string, number>> = {
  cgroup: 0x02000000, ipc: CLONE_NS.NEWIPC, net: CLONE_NS.NEWNET, mnt: CLONE_NEWNS, pid: 0x20000000,
  user: 0x10000000, uts: CLONE_NS.NEWUTS, time: 0x00000080,
};

/** The argument values the other directives' checks look at (mman.h, shm.h, fcntl.h, stat.h, sched.h, personality.h). */
export const CHECKED = {
  PROT_WRITE: 0x2, PROT_EXEC: 0x4, SHM_EXEC: 0o100000, O_CREAT: O.CREAT, S_ISUID_ISGID: 0o6000,
  SCHED_RESET_ON_FORK,
  REALTIME_POLICIES: [SCHED.fifo, SCHED.rr, 6 /* SCHED_DEADLINE */] as readonly number[],
  PER_LINUX: 0, PERSONALITY_QUERY: 0xffffffff,
} as const;
