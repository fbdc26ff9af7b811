// The cgroup BPF directives through `hearth run`, seen from inside: device_policy and
// device_allow decide which device nodes a unit's processes may open (EPERM for the
// others), ip_address_deny and ip_address_allow which addresses its packets may reach
// (a UDP send elsewhere fails with EPERM), socket_bind_deny and socket_bind_allow which
// ports it may bind. Needs root and a kernel with CONFIG_CGROUP_BPF.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { probeCgroupBpf } from "../../src/exec/cgroup-bpf.ts";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { report as reportOf } from "../support/reporting-units.ts";

const supported = libc.geteuid() === 0 && probeCgroupBpf() === true;
/** An address of this machine that is not loopback: reachable, and outside "localhost". */
const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === "IPv4" && !a.internal)?.address;

let m: RunningManager;
let conf: string;
let nodes: string;
let udp: { port: number; close(): void } | undefined;
const received: string[] = [];

/** Binds as asked and prints "NAME: ok" or "NAME: <strerror>". */
const BIND_PROBE = [
  "import socket",
  "def t(n, f, k, p):",
  "  s = socket.socket(f, k)",
  "  try: s.bind((\"::1\" if f == socket.AF_INET6 else \"127.0.0.1\", p)); print(n + \": ok\")",
  "  except OSError as e: print(n + \": \" + e.strerror)",
  "t(\"tcp4-allowed\", socket.AF_INET, socket.SOCK_STREAM, 18931)",
  "t(\"tcp4-other\", socket.AF_INET, socket.SOCK_STREAM, 18934)",
  "t(\"udp6-in-range\", socket.AF_INET6, socket.SOCK_DGRAM, 18933)",
  "t(\"udp4-in-range\", socket.AF_INET, socket.SOCK_DGRAM, 18933)",
].join("\n");
const hasPython = Bun.which("python3") !== null;

/** A oneshot running a bash script that has try NAME CMD...: prints "NAME: ok" or "NAME: <error>". */
function unit(script: string, ...lines: string[]): string {
  const prelude = 'try() { n=$1; shift; if out=$("$@" 2>&1); then echo "$n: ok"; else echo "$n: ${out##*: }"; fi; };';
  return `[service]\ntype = "oneshot"\nexec_start = ["/bin/bash", "-c", ${JSON.stringify(prelude + script)}]\n${lines.join("\n")}\n`;
}

const opens = (...paths: string[]) => paths.map((p) => `try ${p} bash -c ': < ${p}';`).join(" ");

function answer(lines: string[], name: string): string {
  const line = lines.find((l) => l.startsWith(`${name}: `));
  if (line === undefined) throw new Error(`no ${name} in:\n${lines.join("\n")}`);
  return line.slice(name.length + 2);
}

beforeAll(async () => {
  if (!supported) return;
  nodes = mkdtempSync("/tmp/hearth-bpf-nodes-");
  // A real device the pseudo list does not have: /dev/kmsg's numbers, at a path of our own.
  Bun.spawnSync(["mknod", join(nodes, "kmsg"), "c", "1", "11"]);
  udp = await Bun.udpSocket({ hostname: "::", socket: { data: (_s, data) => void received.push(Buffer.from(data).toString().trim()) } });
  const send = (name: string, address: string) => `try ${name} bash -c 'echo ${name} > /dev/udp/${address}/${udp!.port}';`;
  const kmsg = join(nodes, "kmsg");
  conf = writeConf({
    closed: unit(opens("/dev/null", "/dev/zero", "/dev/urandom", kmsg), 'device_policy = "closed"', 'device_allow = ["/dev/null rw"]'),
    strict: unit(opens("/dev/null", "/dev/zero", "/dev/tty"), 'device_policy = "strict"', 'device_allow = ["/dev/null rw"]'),
    "read-only": unit(`${opens("/dev/null")} try write-null bash -c 'echo > /dev/null';`, 'device_policy = "strict"', 'device_allow = ["/dev/null r"]'),
    open: unit(opens(kmsg)),
    loopback: unit(send("to-localhost", "127.0.0.1") + send("to-other", other ?? "192.0.2.1") + send("to-localhost6", "::1"), 'ip_address_deny = ["any"]', 'ip_address_allow = ["localhost"]'),
    unfenced: unit(send("unfenced-to-other", other ?? "192.0.2.1")),
    binds: unit(`python3 -c '${BIND_PROBE}'`, 'socket_bind_deny = ["any"]', 'socket_bind_allow = ["tcp:18931", "ipv6:udp:18932-18933"]'),
    "bad-line": unit("true", 'device_allow = ["/dev/nonexistent-hearth rw"]', 'device_policy = "strict"'),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  udp?.close();
  cleanup(m, conf);
  if (nodes) rmSync(nodes, { recursive: true, force: true });
});

const report = (u: string) => reportOf(m, u);

describe.skipIf(!supported)("cgroup BPF directives, seen from inside the service", () => {
  test('device_policy = "closed": /dev/null and the pseudo devices open, another device node gets EPERM', async () => {
    const lines = await report("closed");
    expect(answer(lines, "/dev/null")).toBe("ok");
    expect(answer(lines, "/dev/zero")).toBe("ok"); // systemd's "closed" keeps the pseudo devices
    expect(answer(lines, "/dev/urandom")).toBe("ok");
    expect(answer(lines, join(nodes, "kmsg"))).toBe("Operation not permitted");
    expect(answer(await report("open"), join(nodes, "kmsg"))).toBe("ok"); // the node works without the directive
  });

  test('device_policy = "strict": only the listed device; /dev/zero and /dev/tty get EPERM; "r" refuses writing', async () => {
    const lines = await report("strict");
    expect(answer(lines, "/dev/null")).toBe("ok");
    expect(answer(lines, "/dev/zero")).toBe("Operation not permitted");
    expect(answer(lines, "/dev/tty")).toBe("Operation not permitted");
    const ro = await report("read-only");
    expect(answer(ro, "/dev/null")).toBe("ok");
    expect(answer(ro, "write-null")).toBe("Operation not permitted");
  });

  test("a device_allow line naming no device is logged, and allows nothing", async () => {
    await report("bad-line");
    expect(m.text()).toMatch(/bad-line.*device_allow: \/dev\/nonexistent-hearth: ENOENT/);
  });

  test.skipIf(other === undefined)('ip_address_deny = ["any"], ip_address_allow = ["localhost"]: 127.0.0.1 is reached, another address gets EPERM', async () => {
    const lines = await report("loopback");
    expect(answer(lines, "to-localhost")).toBe("ok");
    expect(answer(lines, "to-other")).toBe("Operation not permitted");
    expect(answer(lines, "to-localhost6")).toBe("ok"); // ::1 is localhost too (the IPv6 map)
    expect(answer(await report("unfenced"), "unfenced-to-other")).toBe("ok");
    await poll("the allowed datagrams", () => ["to-localhost", "to-localhost6", "unfenced-to-other"].every((d) => received.includes(d)));
    expect(received).not.toContain("to-other");
  });

  test.skipIf(!hasPython)('socket_bind_deny = ["any"] with socket_bind_allow rules: the allowed binds work, the others get EPERM', async () => {
    const lines = await report("binds");
    expect(answer(lines, "tcp4-allowed")).toBe("ok");
    expect(answer(lines, "tcp4-other")).toBe("Operation not permitted");
    expect(answer(lines, "udp6-in-range")).toBe("ok");
    expect(answer(lines, "udp4-in-range")).toBe("Operation not permitted"); // the rule says ipv6
  });

  test("the programs and maps are let go with the unit's cgroup: the manager holds no bpf fd once the units are down", async () => {
    const pid = m.proc.pid;
    const bpfFds = () => readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return /bpf-(prog|map)/.test(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    await poll("no bpf fd in the manager", () => bpfFds().length === 0, { context: () => bpfFds().join(", ") });
  });
});
