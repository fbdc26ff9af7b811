// Real daemons from Debian behind sockets hearth made: dbus-daemon --address=systemd:
// (accept = false, started on demand). dropbear -i (accept = true) is in peers.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { Session } from "../support/session.ts";
import { busUnit } from "../support/dbus-bus.ts";
import { runClient } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());


describe("dbus-daemon --address=systemd:", () => {
  test("is started by the first client and answers on the socket hearth made", async () => {
    const dir = session.scratch("daemon");
    const { socket, unit } = busUnit(dir);
    const m = await session.start({
      bus: unit,
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
