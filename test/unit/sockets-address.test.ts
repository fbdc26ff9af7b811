// Listen addresses and peer addresses (src/config/socket-address.ts): pure text <-> bytes.
import { describe, expect, test } from "bun:test";
import {
  describeListen, formatAddress, formatIPv6, parseIPv4, parseIPv6, parseListen, remoteEnvironment,
  type ListenSpec,
} from "../../src/config/socket-address.ts";

const v6 = (text: string) => parseIPv6(text)!;

describe("parseListen", () => {
  test("unix paths and abstract names", () => {
    expect(parseListen("stream", "/run/foo.sk")).toEqual({ kind: "stream", address: { family: "unix", path: "/run/foo.sk" }, anyAddress: false });
    expect(parseListen("seqpacket", "@foo")).toEqual({ kind: "seqpacket", address: { family: "unix", path: "@foo" }, anyAddress: false });
    expect(parseListen("stream", "@")).toContain("needs a name");
  });

  test("IPv4 address and port", () => {
    const spec = parseListen("datagram", "127.0.0.1:5353") as Extract<ListenSpec, { address: unknown }>;
    expect(spec.address).toEqual({ family: "inet", ip: new Uint8Array([127, 0, 0, 1]), port: 5353 });
    expect(spec.anyAddress).toBe(false);
  });

  test("IPv6 address and port, with a numeric or named scope", () => {
    const spec = parseListen("stream", "[::1]:80") as Extract<ListenSpec, { address: unknown }>;
    expect(spec.address).toEqual({ family: "inet6", ip: v6("::1"), port: 80, scopeId: 0 });
    const scoped = parseListen("stream", "[fe80::1%3]:80") as Extract<ListenSpec, { address: unknown }>;
    expect(scoped.address).toMatchObject({ scopeId: 3 });
    expect(scoped.scopeInterface).toBeUndefined();
    const named = parseListen("stream", "[fe80::1%eth0]:80") as Extract<ListenSpec, { address: unknown }>;
    expect(named.scopeInterface).toBe("eth0");
  });

  test("a port alone listens on every address, IPv6 and IPv4", () => {
    const spec = parseListen("stream", "8080") as Extract<ListenSpec, { address: unknown }>;
    expect(spec.address).toEqual({ family: "inet6", ip: new Uint8Array(16), port: 8080, scopeId: 0 });
    expect(spec.anyAddress).toBe(true);
  });

  test("FIFOs take absolute paths", () => {
    expect(parseListen("fifo", "/run/foo.fifo")).toEqual({ kind: "fifo", path: "/run/foo.fifo" });
    expect(parseListen("fifo", "foo")).toContain("absolute path");
  });

  test("netlink: a family by systemd's name or number, and the groups mask as systemd reads them", () => {
    expect(parseListen("netlink", "kobject-uevent 1")).toEqual({ kind: "netlink", protocol: 15, groups: 1 });
    expect(parseListen("netlink", "route 1361")).toEqual({ kind: "netlink", protocol: 0, groups: 1361 });
    expect(parseListen("netlink", "audit")).toEqual({ kind: "netlink", protocol: 9, groups: 0 });
    expect(parseListen("netlink", "  generic\t 0x10 ")).toEqual({ kind: "netlink", protocol: 16, groups: 16 });
    expect(parseListen("netlink", "rdma 010")).toEqual({ kind: "netlink", protocol: 20, groups: 8 }); // strtoul base 0: octal
    expect(parseListen("netlink", "21 4294967295")).toEqual({ kind: "netlink", protocol: 21, groups: 0xffff_ffff });
    expect(parseListen("netlink", "uevent 1")).toContain('unknown netlink family "uevent" (route, firewall, inet-diag');
    expect(parseListen("netlink", "toString")).toContain("unknown netlink family");
    expect(parseListen("netlink", "")).toContain("needs a family");
    expect(parseListen("netlink", "route -1")).toContain('netlink groups "-1" are not a number');
    expect(parseListen("netlink", "route 4294967296")).toContain("not a number from 0 to 4294967295");
    expect(parseListen("netlink", "route 1 2")).toContain('netlink groups "1 2"');
    expect(parseListen("netlink", "2147483648")).toContain("unknown netlink family");
  });

  test("special files take absolute paths", () => {
    expect(parseListen("special", "/dev/rfkill")).toEqual({ kind: "special", path: "/dev/rfkill" });
    expect(parseListen("special", "dev/rfkill")).toContain("a special file needs an absolute path");
  });

  test("what cannot be read says why", () => {
    expect(parseListen("stream", "0")).toContain("not a port");
    expect(parseListen("stream", "65536")).toContain("not a port");
    expect(parseListen("stream", "localhost:80")).toContain("host names are not resolved");
    expect(parseListen("stream", "[::g]:80")).toContain("not an IPv6 address");
    expect(parseListen("stream", "1.2.3.4")).toContain("cannot read");
    expect(parseListen("seqpacket", "127.0.0.1:9")).toContain("unix sockets");
  });
});

describe("IP text", () => {
  test("IPv4 is strict: four decimal numbers, no leading zeros", () => {
    expect(parseIPv4("192.0.2.255")).toEqual(new Uint8Array([192, 0, 2, 255]));
    for (const bad of ["1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.x", ""]) expect(parseIPv4(bad)).toBeNull();
  });

  test("IPv6 forms parse, and bad ones do not", () => {
    expect(v6("::")).toEqual(new Uint8Array(16));
    expect(Array.from(v6("2001:db8::1"))).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(Array.from(v6("::ffff:192.0.2.1").subarray(10))).toEqual([0xff, 0xff, 192, 0, 2, 1]);
    expect(v6("1:2:3:4:5:6:7:8")[15]).toBe(8);
    for (const bad of ["1:2:3:4:5:6:7", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::1.2.3", "1:2:3:4:5:6:7::8"]) {
      expect(parseIPv6(bad)).toBeNull();
    }
  });

  test("IPv6 prints as RFC 5952 says, the same as the URL parser's canonical form", () => {
    const samples = ["::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:1:0:0:1", "2001:db8:0:1:1:1:1:1",
      "fe80::1:0:0:0", "0:0:1:0:0:0:1:0", "1:0:0:2:0:0:0:3", "ffff::ffff"];
    for (const text of samples) {
      const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(formatIPv6(v6(text))).toBe(canonical);
    }
    expect(formatIPv6(v6("::ffff:c000:201"))).toBe("::ffff:192.0.2.1");
  });
});

describe("printing", () => {
  test("addresses as a user writes them", () => {
    expect(formatAddress({ family: "inet", ip: new Uint8Array([10, 0, 0, 1]), port: 22 })).toBe("10.0.0.1:22");
    expect(formatAddress({ family: "inet6", ip: v6("::"), port: 80, scopeId: 0 })).toBe("[::]:80");
    expect(formatAddress({ family: "inet6", ip: v6("fe80::1"), port: 80, scopeId: 2 })).toBe("[fe80::1%2]:80");
    expect(formatAddress({ family: "unix", path: "@x" })).toBe("@x");
    expect(formatAddress({ family: "inet6", ip: v6("::ffff:10.1.2.3"), port: 9, scopeId: 0 }, true)).toBe("10.1.2.3:9");
  });

  test("the Listen: line of a socket", () => {
    expect(describeListen(parseListen("stream", "/run/a.sk") as ListenSpec)).toBe("/run/a.sk (Stream)");
    expect(describeListen(parseListen("datagram", "8080") as ListenSpec)).toBe("[::]:8080 (Datagram)");
    expect(describeListen(parseListen("fifo", "/run/f") as ListenSpec)).toBe("/run/f (FIFO)");
    expect(describeListen(parseListen("seqpacket", "@s") as ListenSpec)).toBe("@s (SequentialPacket)");
    // As systemctl status prints them: the family by name (a number when systemd has none), the groups always.
    expect(describeListen(parseListen("netlink", "kobject-uevent 1") as ListenSpec)).toBe("kobject-uevent 1 (Netlink)");
    expect(describeListen(parseListen("netlink", "0") as ListenSpec)).toBe("route 0 (Netlink)");
    expect(describeListen(parseListen("netlink", "21 0x3") as ListenSpec)).toBe("21 3 (Netlink)");
    expect(describeListen(parseListen("special", "/dev/rfkill") as ListenSpec)).toBe("/dev/rfkill (Special)");
  });

  test("REMOTE_ADDR and REMOTE_PORT: IP peers only, IPv4-mapped shown as IPv4", () => {
    expect(remoteEnvironment({ family: "inet6", ip: v6("::ffff:127.0.0.1"), port: 40000, scopeId: 0 }))
      .toEqual({ REMOTE_ADDR: "127.0.0.1", REMOTE_PORT: "40000" });
    expect(remoteEnvironment({ family: "inet6", ip: v6("::1"), port: 1, scopeId: 0 })).toEqual({ REMOTE_ADDR: "::1", REMOTE_PORT: "1" });
    expect(remoteEnvironment({ family: "unix", path: "" })).toEqual({});
    expect(remoteEnvironment(null)).toEqual({});
  });
});
