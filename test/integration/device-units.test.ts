// Device units: a unit bound to a device starts when the kernel announces the device and
// stops when it goes — here a network interface the test adds and deletes for real
// (`ip link`), which the kernel announces with uevents hearth reads itself (no udev).
import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { Session } from "../support/session.ts";
import { sendToUeventGroup } from "../../ffi/netlink.ts";

const session = new Session();
const links: string[] = [];
afterEach(async () => {
  for (const name of links.splice(0)) spawnSync("ip", ["link", "del", name], { stdio: "ignore" });
  await session.end();
});

/** Adds a network interface of a kind this kernel has built in or can load (dummy on a Debian VM, bridge elsewhere). */
function addLink(name: string) {
  links.push(name);
  for (const kind of ["dummy", "bridge"]) {
    if (spawnSync("ip", ["link", "add", name, "type", kind], { stdio: "ignore" }).status === 0) return;
  }
  throw new Error(`cannot add a network interface ${name} (ip link add … type dummy|bridge): this test needs root and one of them`);
}

function delLink(name: string) {
  expect(spawnSync("ip", ["link", "del", name]).status).toBe(0);
}

/** An interface name of this run (at most 15 characters). */
const ifname = () => `hrth${process.pid % 10000}${Math.floor(Math.random() * 1000)}`;

function boundUnit(device: string) {
  return `
[unit]
binds_to = ["${device}"]
after = ["${device}"]
wanted_by = ["${device}"]

[service]
exec_start = ["/bin/sleep", "300"]
`;
}

describe("a unit bound to a device", () => {
  test("starts when the kernel announces the device and stops when it goes", async () => {
    const name = ifname();
    const device = `sys-subsystem-net-devices-${name}.device`;
    const m = await session.start({ modem: boundUnit(device) });
    const absent = await m.unit(device);
    expect([absent.active, absent.sub]).toEqual(["inactive", "dead"]);
    expect((await m.unit("modem")).active).toBe("inactive");

    addLink(name);
    const up = await m.waitForState("modem", "active");
    const plugged = await m.unit(device);
    expect([plugged.active, plugged.sub]).toEqual(["active", "plugged"]);
    expect(up.mainPid).toBeGreaterThan(0);

    delLink(name);
    const down = await m.waitForState("modem", "inactive");
    expect(down.result).toBe("success");
    expect((await m.unit(device)).sub).toBe("dead");

    // And again: the device comes back, so does the unit.
    addLink(name);
    const again = await m.waitForState("modem", "active");
    expect(again.mainPid).not.toBe(up.mainPid);
  });

  test("a device present at start starts its unit at once", async () => {
    const name = ifname();
    addLink(name);
    const m = await session.start({ modem: boundUnit(`sys-subsystem-net-devices-${name}.device`) });
    await m.waitForState("modem", "active");
  });

  test("a uevent forged by a process is ignored; the kernel's are still heard", async () => {
    const name = ifname();
    const device = `sys-subsystem-net-devices-${name}.device`;
    const m = await session.start({ modem: boundUnit(device) });
    const devpath = `/devices/virtual/net/${name}`;
    const forged = `add@${devpath}\0ACTION=add\0DEVPATH=${devpath}\0SUBSYSTEM=net\0INTERFACE=${name}\0IFINDEX=999\0SEQNUM=1\0`;
    sendToUeventGroup(Buffer.from(forged));
    await m.waitForOutput(/device event not from the kernel/);
    expect((await m.unit("modem")).active).toBe("inactive");
    expect((await m.unit(device)).active).toBe("inactive");
    addLink(name);
    await m.waitForState("modem", "active");
  });
});
