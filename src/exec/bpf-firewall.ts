// ip_address_allow and ip_address_deny (systemd's IPAddressAllow=, IPAddressDeny=): the
// programs attached to a unit's cgroup for its packets in (BPF_CGROUP_INET_INGRESS, the
// source address judged) and out (EGRESS, the destination), with LPM-trie maps of the
// prefixes. Pure: the maps are made and filled by src/exec/cgroup-bpf.ts.
//
// systemd's rule (src/core/bpf-firewall.c): a packet whose address matches ip_address_allow
// passes; else one that matches ip_address_deny is dropped; else it passes. Allow wins. A
// dropped packet sent by the unit fails its send or connect with EPERM.
// Items (space-separated, several per line): an address with an optional prefix length
// ("10.0.0.0/8", "fe80::1", "::/0") or a keyword: any, localhost (127.0.0.0/8, ::1/128),
// link-local (169.254.0.0/16, fe80::/64), multicast (224.0.0.0/4, ff00::/8).

import { isIP } from "node:net";
import { BPF_FUNC, IP_ADDRESS_AT as ADDRESS_AT, SKB_PROTOCOL as PROTOCOL, SK_BUFF_PROTOCOL } from "../../ffi/bpf.ts";
import { ebpf, JOP, OP, type EbpfInsn } from "./ebpf.ts";

export interface IpPrefix { family: 4 | 6; bytes: Uint8Array; length: number }

const KEYWORDS: Record<string, string[]> = {
  any: ["0.0.0.0/0", "::/0"],
  localhost: ["127.0.0.0/8", "::1/128"],
  "link-local": ["169.254.0.0/16", "fe80::/64"],
  multicast: ["224.0.0.0/4", "ff00::/8"],
};

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

function ipv6Bytes(text: string): Uint8Array {
  let head = text, tail = "";
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const b = ipv4Bytes(embedded[1]!);
    text = text.slice(0, -embedded[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  [head, tail = ""] = text.includes("::") ? text.split("::") as [string, string] : [text, ""];
  const hs = head === "" ? [] : head.split(":");
  const ts = tail === "" ? [] : tail.split(":");
  const groups = text.includes("::") ? [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts] : hs;
  const bytes = new Uint8Array(16);
  groups.forEach((g: string, n: number) => {
    const v = parseInt(g, 16);
    bytes[2 * n] = v >> 8;
    bytes[2 * n + 1] = v & 0xff;
  });
  return bytes;
}

/** The prefixes of one line; a string says what is wrong. */
export function parseIpLine(line: string): IpPrefix[] | string {
  const out: IpPrefix[] = [];
  for (const item of line.trim().split(/\s+/).filter(Boolean)) {
    if (KEYWORDS[item]) {
      for (const k of KEYWORDS[item]!) out.push(...(parseIpLine(k) as IpPrefix[]));
      continue;
    }
    const [address = "", length, ...rest] = item.split("/");
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return `"${item}" is not an address, a prefix or any/localhost/link-local/multicast`;
    const max = family === 4 ? 32 : 128;
    if (length !== undefined && (!/^\d+$/.test(length) || Number(length) > max)) return `"${item}": prefix length over ${max}`;
    out.push({ family: family as 4 | 6, bytes: family === 4 ? ipv4Bytes(address) : ipv6Bytes(address), length: length === undefined ? max : Number(length) });
  }
  return out;
}

/** Every prefix of the lines, and whether one is "any" (all of both families: no map needed). */
export function readIpList(lines: readonly string[]): { prefixes: IpPrefix[]; any: boolean } | string {
  const prefixes: IpPrefix[] = [];
  for (const line of lines) {
    const parsed = parseIpLine(line);
    if (typeof parsed === "string") return parsed;
    prefixes.push(...parsed);
  }
  const anyOf = (family: 4 | 6) => prefixes.some((p) => p.family === family && p.length === 0);
  return { prefixes, any: anyOf(4) && anyOf(6) };
}

/** struct bpf_lpm_trie_key: u32 prefixlen (host order), then the address (network order). */
export function lpmKey(prefix: IpPrefix): Uint8Array {
  const key = new Uint8Array(4 + prefix.bytes.length);
  new DataView(key.buffer).setUint32(0, prefix.length, true);
  key.set(prefix.bytes, 4);
  return key;
}

export const ACCESS_ALLOWED = 1;
export const ACCESS_DENIED = 2;

/** One list's check: a map of one family (by its fd), or "any". */
export type IpCheck = { family: 4 | 6; mapFd: number; verdict: number } | { any: true; verdict: number };

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R8 = 8, R10 = 10;

/**
 * The program of one direction: r8 collects ACCESS_ALLOWED and ACCESS_DENIED bits from
 * the checks (deny ones first, as systemd orders them; the order does not change the
 * verdict), and the packet is dropped only when r8 holds DENIED alone.
 */
export function firewallProgram(direction: "ingress" | "egress", checks: readonly IpCheck[]): EbpfInsn[] {
  const program: EbpfInsn[] = [ebpf.mov64(R6, R1), ebpf.ldxW(R7, R6, SK_BUFF_PROTOCOL), ebpf.mov32Imm(R8, 0)];
  for (const check of checks) {
    if ("any" in check) {
      program.push(ebpf.alu32Imm(OP.OR, R8, check.verdict));
      continue;
    }
    const size = check.family === 4 ? 4 : 16;
    const block = [
      ebpf.mov64(R1, R6), ebpf.mov32Imm(R2, ADDRESS_AT[check.family][direction]),
      ebpf.mov64(R3, R10), ebpf.alu64Imm(OP.ADD, R3, -size), ebpf.mov32Imm(R4, size),
      ebpf.call(BPF_FUNC.skb_load_bytes),
      ...ebpf.ldMapFd(R1, check.mapFd),
      ebpf.mov64(R2, R10), ebpf.alu64Imm(OP.ADD, R2, -size - 4), ebpf.stW(R2, 0, size * 8),
      ebpf.call(BPF_FUNC.map_lookup_elem),
      ebpf.jmpImm(JOP.JEQ, R0, 0, 1), ebpf.alu32Imm(OP.OR, R8, check.verdict),
    ];
    program.push(ebpf.jmpImm(JOP.JNE, R7, PROTOCOL[check.family], block.length), ...block);
  }
  return [...program, ebpf.mov64Imm(R0, 1), ebpf.jmpImm(JOP.JNE, R8, ACCESS_DENIED, 1), ebpf.mov64Imm(R0, 0), ebpf.exit()];
}
