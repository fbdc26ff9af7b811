// Device units without processes: systemd's names for paths, the kernel's uevents
// parsed (and refused when they do not add up), the registry of what is plugged, and
// what the engine does when a device comes and goes.
import { describe, expect, test } from "bun:test";
import { deviceUnitName, deviceUnitNameProblem, escapePath, unescapePath } from "../../src/devices/names.ts";
import { deviceUnitNames, parseUevent, parseUeventFile } from "../../src/devices/uevent.ts";
import { DeviceRegistry } from "../../src/devices/registry.ts";
import { referencedDevices } from "../../src/devices/units.ts";
import { deviceUnit } from "../../src/devices/units.ts";
import { watchDevices } from "../../src/manager/devices.ts";
import { DEVICE_TIMEOUT_MS } from "../../src/engine/engine.ts";
import { EngineSim as Sim } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const uevent = (...fields: string[]) => new Uint8Array(Buffer.from(fields.join("\0") + "\0", "latin1"));
const netAdd = (iface: string, action = "add") =>
  uevent(`${action}@/devices/virtual/net/${iface}`, `ACTION=${action}`, `DEVPATH=/devices/virtual/net/${iface}`, "SUBSYSTEM=net", `INTERFACE=${iface}`, "IFINDEX=7", "SEQNUM=12");

describe("device unit names, as systemd-escape --path makes them", () => {
  test.each([
    ["/dev/ttyUSB0", "dev-ttyUSB0"],
    ["/dev/disk/by-label/my-data", "dev-disk-by\\x2dlabel-my\\x2ddata"],
    ["/sys/subsystem/net/devices/eth0", "sys-subsystem-net-devices-eth0"],
    ["/dev/.hidden/x", "dev-.hidden-x"],
    ["/sys/devices/pci0000:00/0000:00:1d.0/usb2", "sys-devices-pci0000:00-0000:00:1d.0-usb2"],
    ["/dev/a b", "dev-a\\x20b"],
    ["//dev//x/", "dev-x"],
    ["/", "-"],
  ])("%s is %s", (path, escaped) => {
    expect(escapePath(path)).toBe(escaped);
    expect(unescapePath(escaped)).toBe(path === "//dev//x/" ? "/dev/x" : path);
  });

  test("names that are not a device systemd would name are refused with the reason", () => {
    expect(deviceUnitNameProblem("dev-ttyUSB0.device")).toBeNull();
    expect(deviceUnitNameProblem("dev-disk-by\\x2dlabel-data.device")).toBeNull();
    expect(deviceUnitNameProblem("dev-disk-by-label-data.device")).toBeNull(); // /dev/disk/by/label/data: a path all the same
    expect(deviceUnitNameProblem("etc-passwd.device")).toContain("under /dev or /sys");
    expect(deviceUnitNameProblem("dev-a b.device")).toContain("escaped");
    expect(deviceUnitNameProblem("dev-\\x2.device")).toContain("escaped");
  });
});

describe("the kernel's uevents", () => {
  test("a net interface: its sysfs path and its interface name", () => {
    const ev = parseUevent(netAdd("eth1"));
    if ("problem" in ev) throw new Error(ev.problem);
    expect(ev.action).toBe("add");
    expect(deviceUnitNames(ev.devpath, ev.env)).toEqual(["sys-devices-virtual-net-eth1.device", "sys-subsystem-net-devices-eth1.device"]);
  });

  test("a device node: its sysfs path and its /dev name; a device without a node gets none", () => {
    const tty = parseUevent(uevent("add@/devices/pci0000:00/usb1/1-1/ttyUSB0/tty/ttyUSB0", "ACTION=add",
      "DEVPATH=/devices/pci0000:00/usb1/1-1/ttyUSB0/tty/ttyUSB0", "SUBSYSTEM=tty", "MAJOR=188", "MINOR=0", "DEVNAME=ttyUSB0"));
    if ("problem" in tty) throw new Error(tty.problem);
    expect(deviceUnitNames(tty.devpath, tty.env)).toContain("dev-ttyUSB0.device");
    const queue = parseUevent(uevent("add@/devices/virtual/net/x/queues/rx-0", "ACTION=add", "DEVPATH=/devices/virtual/net/x/queues/rx-0", "SUBSYSTEM=queues"));
    if ("problem" in queue) throw new Error(queue.problem);
    expect(deviceUnitNames(queue.devpath, queue.env)).toEqual([]);
  });

  test("what does not add up is refused with the reason", () => {
    const problem = (data: Uint8Array) => ("problem" in parseUevent(data) ? (parseUevent(data) as { problem: string }).problem : null);
    expect(problem(new Uint8Array(Buffer.from("libudev\0\xfe\xed\xca\xfe", "latin1")))).toContain("udev");
    expect(problem(uevent("garbage"))).toContain("no ACTION@DEVPATH");
    expect(problem(uevent("add@/devices/x", "ACTION=remove", "DEVPATH=/devices/x"))).toContain("disagree");
    expect(problem(uevent("add@/devices/../../etc", "ACTION=add", "DEVPATH=/devices/../../etc"))).toContain("not a path");
    expect(problem(uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "lower=case"))).toContain("KEY=VALUE");
    const many = Array.from({ length: 70 }, (_, i) => `K${i}=v`);
    expect(problem(uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", ...many))).toContain("more than the kernel sends");
  });

  test("a /sys uevent file reads as the event's variables", () => {
    expect(parseUeventFile("INTERFACE=eth0\nIFINDEX=2\n")).toEqual(new Map([["INTERFACE", "eth0"], ["IFINDEX", "2"]]));
  });
});

describe("the registry of plugged devices", () => {
  const ev = (data: Uint8Array) => {
    const parsed = parseUevent(data);
    if ("problem" in parsed) throw new Error(parsed.problem);
    return parsed;
  };

  test("add plugs, remove unplugs, a repeated add or change changes nothing", () => {
    const r = new DeviceRegistry();
    expect(r.apply(ev(netAdd("eth1"))).plugged).toContain("sys-subsystem-net-devices-eth1.device");
    expect(r.apply(ev(netAdd("eth1")))).toEqual({ plugged: [], unplugged: [] });
    expect(r.apply(ev(netAdd("eth1", "change")))).toEqual({ plugged: [], unplugged: [] });
    // A bind with fewer variables than the add (no INTERFACE) does not unplug it.
    expect(r.apply(ev(uevent("bind@/devices/virtual/net/eth1", "ACTION=bind", "DEVPATH=/devices/virtual/net/eth1", "DRIVER=x")))).toEqual({ plugged: [], unplugged: [] });
    expect(r.apply(ev(netAdd("eth1", "remove"))).unplugged).toContain("sys-subsystem-net-devices-eth1.device");
    expect(r.size).toBe(0);
  });

  test("a renamed interface (move) leaves its old name and takes the new one", () => {
    const r = new DeviceRegistry();
    r.apply(ev(netAdd("eth1")));
    const moved = r.apply(ev(uevent("move@/devices/virtual/net/lan0", "ACTION=move", "DEVPATH=/devices/virtual/net/lan0",
      "DEVPATH_OLD=/devices/virtual/net/eth1", "SUBSYSTEM=net", "INTERFACE=lan0", "IFINDEX=7")));
    expect(moved.plugged).toContain("sys-subsystem-net-devices-lan0.device");
    expect(moved.unplugged).toContain("sys-subsystem-net-devices-eth1.device");
  });

  test("a rescan replaces what was known: devices gone while events were lost are unplugged", () => {
    const r = new DeviceRegistry();
    r.apply(ev(netAdd("eth1")));
    const change = r.replaceAll([{ devpath: "/devices/virtual/net/eth2", env: new Map([["SUBSYSTEM", "net"], ["INTERFACE", "eth2"]]) }]);
    expect(change.unplugged).toContain("sys-subsystem-net-devices-eth1.device");
    expect(change.plugged).toContain("sys-subsystem-net-devices-eth2.device");
  });
});

describe("device units in the engine", () => {
  const DEV = "dev-ttyUSB0.device";
  const sim = () => Sim.from([
    deviceUnit(DEV),
    service("modem", {}, { binds_to: [DEV], after: [DEV], wanted_by: [DEV] }),
    service("gps", { type: "notify" }, { requires: [DEV], after: [DEV] }),
  ]);
  const plug = (s: Sim, plugged: boolean) => s.send({ type: "device", unit: DEV, plugged });

  test("the device appearing starts what it wants; going, it stops what is bound to it", () => {
    const s = sim();
    plug(s, true);
    expect(s.sub(DEV)).toBe("plugged");
    expect(s.of("console").map((e) => e.text)).toEqual([`Found device ${DEV}.`, "Started modem."]);
    expect(s.state("modem")).toBe("active");
    plug(s, false);
    expect(s.sub(DEV)).toBe("dead");
    expect(s.state("modem")).toBe("deactivating");
  });

  test("a start that needs the device waits for it, and fails when it does not come in time", () => {
    const s = sim();
    s.start("gps");
    expect(s.state("gps")).toBe("inactive");
    s.advance(DEVICE_TIMEOUT_MS + 1);
    expect(s.jobResults(DEV)).toEqual(["timeout"]);
    expect(s.jobResults("gps")).toEqual(["dependency"]);
  });

  test("a unit bound to a device without after starts at once, and is stopped when the device does not come", () => {
    const s = Sim.from([deviceUnit(DEV), service("logger", {}, { binds_to: [DEV] })]);
    s.start("logger");
    expect(s.state("logger")).toBe("active");
    s.advance(DEVICE_TIMEOUT_MS + 1);
    expect(s.jobResults(DEV)).toEqual(["timeout"]);
    expect(s.state("logger")).toBe("deactivating");
  });

  test("a device that comes while a start waits for it lets the start go on", () => {
    const s = sim();
    s.start("gps");
    plug(s, true);
    expect(s.state("gps")).toBe("activating");
    expect(s.jobResults(DEV)).toEqual(["done"]);
  });

  test("the loader makes a unit of each device name given, none of other names", () => {
    const unit = (lists: Partial<Record<"binds_to" | "wanted_by", string[]>>) =>
      ({ name: "x", unit: { requires: [], wants: [], binds_to: [], conflicts: [], after: [], before: [], wanted_by: [], required_by: [], requires_mounts_for: [], description: "", ...lists } });
    expect(referencedDevices([unit({ binds_to: [DEV, "db"] }), unit({ wanted_by: [DEV, "etc-x.device"] }), null], new Set())).toEqual([DEV]);
  });
});

describe("the shell's device watching", () => {
  const logger = (lines: string[]) => ({ info: (t: string) => lines.push(t), warning: (t: string) => lines.push(`warning: ${t}`), debug: () => {} }) as never;
  const host = (start: () => { plugged: string[]; unplugged: string[] }, closed: string[] = []) =>
    ({ deviceWatcher: (opts: { changed: (c: unknown) => void }) => ({ start, close: () => closed.push("closed"), opts }) }) as never;

  test("only the device units the configuration has are told to the engine; none watched without any", () => {
    const events: unknown[] = [];
    const lines: string[] = [];
    const watcher = watchDevices(host(() => ({ plugged: [DEV_A, "dev-other.device"], unplugged: [] })), [deviceUnit(DEV_A), service("x")], logger(lines), (e) => events.push(e));
    expect(watcher).not.toBeNull();
    expect(events).toEqual([{ type: "device", unit: DEV_A, plugged: true }]);
    expect(watchDevices(host(() => { throw new Error("never"); }), [service("x")], logger(lines), () => {})).toBeNull();
  });

  test("a uevent socket that cannot be had is a warning; device units stay inactive", () => {
    const lines: string[] = [];
    const closed: string[] = [];
    const watcher = watchDevices(host(() => { throw new Error("socket: EPROTONOSUPPORT"); }, closed), [deviceUnit(DEV_A)], logger(lines), () => {});
    expect(watcher).toBeNull();
    expect(closed).toEqual(["closed"]);
    expect(lines.join("\n")).toContain("warning: cannot follow the kernel's devices: socket: EPROTONOSUPPORT");
  });
});
const DEV_A = "dev-ttyUSB0.device";
