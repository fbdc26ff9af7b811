// The devices device units name, looked up in the real /sys at start: a node by its
// numbers (/dev/null is char 1:3), an interface by its class (lo), a sysfs path as it is.
import { describe, expect, test } from "bun:test";
import { scanWanted, sysPathOf } from "../../src/devices/watcher.ts";
import { DeviceRegistry } from "../../src/devices/registry.ts";

describe("looking up the named devices in /sys", () => {
  test("a node is found by its numbers, an interface by its class; the registry names them as systemd does", () => {
    expect(sysPathOf("dev-null.device")).toBe("/sys/dev/char/1:3");
    expect(sysPathOf("sys-subsystem-net-devices-lo.device")).toBe("/sys/class/net/lo");
    const found = scanWanted(["dev-null.device", "sys-subsystem-net-devices-lo.device"]);
    expect(found.map((d) => d.devpath).sort()).toEqual(["/devices/virtual/mem/null", "/devices/virtual/net/lo"]);
    const plugged = new DeviceRegistry().replaceAll(found).plugged;
    expect(plugged).toContain("dev-null.device");
    expect(plugged).toContain("sys-subsystem-net-devices-lo.device");
  });

  test("what is not there, or is no device, is not found", () => {
    expect(sysPathOf("dev-hearth\\x2dno\\x2dsuch.device")).toBeNull();
    expect(sysPathOf("dev-shm.device")).toBeNull(); // a directory, not a node
    expect(scanWanted(["sys-subsystem-net-devices-hearthnosuch0.device", "dev-hearth\\x2dno\\x2dsuch.device"])).toEqual([]);
  });
});
