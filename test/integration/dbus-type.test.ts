// type = "dbus": a service is ready when its bus_name has an owner on the system bus,
// which hearth learns over its own connection to a real dbus-daemon (started by that
// connection, through the socket hearth made for it) — systemd's Type=dbus.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Session } from "../support/session.ts";
import { busUnit } from "../support/dbus-bus.ts";
import { ROOT } from "../support/harness.ts";
import { runClient } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());


const OWNER = join(ROOT, "test/peers/dbus-name-owner.ts");
const NAME = "org.hearth.Test";

/** A dbus service named NAME, started with the boot. */
function namedUnit(argv: string[], more = "") {
  return `
[unit]
wanted_by = ["multi-user"]

[service]
type = "dbus"
bus_name = "${NAME}"
exec_start = ${JSON.stringify(argv)}
${more}
`;
}

/** A bus of its own behind a hearth socket, and a dbus service on it run by the peer above. */
async function startWithBus(service: string) {
  const dir = session.scratch("dbus");
  const { socket, unit } = busUnit(dir);
  const files = { claim: join(dir, "claim"), release: join(dir, "release") };
  const m = await session.start({
    bus: unit,
    named: namedUnit([process.execPath, OWNER, socket, NAME, files.claim, files.release], service),
  }, { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` } });
  return { m, files };
}

describe('type = "dbus"', () => {
  test("is ready only once its bus name has an owner, and stops when the name is released", async () => {
    const { m, files } = await startWithBus("");
    // hearth's own connection started the bus; the service connected and waits to claim.
    await m.waitForState("bus", "active");
    await session.until("the service on the bus", async () => (await session.logs("named")).includes("connected"));
    const waiting = await m.unit("named");
    expect(waiting.active).toBe("activating");
    expect(waiting.sub).toBe("start");
    writeFileSync(files.claim, "");
    const up = await m.waitForState("named", "active");
    expect(up.sub).toBe("running");
    expect(await session.logs("named")).toContain(`requested ${NAME}`);
    // systemd: a running dbus service whose name has no owner any more is stopped.
    writeFileSync(files.release, "");
    const down = await m.waitForState("named", "inactive");
    expect(down.result).toBe("success");
    const logs = await session.logs("named");
    expect(logs).toContain(`released ${NAME}`);
    expect(logs).toContain("SIGTERM");
    expect(logs).toContain(`D-Bus name ${NAME} no longer owned: stopping`);
  });

  test("that never takes its name fails at the start timeout", async () => {
    const { m } = await startWithBus("timeout_start_sec = 2");
    await session.until("the service on the bus", async () => (await session.logs("named")).includes("connected"));
    const failed = await m.waitForState("named", "failed", 15_000);
    expect(failed.result).toBe("timeout");
  });

  test("whose name is taken again is restarted by restart = always after the release", async () => {
    const { m, files } = await startWithBus('restart = "always"\nrestart_sec = 0.1');
    writeFileSync(files.claim, "");
    const first = await m.waitForState("named", "active");
    writeFileSync(files.release, "");
    // The release stops it; restart = always brings it back, and it claims the name at once
    // (the claim file is there) but releases it again: it cycles. Seen once is enough.
    await session.until("a restart", async () => {
      const u = await m.unit("named");
      return u.nRestarts >= 1 && u.mainPid !== first.mainPid && u;
    }, 15_000);
  });
});

// Debian's avahi-daemon.service, converted by hand (hearth import's output will replace
// it): Type=dbus, BusName=org.freedesktop.Avahi. Its Requires=avahi-daemon.socket is left
// out: without the passed socket the daemon makes /run/avahi-daemon/socket itself.
const AVAHI = `
[unit]
description = "Avahi mDNS/DNS-SD Stack"
wanted_by = ["multi-user"]

[service]
type = "dbus"
bus_name = "org.freedesktop.Avahi"
exec_start = ["/usr/sbin/avahi-daemon", "-s"]
exec_reload = "/usr/sbin/avahi-daemon -r"
notify_access = "main"
`;

describe("avahi-daemon with dbus-daemon", () => {
  test("is active once it owns org.freedesktop.Avahi, and answers on the bus", async () => {
    const dir = session.scratch("avahi");
    const { socket, unit } = busUnit(dir);
    const m = await session.start({ bus: unit, "avahi-daemon": AVAHI }, { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` } });
    const avahi = await m.waitForState("avahi-daemon", "active", 20_000);
    expect(avahi.type).toBe("dbus");
    const version = await runClient(["/usr/bin/dbus-send", `--bus=unix:path=${socket}`, "--print-reply", "--dest=org.freedesktop.Avahi",
      "/", "org.freedesktop.Avahi.Server.GetVersionString"]);
    expect(version.out).toMatch(/string "avahi [0-9.]+"/);
    await m.ctl("stop", "avahi-daemon");
    const stopped = await m.waitForState("avahi-daemon", "inactive");
    expect(stopped.result).toBe("success");
  });
});

describe("a hostile bus", () => {
  test("that answers with garbage is left with the reason and connected to again; the manager goes on", async () => {
    const dir = session.scratch("hostile-bus");
    const socket = join(dir, "bus.sk");
    let connections = 0;
    const server = Bun.listen<{ authed: boolean }>({
      unix: socket,
      socket: {
        open(s) {
          connections++;
          s.data = { authed: false };
        },
        data(s) {
          if (s.data.authed) return void s.write(new Uint8Array(64).fill(0xff)); // not a message
          s.data.authed = true;
          s.write("OK 0123456789abcdef0123456789abcdef\r\n");
        },
      },
    });
    try {
      const m = await session.start({
        named: namedUnit(["/bin/sleep", "300"]),
      }, { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` } });
      await m.waitForOutput(/system bus connection closed: malformed message from the bus/);
      await session.until("a second connection", async () => connections >= 2);
      const u = await m.unit("named");
      expect([u.active, u.sub]).toEqual(["activating", "start"]);
    } finally {
      server.stop(true);
    }
  });
});
