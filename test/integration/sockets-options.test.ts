// systemd's Timestamping=, PassSecurity=, PassPacketInfo= and Symlinks= under `hearth run`,
// on the real kernel: a service reads each option back (getsockopt) from the fds it is
// given and sees the ancillary data they promise on the datagrams it receives
// (test/peers/sockopt-probe.py); symlinks exist while the socket does and go with it; a
// file in a link's place is left alone with a warning naming the unit; daemon-reexec
// keeps it all, and a reload that changes the options makes the socket again.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { sendDatagram } from "../../ffi/socket.ts";
import { freePort } from "../support/clients.ts";
import { cleanup, poll, ROOT, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { Session } from "../support/session.ts";

const PYTHON = "/usr/bin/python3";
const PROBE = join(ROOT, "test/peers/sockopt-probe.py");
const session = new Session();
afterEach(() => session.end());
const logs = (unit: string) => session.logs(unit);
const until = session.until.bind(session);

/** Sends one UDP datagram, retried by the caller's poll (UDP may drop it). */
function sendUdp(host: string, port: number, text: string): Promise<void> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve) => socket.send(text, port, host, () => { socket.close(); resolve(); }));
}

const linkOf = (path: string) => { try { return readlinkSync(path); } catch { return null; } };

/** The line the probe printed for the fd named `name` (the last one: after a restart, the new start's). */
async function probed(unit: string, name: string): Promise<string> {
  return until(`${unit}'s probe of ${name}`, async () => (await logs(unit)).split("\n").filter((l) => l.includes(` name=${name} ino=`)).pop());
}

describe("socket options, read back by the service", () => {
  test("timestamping, pass_security and pass_packet_info on the fds; SCM_TIMESTAMP(NS) and IP(V6)_PKTINFO on the datagrams", async () => {
    const [v4, v6] = [await freePort(), await freePort()];
    const dir = session.scratch("opts");
    const unixPath = join(dir, "journal.sk");
    const m = await session.start({
      probe: `
[unit]
wanted_by = ["multi-user"]

[service]
exec_start = ["${PYTHON}", "${PROBE}"]

[[socket]]
listen_datagram = "127.0.0.1:${v4}"
timestamping = "us"
pass_packet_info = true
fd_name = "v4"

[[socket]]
listen_datagram = "[::1]:${v6}"
timestamping = "ns"
pass_packet_info = true
fd_name = "v6"

[[socket]]
listen_datagram = "${unixPath}"
pass_security = true
pass_credentials = true
timestamping = "us"
fd_name = "local"

[[socket]]
listen_datagram = "127.0.0.1:${await freePort()}"
fd_name = "plain"
`,
    });
    await until("the probe's report", async () => (await logs("probe")).includes("probed"));
    expect(await probed("probe", "v4")).toMatch(/ family=2 timestamp=1 timestampns=0 passsec=(0|-) passcred=(0|-) pktinfo=1$/);
    expect(await probed("probe", "v6")).toMatch(/ family=10 timestamp=0 timestampns=1 passsec=(0|-) passcred=(0|-) pktinfo=1$/);
    expect(await probed("probe", "local")).toMatch(/ family=1 timestamp=1 timestampns=0 passsec=1 passcred=1 pktinfo=-$/);
    expect(await probed("probe", "plain")).toMatch(/ family=2 timestamp=0 timestampns=0 passsec=(0|-) passcred=(0|-) pktinfo=0$/);

    const seen = (name: string) => async () => {
      const line = (await logs("probe")).split("\n").find((l) => l.includes(`: datagram name=${name} `));
      return line?.slice(line.indexOf("datagram "));
    };
    const v4Line = await until("an IPv4 datagram seen", async () => { await sendUdp("127.0.0.1", v4, "hello4"); return seen("v4")(); });
    expect(v4Line).toMatch(/^datagram name=v4 data=hello4 cmsg=(SCM_TIMESTAMP,IP_PKTINFO\(ifindex=1 dst=127\.0\.0\.1\)|IP_PKTINFO\(ifindex=1 dst=127\.0\.0\.1\),SCM_TIMESTAMP)$/);
    const v6Line = await until("an IPv6 datagram seen", async () => { await sendUdp("::1", v6, "hello6"); return seen("v6")(); });
    expect(v6Line).toContain("SCM_TIMESTAMPNS");
    expect(v6Line).toContain("IPV6_PKTINFO(ifindex=1 dst=::1)");
    sendDatagram(unixPath, "hello-local");
    const localLine = await until("a unix datagram seen", seen("local"));
    expect(localLine).toStartWith("datagram name=local data=hello-local cmsg=");
    expect(localLine).toContain("SCM_TIMESTAMP");
    expect(localLine).toContain("SCM_CREDENTIALS");
    expect(m.text()).not.toMatch(/warning/i);
  });
});

describe("symlinks", () => {
  test("present while the socket exists, gone with it (remove_on_stop); a file in a link's place is refused by name, the rest runs", async () => {
    const dir = session.scratch("links");
    const [logSocket, initctl] = [join(dir, "run/dev-log"), join(dir, "run/initctl")];
    const [devLog, alias, devInitctl] = [join(dir, "dev/log"), join(dir, "alias/log"), join(dir, "dev/initctl")];
    const inTheWay = join(dir, "in-the-way");
    writeFileSync(inTheWay, "keep me");
    const m = await session.start({
      journal: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["${PYTHON}", "${PROBE}"]
[[socket]]
listen_datagram = "${logSocket}"
symlinks = ["${devLog}", "${alias}"]
remove_on_stop = true
`,
      initctl: `
[service]
exec_start = "/bin/sleep 1000"
[[socket]]
listen_fifo = "${initctl}"
symlinks = ["${devInitctl}", "${inTheWay}"]
`,
      other: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = "/bin/sleep 1000"
`,
    });
    await m.waitForState("other", "active");
    await until("the probe's report", async () => (await logs("journal")).includes("probed"));
    expect([linkOf(devLog), linkOf(alias), linkOf(devInitctl)]).toEqual([logSocket, logSocket, initctl]);
    // A client that knows only the link's name reaches the service.
    await until("a datagram through the link", async () => {
      sendDatagram(devLog, "through the link");
      return (await logs("journal")).includes("datagram name=journal data=through the link");
    });
    await m.waitForOutput(new RegExp(`initctl: socket ${initctl} \\(FIFO\\): symlink ${inTheWay} → ${initctl} not made: ${inTheWay} is a regular file, not a symbolic link: left alone`));
    expect(readFileSync(inTheWay, "utf8")).toBe("keep me");
    expect((await m.unit("initctl")).sockets[0]).toMatchObject({ state: "listening", error: null });

    expect(await m.stop()).toBe(0);
    // remove_on_stop: the socket file and its links are gone; the FIFO without it stays, with its link.
    expect([existsSync(logSocket), linkOf(devLog), linkOf(alias)]).toEqual([false, null, null]);
    expect(lstatSync(initctl).isFIFO()).toBe(true);
    expect(linkOf(devInitctl)).toBe(initctl);
    expect(readFileSync(inTheWay, "utf8")).toBe("keep me");
  });
});

describe("daemon-reexec and daemon-reload", () => {
  let own: RunningManager | null = null, conf = "";
  afterEach(async () => {
    if (own?.running) await own.stop();
    cleanup(own, conf);
    own = null;
  });
  const unit = (socketPath: string, links: string[], stamps: string) => `
[service]
exec_start = ["${PYTHON}", "${PROBE}"]
[[socket]]
listen_datagram = "${socketPath}"
symlinks = ${JSON.stringify(links)}
timestamping = "${stamps}"
pass_security = true
fd_name = "sk"
`;

  test("daemon-reexec keeps the socket with its options and links; a reload that changes them makes it again", async () => {
    const dir = session.scratch("reexec");
    const path = join(dir, "sk");
    const [first, second] = [join(dir, "first"), join(dir, "second")];
    conf = writeConf({ probe: unit(path, [first], "us") });
    const m = own = await startManager(conf);
    const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>) =>
      poll(what, probe, { timeoutMs: 10_000, intervalMs: 25, context: () => m.text() });
    const probed = async (unitName: string, name: string) => until(`${unitName}'s probe of ${name}`, async () =>
      (await m.ctl("logs", "-n", "200", unitName)).stdout.split("\n").filter((l) => l.includes(` name=${name} ino=`)).pop());
    expect((await m.ctl("start", "probe")).code).toBe(0);
    const before = await probed("probe", "sk");
    expect(before).toMatch(/ timestamp=1 timestampns=0 passsec=1 /);
    const inode = / ino=(\d+) /.exec(before)![1]!;

    expect((await m.ctl("daemon-reexec")).code).toBe(0);
    await m.waitForOutput(/Re-executed: \d+ units taken over/);
    expect((await m.ctl("restart", "probe")).code).toBe(0);
    const after = await until("the probe after the re-exec", async () => {
      const line = await probed("probe", "sk");
      return line !== before && line;
    });
    const report = (line: string) => line.slice(line.indexOf("fd 3 "));
    expect(report(after)).toBe(report(before)); // the same socket (its inode), the same options
    expect(linkOf(first)).toBe(path);

    expect((await m.ctl("stop", "probe")).code).toBe(0);
    writeFileSync(join(conf, "units/probe.toml"), unit(path, [second], "ns"));
    expect((await m.ctl("daemon-reload")).code).toBe(0);
    expect((await m.ctl("start", "probe")).code).toBe(0);
    const remade = await until("the probe on the new socket", async () => {
      const line = await probed("probe", "sk");
      return !line.includes(` ino=${inode} `) && line;
    });
    expect(remade).toMatch(/ timestamp=0 timestampns=1 passsec=1 /);
    expect([linkOf(first), linkOf(second)]).toEqual([null, path]);
  });
});
