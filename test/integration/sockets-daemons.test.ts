// Real daemons from Debian behind sockets hearth made: dbus-daemon --address=systemd:
// (accept = false, started on demand). dropbear -i (accept = true) is in peers.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Session } from "../support/session.ts";
import { runClient } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());

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
    const id = await runClient([...call, "org.freedesktop.DBus.GetId"]);
    expect(id.code).toBe(0);
    expect(id.out).toMatch(/string "[0-9a-f]{32}"/);
    const bus = await m.waitForState("bus", "active");
    expect(bus.type).toBe("notify"); // dbus-daemon said READY=1 itself
    const names = await runClient([...call, "org.freedesktop.DBus.ListNames"]);
    expect(names.out).toContain('string "org.freedesktop.DBus"');
    expect((await m.unit("bus")).mainPid).toBe(bus.mainPid); // the same daemon answered
  });
});
