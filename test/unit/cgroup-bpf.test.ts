// The cgroup BPF programs (src/exec/bpf-devices.ts, bpf-firewall.ts): the device program
// run through a small eBPF interpreter here on encoded bytes, the lines read as systemd
// reads them; test/integration/sandbox-cgroup-bpf.test.ts loads them for real.

import { describe, expect, test } from "bun:test";
import {
  deviceProgram, effectivePolicy, majorsOf, parseDeviceAllow, resolveDeviceRules, wantsDeviceProgram, type DeviceLookup,
} from "../../src/exec/bpf-devices.ts";
import { firewallProgram, lpmKey, parseIpLine, readIpList } from "../../src/exec/bpf-firewall.ts";
import { encodeEbpf } from "../../src/exec/ebpf.ts";
import { parseBindRule } from "../../src/exec/bpf-socket-bind.ts";

const READ = 2, WRITE = 4, MKNOD = 1;
const CHAR = 2, BLOCK = 1;

/** Runs a device program (the instructions it uses) on one request; true: allowed. */
function runDevice(bytes: Uint8Array, type: number, access: number, major: number, minor: number): boolean {
  const view = new DataView(bytes.buffer);
  const ctx = [(access << 16) | type, major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10_000; steps++, pc++) {
    const at = pc * 8;
    const code = view.getUint8(at), dst = view.getUint8(at + 1) & 0xf, src = view.getUint8(at + 1) >> 4;
    const off = view.getInt16(at + 2, true), imm = view.getInt32(at + 4, true);
    const cls = code & 7, op = code & 0xf0, useReg = (code & 8) !== 0;
    const value = useReg ? r[src]! : imm;
    if (cls === 1) r[dst] = ctx[off / 4]!; // ldx w from the context (r1)
    else if (cls === 4 || cls === 7) {
      if (op === 0xb0) r[dst] = value;
      else if (op === 0x50) r[dst] = r[dst]! & value;
      else if (op === 0x70) r[dst] = r[dst]! >>> value;
      else throw new Error(`alu op ${op.toString(16)}`);
      r[dst] = r[dst]! >>> 0;
    } else if (cls === 5) {
      if (op === 0x90) return r[0] === 1;
      const taken = op === 0x00 ? true : op === 0x50 ? r[dst] !== (value >>> 0) : op === 0x10 ? r[dst] === (value >>> 0) : null;
      if (taken === null) throw new Error(`jmp op ${op.toString(16)}`);
      if (taken) pc += off;
    } else throw new Error(`class ${cls}`);
  }
  throw new Error("no exit");
}

const noLookup: DeviceLookup = {
  node: (path) => (path === "/dev/ttyS0" ? { type: "c", major: 4, minor: 64 } : "ENOENT"),
  procDevices: () => "Character devices:\n  1 mem\n  4 tty\n  4 ttyS\n  5 /dev/tty\n136 pts\n245 pps\n\nBlock devices:\n  7 loop\n  8 sd\n",
};

function allowed(policy: "auto" | "closed" | "strict", lines: string[]) {
  const { rules } = resolveDeviceRules(policy, lines, noLookup);
  const bytes = encodeEbpf(deviceProgram(rules));
  return (type: number, access: number, major: number, minor: number) => runDevice(bytes, type, access, major, minor);
}

describe("device_allow and device_policy", () => {
  test('"closed" allows the pseudo devices and the listed ones, nothing else', () => {
    const can = allowed("closed", ["/dev/ttyS0 rw"]);
    expect(can(CHAR, READ | WRITE, 1, 3)).toBe(true); // /dev/null
    expect(can(CHAR, READ | WRITE | MKNOD, 1, 5)).toBe(true); // /dev/zero, mknod too
    expect(can(CHAR, READ | WRITE, 136, 4)).toBe(true); // /dev/pts/4
    expect(can(CHAR, MKNOD, 136, 4)).toBe(false); // pts: rw only
    expect(can(CHAR, READ | WRITE, 4, 64)).toBe(true); // the listed /dev/ttyS0
    expect(can(CHAR, MKNOD, 4, 64)).toBe(false); // rw, not m
    expect(can(CHAR, READ, 1, 1)).toBe(false); // /dev/mem
    expect(can(BLOCK, READ, 1, 3)).toBe(false); // a block device 1:3 is not /dev/null
  });

  test('"strict" allows the listed ones only', () => {
    const can = allowed("strict", ["/dev/char/1:3 rw"]);
    expect(can(CHAR, READ | WRITE, 1, 3)).toBe(true);
    expect(can(CHAR, READ, 1, 5)).toBe(false);
    expect(can(CHAR, READ, 5, 0)).toBe(false);
  });

  test('"strict" with nothing listed refuses every device', () => {
    const can = allowed("strict", []);
    expect(can(CHAR, READ, 1, 3)).toBe(false);
  });

  test("char-NAME allows every major /proc/devices gives the name (a glob), block-NAME the block ones; char-* the class", () => {
    const can = allowed("strict", ["char-tty* r", "block-loop", "char-245"]);
    expect(can(CHAR, READ, 4, 1)).toBe(true);
    expect(can(CHAR, WRITE, 4, 1)).toBe(false);
    expect(can(BLOCK, READ | WRITE | MKNOD, 7, 3)).toBe(true);
    expect(can(CHAR, READ, 7, 3)).toBe(false);
    expect(can(CHAR, READ | WRITE, 245, 0)).toBe(true);
    expect(can(CHAR, READ, 5, 0)).toBe(false); // "/dev/tty" is not matched by tty*
    const any = allowed("strict", ["char-* r"]);
    expect(any(CHAR, READ, 99, 9)).toBe(true);
    expect(any(BLOCK, READ, 8, 0)).toBe(false);
  });

  test("a line naming nothing there is a warning and allows nothing", () => {
    const { rules, warnings } = resolveDeviceRules("strict", ["/dev/nonexistent rw", "char-nosuch"], noLookup);
    expect(rules).toEqual([]);
    expect(warnings).toEqual(["device_allow: /dev/nonexistent: ENOENT", 'device_allow: no character device driver named "nosuch" in /proc/devices']);
  });

  test('"auto" has no program unless device_allow lists something; private_devices makes it "closed"', () => {
    expect(wantsDeviceProgram("auto", [])).toBe(false);
    expect(wantsDeviceProgram("auto", ["/dev/null"])).toBe(true);
    expect(effectivePolicy(undefined, true)).toBe("closed");
    expect(effectivePolicy("strict", true)).toBe("strict");
    const can = allowed("auto", ["/dev/ttyS0 r"]);
    expect(can(CHAR, READ, 1, 3)).toBe(true); // the pseudo devices come with a list
    expect(can(CHAR, READ, 1, 1)).toBe(false);
  });

  test("lines are read as systemd reads them; a bad one is an error", () => {
    expect(parseDeviceAllow("/dev/null")).toEqual({ node: "/dev/null", access: READ | WRITE | MKNOD });
    expect(parseDeviceAllow("char-pps rw")).toEqual({ type: "c", name: "pps", access: READ | WRITE });
    expect(parseDeviceAllow("/dev/null rwx")).toBe('"rwx" in "/dev/null rwx" is not made of r, w and m');
    expect(parseDeviceAllow("tty0 r")).toBe('"tty0" is neither a /dev/ path nor char-NAME or block-NAME');
    expect(majorsOf(noLookup.procDevices(), "b", "s?")).toEqual([8]);
  });
});

describe("ip_address_allow and ip_address_deny", () => {
  test("addresses, prefixes and systemd's keywords", () => {
    expect(parseIpLine("any")).toMatchObject([{ family: 4, length: 0 }, { family: 6, length: 0 }]);
    expect(parseIpLine("localhost")).toMatchObject([{ family: 4, length: 8 }, { family: 6, length: 128 }]);
    expect(parseIpLine("10.1.2.3/16 fe80::1")).toMatchObject([
      { family: 4, length: 16, bytes: Uint8Array.from([10, 1, 2, 3]) },
      { family: 6, length: 128, bytes: Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) },
    ]);
    expect(parseIpLine("::ffff:1.2.3.4")).toMatchObject([{ family: 6, bytes: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]) }]);
    expect(parseIpLine("10.0.0.0/33")).toBe('"10.0.0.0/33": prefix length over 32');
    expect(parseIpLine("example.org")).toBe('"example.org" is not an address, a prefix or any/localhost/link-local/multicast');
    expect(readIpList(["any"])).toMatchObject({ any: true });
    expect(readIpList(["0.0.0.0/0"])).toMatchObject({ any: false });
  });

  test("an LPM key is the prefix length in host order, then the address", () => {
    expect([...lpmKey({ family: 4, bytes: Uint8Array.from([127, 0, 0, 0]), length: 8 })]).toEqual([8, 0, 0, 0, 127, 0, 0, 0]);
  });

  test("the program drops a packet only when deny matched and allow did not", () => {
    const program = firewallProgram("egress", [{ family: 4, mapFd: 7, verdict: 2 }, { any: true, verdict: 1 }]);
    const tail = program.slice(-4);
    expect(tail.map((i) => [i.code, i.imm])).toEqual([[0xb7, 1], [0x55, 2], [0xb7, 0], [0x95, 0]]);
    // the map is named by its fd in a 64-bit immediate load
    expect(program.some((i) => i.code === 0x18 && i.src === 1 && i.imm === 7)).toBe(true);
  });
});

describe("socket_bind_allow and socket_bind_deny", () => {
  test("rules are read as systemd reads them: any, [ipv4:|ipv6:][tcp:|udp:]PORTS", () => {
    expect(parseBindRule("any")).toEqual({ family: null, protocol: null, low: 0, high: 65535 });
    expect(parseBindRule("tcp:8080")).toEqual({ family: null, protocol: 6, low: 8080, high: 8080 });
    expect(parseBindRule("ipv6:udp:5000-5010")).toEqual({ family: 10, protocol: 17, low: 5000, high: 5010 });
    expect(parseBindRule("ipv4")).toEqual({ family: 2, protocol: null, low: 0, high: 65535 });
    expect(parseBindRule("tcp:70000")).toBe('"tcp:70000": "70000" is not a port (0-65535) or a range of them');
    expect(parseBindRule("sctp:80")).toBe('"sctp:80" is not [ipv4:|ipv6:][tcp:|udp:]PORTS or any');
  });
});
