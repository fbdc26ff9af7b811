// Creating listening sockets and FIFOs from [[socket]] entries (src/sockets/listen.ts),
// with real sockets: every option is read back from the kernel.
import { afterAll, describe, expect, test } from "bun:test";
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  F, IP_PKTINFO, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6_RECVPKTINFO, IPV6_V6ONLY, NETLINK_PKTINFO, O, SO, SOL_NETLINK,
  SOL_SOCKET, SOCK, TCP_NODELAY,
} from "../../ffi/constants.ts";
import { AF_NETLINK, NETLINK_KOBJECT_UEVENT, SOCKADDR_NL } from "../../ffi/netlink.ts";
import { close, isCloseOnExec, isNonBlocking, listOpenFds } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import { localAddress, makeFifo } from "../../ffi/net.ts";
import { getIntOption } from "../../ffi/socket.ts";
import type { SocketSection } from "../../src/config/types.ts";
import { ListenError, openListener, removeSocketFile } from "../../src/sockets/listen.ts";
import { formatAddress } from "../../src/config/socket-address.ts";
import { announceSystemdProtocols } from "../../src/sockets/booted.ts";

const dir = mkdtempSync(join(tmpdir(), "hearth-listen-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function entry(over: Partial<SocketSection>): SocketSection {
  return { accept: false, socket_mode: 0o666, fd_name: null, ...over };
}

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Connects with node:net; resolves true when the connection is accepted by the kernel. */
function canConnect(options: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(options as never);
    socket.on("connect", () => { socket.destroy(); resolve(true); });
    socket.on("error", () => resolve(false));
  });
}

const opened: number[] = [];
afterAll(() => opened.forEach((fd) => close(fd)));
function open(over: Partial<SocketSection>, nonBlocking = false) {
  const socket = openListener(entry(over), nonBlocking);
  opened.push(socket.fd);
  return socket;
}

describe("unix sockets", () => {
  test("a stream socket file: listening, close-on-exec, blocking unless asked, with its mode", async () => {
    const path = join(dir, "a.sk");
    const s = open({ listen_stream: path, socket_mode: 0o640 });
    expect(s.label).toBe(`${path} (Stream)`);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.ACCEPTCONN)).toBe(1);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.TYPE)).toBe(SOCK.STREAM);
    expect(isCloseOnExec(s.fd)).toBe(true);
    expect(isNonBlocking(s.fd)).toBe(false);
    expect(statSync(path).mode & 0o7777).toBe(0o640);
    expect(await canConnect({ path })).toBe(true);
    expect(isNonBlocking(open({ listen_stream: join(dir, "nb.sk") }, true).fd)).toBe(true);
  });

  test("missing directories are made with directory_mode", () => {
    const path = join(dir, "deep/er/c.sk");
    open({ listen_stream: path, directory_mode: 0o750 });
    expect(statSync(join(dir, "deep")).mode & 0o7777).toBe(0o750);
    expect(statSync(join(dir, "deep/er")).mode & 0o7777).toBe(0o750);
  });

  test("a socket file left by an earlier run is replaced; any other file is not", () => {
    const path = join(dir, "stale.sk");
    const first = openListener(entry({ listen_stream: path }), false);
    close(first.fd); // the file stays behind, as after a crash
    expect(lstatSync(path).isSocket()).toBe(true);
    open({ listen_stream: path });
    const regular = join(dir, "regular");
    writeFileSync(regular, "keep me");
    expect(() => open({ listen_stream: regular })).toThrow(/EADDRINUSE/);
    expect(statSync(regular).isFile()).toBe(true);
  });

  test("a directory that cannot be made is a clear error naming the socket", () => {
    writeFileSync(join(dir, "file"), "");
    const path = join(dir, "file/sub/x.sk");
    let error: unknown;
    try { open({ listen_stream: path }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ListenError);
    expect((error as Error).message).toStartWith(`${path} (Stream): cannot create directory ${join(dir, "file/sub")}`);
    expect((error as Error).message).toContain("ENOTDIR");
  });

  test("socket_user and socket_group own the file", () => {
    if (libc.geteuid() !== 0) return;
    const path = join(dir, "owned.sk");
    open({ listen_stream: path, socket_user: "nobody", socket_group: "1234" });
    const st = statSync(path);
    expect(st.uid).toBe(65534);
    expect(st.gid).toBe(1234);
    chownSync(path, 0, 0);
    expect(() => open({ listen_stream: join(dir, "x.sk"), socket_user: "no-such-user-here" })).toThrow(/not in \/etc\/passwd/);
  });

  test("abstract sequential packet and datagram sockets", () => {
    const name = `@hearth-test-${process.pid}`;
    const seq = open({ listen_sequential_packet: name });
    expect(getIntOption(seq.fd, SOL_SOCKET, SO.TYPE)).toBe(SOCK.SEQPACKET);
    expect(localAddress(seq.fd)).toEqual({ family: "unix", path: name });
    const dgram = open({ listen_datagram: `${name}-d`, pass_credentials: true });
    expect(getIntOption(dgram.fd, SOL_SOCKET, SO.TYPE)).toBe(SOCK.DGRAM);
    expect(getIntOption(dgram.fd, SOL_SOCKET, SO.PASSCRED)).toBe(1);
    expect(getIntOption(dgram.fd, SOL_SOCKET, SO.ACCEPTCONN)).toBe(0);
  });

  test("TCP-only options on a unix socket are warnings, not errors", () => {
    const s = open({ listen_stream: join(dir, "w.sk"), no_delay: true });
    expect(s.warnings).toEqual(["no_delay applies to TCP sockets only: ignored"]);
  });
});

describe("IP sockets", () => {
  test("IPv4 stream with SO_REUSEADDR, keep-alive, no-delay, buffers and backlog", async () => {
    const port = await freePort();
    const s = open({
      listen_stream: `127.0.0.1:${port}`, keep_alive: true, no_delay: true, reuse_port: true,
      receive_buffer: 65536, send_buffer: 32768, backlog: 7,
    });
    expect(s.warnings).toEqual([]);
    expect(formatAddress(localAddress(s.fd)!)).toBe(`127.0.0.1:${port}`);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.REUSEADDR)).toBe(1);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.REUSEPORT)).toBe(1);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.KEEPALIVE)).toBe(1);
    expect(getIntOption(s.fd, IPPROTO_TCP, TCP_NODELAY)).toBe(1);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.RCVBUF)).toBe(2 * 65536); // the kernel doubles it (socket(7))
    expect(getIntOption(s.fd, SOL_SOCKET, SO.SNDBUF)).toBe(2 * 32768);
    expect(await canConnect({ host: "127.0.0.1", port })).toBe(true);
  });

  test("a port alone takes IPv6 and IPv4 connections", async () => {
    const port = await freePort();
    const s = open({ listen_stream: String(port) });
    expect(formatAddress(localAddress(s.fd)!)).toBe(`[::]:${port}`);
    expect(await canConnect({ host: "::1", port })).toBe(true);
    expect(await canConnect({ host: "127.0.0.1", port })).toBe(true);
  });

  test("bind_ipv6_only = ipv6-only refuses IPv4", async () => {
    const port = await freePort();
    const s = open({ listen_stream: `[::]:${port}`, bind_ipv6_only: "ipv6-only" });
    expect(getIntOption(s.fd, IPPROTO_IPV6, IPV6_V6ONLY)).toBe(1);
    expect(await canConnect({ host: "::1", port })).toBe(true);
    expect(await canConnect({ host: "127.0.0.1", port })).toBe(false);
  });

  test("a UDP socket is bound and not listening", async () => {
    const port = await freePort();
    const s = open({ listen_datagram: `127.0.0.1:${port}` });
    expect(getIntOption(s.fd, SOL_SOCKET, SO.TYPE)).toBe(SOCK.DGRAM);
    expect(formatAddress(localAddress(s.fd)!)).toBe(`127.0.0.1:${port}`);
  });

  test("an address in use is an error naming the socket", async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    try {
      expect(() => open({ listen_stream: `127.0.0.1:${port}` }))
        .toThrow(`127.0.0.1:${port} (Stream): bind port ${port}: Address already in use (EADDRINUSE)`);
    } finally {
      server.close();
    }
  });

  test("an unknown interface in an IPv6 scope is an error", () => {
    expect(() => open({ listen_stream: "[fe80::1%no-such-if0]:9999" })).toThrow(/no network interface "no-such-if0"/);
  });
});

describe("FIFOs", () => {
  test("made with socket_mode, opened read-write and blocking; an existing FIFO is reused", () => {
    const path = join(dir, "f/fifo");
    const f = open({ listen_fifo: path, socket_mode: 0o620 });
    expect(f.label).toBe(`${path} (FIFO)`);
    expect(statSync(path).isFIFO()).toBe(true);
    expect(statSync(path).mode & 0o7777).toBe(0o620);
    expect(isNonBlocking(f.fd)).toBe(false);
    open({ listen_fifo: path });
    const other = join(dir, "not-a-fifo");
    writeFileSync(other, "");
    expect(() => open({ listen_fifo: other })).toThrow(`${other} (FIFO): ${other} exists and is not a FIFO`);
    expect(makeFifo(path, 0o600)).toBe("exists");
  });

  test("remove_on_stop's removal leaves abstract names and missing files alone", () => {
    const path = join(dir, "gone.sk");
    const s = open({ listen_stream: path });
    removeSocketFile(s.spec);
    expect(() => lstatSync(path)).toThrow();
    removeSocketFile(s.spec);
    removeSocketFile({ kind: "stream", address: { family: "unix", path: "@x" }, anyAddress: false });
  });
});

describe("timestamping, pass_security, pass_packet_info", () => {
  test("each read back from the kernel: SO_TIMESTAMP or SO_TIMESTAMPNS, SO_PASSSEC, the packet-info option of the family", async () => {
    const us = open({ listen_datagram: `127.0.0.1:${await freePort()}`, timestamping: "us", pass_packet_info: true });
    expect(us.warnings).toEqual([]);
    expect(getIntOption(us.fd, SOL_SOCKET, SO.TIMESTAMP)).toBe(1);
    expect(getIntOption(us.fd, SOL_SOCKET, SO.TIMESTAMPNS)).toBe(0);
    expect(getIntOption(us.fd, IPPROTO_IP, IP_PKTINFO)).toBe(1);
    const ns = open({ listen_datagram: `[::1]:${await freePort()}`, timestamping: "ns", pass_packet_info: true });
    expect(ns.warnings).toEqual([]);
    expect(getIntOption(ns.fd, SOL_SOCKET, SO.TIMESTAMPNS)).toBe(1);
    expect(getIntOption(ns.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO)).toBe(1);
    const unix = open({ listen_datagram: join(dir, "sec.sk"), pass_security: true, pass_packet_info: true });
    expect(getIntOption(unix.fd, SOL_SOCKET, SO.PASSSEC)).toBe(1);
    expect(getIntOption(unix.fd, SOL_SOCKET, SO.TIMESTAMP)).toBe(0);
    expect(unix.warnings).toEqual(["pass_packet_info applies to IP and netlink sockets only: ignored"]);
    const route = open({ listen_netlink: "route 1", pass_packet_info: true, timestamping: "us" });
    expect(route.warnings).toEqual([]);
    expect(getIntOption(route.fd, SOL_NETLINK, NETLINK_PKTINFO)).toBe(1);
    expect(getIntOption(route.fd, SOL_SOCKET, SO.TIMESTAMP)).toBe(1);
  });
});

describe("symlinks", () => {
  const linkTo = (path: string) => { try { return readlinkSync(path); } catch { return null; } };

  test("made to the socket file with their directories; removed with it, only while they still point at it", () => {
    const path = join(dir, "linked.sk");
    const links = [join(dir, "aliases/one"), join(dir, "two")];
    const s = openListener(entry({ listen_stream: path, symlinks: links, directory_mode: 0o700 }), false);
    expect(s.warnings).toEqual([]);
    expect(links.map(linkTo)).toEqual([path, path]);
    expect(statSync(join(dir, "aliases")).mode & 0o7777).toBe(0o700);
    // Made again over its own links (an earlier run's): nothing to say.
    close(s.fd);
    expect(open({ listen_stream: path, symlinks: links }).warnings).toEqual([]);
    rmSync(links[1]!);
    symlinkSync("/elsewhere", links[1]!); // someone else's link now
    expect(removeSocketFile(s.spec, links)).toEqual([]);
    expect(links.map(linkTo)).toEqual([null, "/elsewhere"]);
  });

  test("a FIFO's links; something in a link's place is never replaced, another link only with remove_on_stop", () => {
    const path = join(dir, "linked.fifo");
    const regular = join(dir, "in-the-way"), other = join(dir, "other-link"), sub = join(dir, "a-dir");
    writeFileSync(regular, "keep me");
    symlinkSync("/elsewhere", other);
    mkdirSync(sub);
    const kept = open({ listen_fifo: path, symlinks: [regular, other, sub] });
    expect(kept.warnings).toEqual([
      `symlink ${regular} → ${path} not made: ${regular} is a regular file, not a symbolic link: left alone (only a symbolic link is ever replaced)`,
      `symlink ${other} → ${path} not made: ${other} is a symbolic link to /elsewhere: left alone (without remove_on_stop an existing link is not replaced, as in systemd)`,
      `symlink ${sub} → ${path} not made: ${sub} is a directory, not a symbolic link: left alone (only a symbolic link is ever replaced)`,
    ]);
    expect(readFileSync(regular, "utf8")).toBe("keep me");
    expect(linkTo(other)).toBe("/elsewhere");
    const replaced = open({ listen_fifo: path, symlinks: [regular, other], remove_on_stop: true });
    expect(replaced.warnings).toHaveLength(1);
    expect(linkTo(other)).toBe(path);
    expect(readFileSync(regular, "utf8")).toBe("keep me");
    expect(removeSocketFile(replaced.spec, [regular, other])).toEqual([]);
    expect([linkTo(other), readFileSync(regular, "utf8")]).toEqual([null, "keep me"]);
  });
});

describe("netlink sockets", () => {
  /** The nl_groups a netlink socket is bound to (getsockname). */
  function boundGroups(fd: number): number {
    const storage = new Uint8Array(SOCKADDR_NL.size);
    const length = new Uint32Array([SOCKADDR_NL.size]);
    expect(libc.getsockname(fd, storage, length)).toBe(0);
    const view = new DataView(storage.buffer);
    expect(view.getUint16(SOCKADDR_NL.family, true)).toBe(AF_NETLINK);
    return view.getUint32(SOCKADDR_NL.groups, true);
  }

  test("SOCK_RAW of the family, bound to the groups mask, not listening, with receive_buffer and pass_credentials", () => {
    const s = open({ listen_netlink: "kobject-uevent 1", receive_buffer: 4 * 1024 * 1024, pass_credentials: true });
    expect(s.label).toBe("kobject-uevent 1 (Netlink)");
    expect(s.warnings).toEqual([]);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.DOMAIN)).toBe(AF_NETLINK);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.TYPE)).toBe(SOCK.RAW);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.PROTOCOL)).toBe(NETLINK_KOBJECT_UEVENT);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.ACCEPTCONN)).toBe(0);
    expect(getIntOption(s.fd, SOL_SOCKET, SO.PASSCRED)).toBe(1);
    // SO_RCVBUFFORCE as root: past net.core.rmem_max; the kernel doubles what it is given.
    expect(getIntOption(s.fd, SOL_SOCKET, SO.RCVBUF)).toBe(8 * 1024 * 1024);
    expect(boundGroups(s.fd)).toBe(1);
    expect(isCloseOnExec(s.fd)).toBe(true);
    expect(isNonBlocking(s.fd)).toBe(false);
  });

  test("route with the groups of systemd-networkd.socket; the same family and group twice is fine", () => {
    const a = open({ listen_netlink: "route 1361" });
    const b = open({ listen_netlink: "route 1361" });
    expect(a.label).toBe("route 1361 (Netlink)");
    expect(getIntOption(a.fd, SOL_SOCKET, SO.PROTOCOL)).toBe(0);
    expect(boundGroups(a.fd)).toBe(1361);
    expect(boundGroups(b.fd)).toBe(1361);
  });

  test("no_delay is a warning; a protocol the kernel lacks is an error naming the socket", () => {
    expect(open({ listen_netlink: "generic", no_delay: true }).warnings).toEqual(["no_delay applies to TCP sockets only: ignored"]);
    expect(() => open({ listen_netlink: "32" })).toThrow(/^32 0 \(Netlink\): socket 32 0 \(Netlink\): .*EPROTONOSUPPORT/); // past MAX_LINKS
  });
});

describe("special files", () => {
  test("a character device, read-only unless writable, blocking, close-on-exec, and readable", () => {
    const s = open({ listen_special: "/dev/random" });
    expect(s.label).toBe("/dev/random (Special)");
    expect(libc.fcntl(s.fd, F.GETFL, 0) & 3).toBe(O.RDONLY);
    expect(isCloseOnExec(s.fd)).toBe(true);
    expect(isNonBlocking(s.fd)).toBe(false);
    const buf = new Uint8Array(16);
    expect(Number(libc.read(s.fd, buf, 16))).toBe(16);
    const w = open({ listen_special: "/dev/random", writable: true });
    expect(libc.fcntl(w.fd, F.GETFL, 0) & 3).toBe(O.RDWR);
    expect(open({ listen_special: "/dev/random", remove_on_stop: true }).spec).toEqual({ kind: "special", path: "/dev/random" });
    removeSocketFile(s.spec); // never removed: hearth did not make it
    expect(statSync("/dev/random").isCharacterDevice()).toBe(true);
  });

  test("a regular file of /proc, read as it is", () => {
    const s = open({ listen_special: "/proc/sys/kernel/hostname" });
    const buf = new Uint8Array(256);
    const n = Number(libc.read(s.fd, buf, 256));
    expect(Buffer.from(buf.subarray(0, n)).toString().trim()).toBe(readFileSync("/proc/sys/kernel/hostname", "utf8").trim());
  });

  test("a FIFO, a directory, a symbolic link, a socket, a missing file and an unpollable file are refused, naming the path", () => {
    const fifo = join(dir, "special.fifo");
    makeFifo(fifo, 0o600);
    const sock = join(dir, "special.sk");
    open({ listen_stream: sock });
    const fdsBefore = listOpenFds();
    expect(() => open({ listen_special: fifo })).toThrow(`${fifo} (Special): ${fifo} is a FIFO: listen_special takes a character device or a regular file of /proc or /sys`);
    expect(() => open({ listen_special: dir, writable: true })).toThrow(`${dir} is a directory`);
    const link = join(dir, "special.link");
    symlinkSync("/dev/urandom", link);
    expect(() => open({ listen_special: link })).toThrow(`${link} is a symbolic link (not followed)`);
    expect(() => open({ listen_special: sock })).toThrow(`${sock} is a socket`);
    expect(() => open({ listen_special: join(dir, "none") })).toThrow(/ENOENT/);
    const plain = join(dir, "plain");
    writeFileSync(plain, "x");
    expect(() => open({ listen_special: plain })).toThrow(`${plain} cannot be waited on: the kernel does not poll it`);
    expect(() => open({ listen_special: "/dev/null" })).toThrow("/dev/null (Special): /dev/null cannot be waited on");
    expect(() => open({ listen_special: "/dev/urandom" })).toThrow("/dev/urandom cannot be waited on"); // unlike /dev/random, it has no poll
    expect(listOpenFds()).toEqual(fdsBefore); // nothing opened on the way is left open
  });
});

describe("system mode", () => {
  test("/run/systemd/system is made, so that sd_booted() is true for daemons", () => {
    announceSystemdProtocols(dir);
    expect(statSync(join(dir, "run/systemd/system")).isDirectory()).toBe(true);
    announceSystemdProtocols(dir); // again: fine
  });
});
