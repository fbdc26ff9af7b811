// Real daemons from Debian behind sockets hearth made: dbus-daemon --address=systemd:
// (accept = false, started on demand) and dropbear -i (accept = true, inetd style).
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Session } from "../support/session.ts";
import { exchange, freePort } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: stdout + stderr };
}

// A bus of its own: the socket comes from hearth (<listen> is overridden by --address).
const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

describe("dbus-daemon --address=systemd:", () => {
  test("is started by the first client and answers on the socket hearth made", async () => {
    const dir = session.scratch("daemon");
    writeFileSync(join(dir, "bus.conf"), BUS_CONFIG);
    const socket = join(dir, "bus.sk");
    const m = await session.start({
      bus: `
[service]
type = "notify"
exec_start = ["/usr/bin/dbus-daemon", "--config-file=${join(dir, "bus.conf")}", "--nofork", "--nopidfile", "--address=systemd:"]

[[socket]]
listen_stream = "${socket}"
`,
    });
    expect((await m.unit("bus")).active).toBe("inactive");
    const call = ["/usr/bin/dbus-send", `--bus=unix:path=${socket}`, "--dest=org.freedesktop.DBus", "--print-reply",
      "/org/freedesktop/DBus"];
    const id = await run([...call, "org.freedesktop.DBus.GetId"]);
    expect(id.code).toBe(0);
    expect(id.out).toMatch(/string "[0-9a-f]{32}"/);
    const bus = await m.waitForState("bus", "active");
    expect(bus.type).toBe("notify"); // dbus-daemon said READY=1 itself
    const names = await run([...call, "org.freedesktop.DBus.ListNames"]);
    expect(names.out).toContain('string "org.freedesktop.DBus"');
    expect((await m.unit("bus")).mainPid).toBe(bus.mainPid); // the same daemon answered
  });
});

describe("dropbear -i (inetd style)", () => {
  test("each connection gets its own dropbear with the connection on stdin/stdout", async () => {
    const dir = session.scratch("daemon");
    const key = join(dir, "host_key");
    const made = await run(["/usr/bin/dropbearkey", "-t", "ed25519", "-f", key]);
    expect(made.code).toBe(0);
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(made.out)![0];
    const port = await freePort();
    const m = await session.start({
      ssh: `
[service]
exec_start = ["/usr/sbin/dropbear", "-i", "-r", "${key}", "-s", "-g"]
standard_input = "socket"

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
`,
    });

    // The server speaks first: its banner comes through the connection on its stdout.
    const banner = await exchange({ host: "127.0.0.1", port }, "", { expected: 8 });
    expect(banner.answer).toStartWith("SSH-2.0-dropbear");

    // A whole key exchange: the client checks the host key dropbear read, then the server
    // refuses the login (no keys are authorized) — the protocol ran both ways.
    const client = await run(["/usr/bin/dbclient", "-y", "-p", String(port), "-i", key, "nobody@127.0.0.1", "true"], { HOME: dir });
    expect(client.out).toContain(fingerprint);
    expect(client.out).toContain("No auth methods could be used");
    expect((await m.unit("ssh")).accepted).toBe(2);
  });
});
