// socket_bind_allow and socket_bind_deny (systemd's SocketBindAllow=, SocketBindDeny=): the
// program attached to a unit's cgroup at bind(2) of IPv4 and IPv6 sockets
// (BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND and INET6_BIND). Pure.
//
// systemd's rule (src/core/bpf/socket_bind/socket-bind.bpf.c): a bind that matches an
// allow rule is allowed; else one that matches a deny rule fails with EPERM; else it is
// allowed. A rule is "any", or [ipv4:|ipv6:][tcp:|udp:]PORTS, PORTS a port or a range
// "N-M" (matching the port the caller asked for, 0 included); a rule without ports
// matches every port of its family and protocol.

import { SOCK_ADDR } from "../../ffi/bpf.ts";
import { ebpf, JOP, type EbpfInsn } from "./ebpf.ts";

export interface BindRule { family: 2 | 10 | null; protocol: 6 | 17 | null; low: number; high: number }

/** One rule; a string says what is wrong. */
export function parseBindRule(text: string): BindRule | string {
  const rule: BindRule = { family: null, protocol: null, low: 0, high: 65535 };
  if (text.trim() === "any") return rule;
  const parts = text.trim().split(":");
  if (parts[0] === "ipv4" || parts[0] === "ipv6") rule.family = parts.shift() === "ipv4" ? 2 : 10;
  if (parts[0] === "tcp" || parts[0] === "udp") rule.protocol = parts.shift() === "tcp" ? 6 : 17;
  if (parts.length > 1) return `"${text}" is not [ipv4:|ipv6:][tcp:|udp:]PORTS or any`;
  if (parts.length === 1) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(parts[0]!);
    const low = m ? Number(m[1]) : NaN;
    const high = m?.[2] === undefined ? low : Number(m[2]);
    if (!m || high > 65535 || low > high) return `"${text}": "${parts[0]}" is not a port (0-65535) or a range of them`;
    rule.low = low;
    rule.high = high;
  }
  if (parts.length === 0 && rule.family === null && rule.protocol === null) return `"${text}" names nothing: write any`;
  return rule;
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4;

/** The program: allow rules jump to "allow", deny rules to "deny"; nothing matched: allow. */
export function socketBindProgram(allow: readonly BindRule[], deny: readonly BindRule[]): EbpfInsn[] {
  const program: EbpfInsn[] = [
    ebpf.ldxW(R2, R1, SOCK_ADDR.userFamily), ebpf.ldxW(R3, R1, SOCK_ADDR.protocol),
    ebpf.ldxW(R4, R1, SOCK_ADDR.userPort), ebpf.be16(R4),
  ];
  const jumps: { at: number; to: "allow" | "deny" }[] = [];
  for (const [rules, to] of [[allow, "allow"], [deny, "deny"]] as const) {
    for (const rule of rules) {
      const tests: ((skip: number) => EbpfInsn)[] = [];
      if (rule.family !== null) tests.push((skip) => ebpf.jmpImm(JOP.JNE, R2, rule.family!, skip));
      if (rule.protocol !== null) tests.push((skip) => ebpf.jmpImm(JOP.JNE, R3, rule.protocol!, skip));
      if (rule.low > 0) tests.push((skip) => ebpf.jmpImm(JOP.JLT, R4, rule.low, skip));
      if (rule.high < 65535) tests.push((skip) => ebpf.jmpImm(JOP.JGT, R4, rule.high, skip));
      tests.forEach((test, n) => program.push(test(tests.length - n)));
      jumps.push({ at: program.length, to });
      program.push(ebpf.ja(0));
    }
  }
  const allowAt = program.length;
  program.push(ebpf.mov64Imm(R0, 1), ebpf.exit());
  const denyAt = program.length;
  program.push(ebpf.mov64Imm(R0, 0), ebpf.exit());
  for (const { at, to } of jumps) program[at] = ebpf.ja((to === "allow" ? allowAt : denyAt) - at - 1);
  return program;
}
