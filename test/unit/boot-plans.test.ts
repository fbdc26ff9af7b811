// The pure decisions of early boot and the way down (src/boot/).
import { describe, expect, test } from "bun:test";
import { MS } from "../../ffi/constants.ts";
import { parseMountOptions } from "../../src/boot/mount-options.ts";
import { API_MOUNTS, planApiMounts } from "../../src/boot/api-mounts.ts";
import { moduleName, parseModulesBuiltin, parseModulesDep, planModules } from "../../src/boot/modules.ts";
import { parseMountinfo, planUnmounts } from "../../src/boot/mountinfo.ts";
import { parsePpid, statField } from "../../src/boot/procstat.ts";
import { formatPhases, formatStartupFinished, phaseRows, type PhaseName, type StartupPhases } from "../../src/control/startup-phases.ts";
import { kmsgRecord } from "../../src/boot/phase-marks.ts";
import { chooseHostname } from "../../src/boot/early.ts";

describe("parseMountOptions", () => {
  test("flag words become flags, the rest is the file system's data", () => {
    expect(parseMountOptions("nosuid,nodev,mode=0755,size=10%")).toEqual({ flags: MS.NOSUID | MS.NODEV, data: "mode=0755,size=10%" });
  });
  test("later words undo earlier ones, as mount(8) reads them", () => {
    expect(parseMountOptions("ro,noexec,rw,exec").flags).toBe(0);
    expect(parseMountOptions("noatime,relatime,norelatime").flags).toBe(MS.NOATIME);
  });
  test("fstab-only words are dropped; rbind is bind + rec", () => {
    expect(parseMountOptions("defaults,nofail,x-systemd.automount,_netdev,noauto")).toEqual({ flags: 0, data: "" });
    expect(parseMountOptions("rbind").flags).toBe(MS.BIND | MS.REC);
    expect(parseMountOptions("").flags).toBe(0);
  });
});

describe("planApiMounts", () => {
  test("everything when nothing is mounted, parents before what is inside them", () => {
    const plan = planApiMounts(() => false).map((m) => m.where);
    expect(plan).toEqual(API_MOUNTS.map((m) => m.where));
    expect(plan.indexOf("/dev")).toBeLessThan(plan.indexOf("/dev/pts"));
    expect(plan.indexOf("/sys")).toBeLessThan(plan.indexOf("/sys/fs/cgroup"));
  });
  test("what is mounted already is left alone (a board whose kernel mounted devtmpfs)", () => {
    const plan = planApiMounts((p) => p === "/dev" || p === "/proc").map((m) => m.where);
    expect(plan).not.toContain("/dev");
    expect(plan).not.toContain("/proc");
    expect(plan).toContain("/sys/fs/cgroup");
  });
  test("cgroup v2 at /sys/fs/cgroup", () => {
    expect(API_MOUNTS.find((m) => m.where === "/sys/fs/cgroup")?.type).toBe("cgroup2");
  });
});

describe("modules.dep", () => {
  const dep = parseModulesDep([
    "kernel/drivers/watchdog/i6300esb.ko: kernel/drivers/watchdog/watchdog.ko",
    "kernel/drivers/watchdog/watchdog.ko: kernel/drivers/watchdog/pretimeout-noop.ko",
    "kernel/drivers/watchdog/pretimeout-noop.ko:",
    "kernel/drivers/net/dummy.ko.xz:",
    "",
  ].join("\n"));
  const builtin = parseModulesBuiltin("kernel/drivers/virtio/virtio.ko\nkernel/fs/ext4/ext4.ko\n");

  test("names: basename without .ko (and compression), '-' read as '_'", () => {
    expect(moduleName("kernel/drivers/watchdog/pretimeout-noop.ko")).toBe("pretimeout_noop");
    expect(moduleName("kernel/drivers/net/dummy.ko.xz")).toBe("dummy");
    expect(moduleName("i6300esb")).toBe("i6300esb");
  });
  test("a module after its dependencies, each once", () => {
    const plan = planModules(["i6300esb", "watchdog"], dep, builtin);
    expect(plan.load.map((m) => m.name)).toEqual(["pretimeout_noop", "watchdog", "i6300esb"]);
    expect(plan.missing).toEqual([]);
  });
  test("built-in and unknown modules are told apart", () => {
    const plan = planModules(["ext4", "nosuchthing", "dummy"], dep, builtin);
    expect(plan.builtin).toEqual(["ext4"]);
    expect(plan.missing).toEqual(["nosuchthing"]);
    expect(plan.load.map((m) => m.path)).toEqual(["kernel/drivers/net/dummy.ko.xz"]);
  });
});

describe("mountinfo and the unmount order", () => {
  const text = [
    "1 1 0:2 / / rw - rootfs rootfs rw",
    "20 1 0:20 / /proc rw,nosuid,nodev,noexec - proc proc rw",
    "21 1 0:21 / /sys rw - sysfs sysfs rw",
    "22 21 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate",
    "23 1 0:5 / /dev rw - devtmpfs devtmpfs rw",
    "24 1 0:23 / /run rw - tmpfs tmpfs rw",
    "30 1 254:2 / /data rw - ext4 /dev/vda2 rw",
    "31 30 0:30 / /data/cache rw - tmpfs tmpfs rw",
    "32 1 0:31 / /mnt/with\\040space rw - tmpfs tmpfs rw",
    "33 1 0:32 / /tmp rw - tmpfs tmpfs rw",
  ].join("\n");
  test("parses fields around the optional ones, with octal escapes", () => {
    const mounts = parseMountinfo(text);
    expect(mounts).toHaveLength(10);
    expect(mounts[6]).toEqual({ id: 30, parent: 1, mountPoint: "/data", fstype: "ext4", source: "/dev/vda2", options: "rw" });
    expect(mounts[8]!.mountPoint).toBe("/mnt/with space");
  });
  test("deepest first, API file systems and the root left out; the root remounted read-only", () => {
    const plan = planUnmounts(parseMountinfo(text));
    expect(plan.unmount).toEqual(["/mnt/with space", "/data/cache", "/tmp", "/data"]);
    expect(plan.remountReadOnly).toEqual(["/"]);
  });
  test("a read-only root is not remounted", () => {
    expect(planUnmounts(parseMountinfo("1 1 0:2 / / ro - ext4 /dev/root ro")).remountReadOnly).toEqual([]);
  });
});

describe("/proc/PID/stat", () => {
  const stat = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4567 1000 10";
  test("fields are counted from the last parenthesis", () => {
    expect(statField(stat, 3)).toBe("S");
    expect(parsePpid(stat)).toBe(1);
    expect(statField(stat, 22)).toBe("4567");
  });
});

describe("start-up phases", () => {
  const at = (phase: PhaseName, atMs: number) => ({ phase, atMs });
  const boot: StartupPhases = {
    origin: "kernel",
    marks: [at("handover", 1499.6), at("runtime-ready", 1910.2), at("code-loaded", 2300), at("config-loaded", 2550.4),
      at("first-spawn", 2630), at("target-reached", 5406.2)],
  };
  test("the startup line splits the boot by phase, in whole ms that add up", () => {
    expect(formatStartupFinished(boot, 18)).toBe("Startup finished in 1500 ms (kernel) + 410 ms (runtime) + 390 ms (hearth code)" +
      " + 250 ms (configuration) + 80 ms (first spawn) + 2776 ms (units) = 5406 ms; 18 units ready");
  });
  test("analyze time: each phase since the handover and from the one before, like systemd-analyze time", () => {
    expect(formatPhases(boot, "multi-user").split("\n")).toEqual([
      "Startup finished in 1.500s (kernel) + 411ms (runtime) + 390ms (hearth code) + 250ms (configuration) + 80ms (first spawn) + 2.776s (units) = 5.406s",
      "multi-user reached 3.907s after the kernel's handover, 5.406s after boot.",
      "",
      "phase                 since handover     delta",
      "kernel handover                  0ms   +1.500s",
      "runtime ready                  411ms    +411ms",
      "code loaded                    800ms    +390ms",
      "configuration loaded          1.051s    +250ms",
      "first spawn                   1.130s     +80ms",
      "target reached                3.907s   +2.776s",
    ]);
  });
  test("in run mode time counts from the process's start; phases not reached are left out", () => {
    const run: StartupPhases = { origin: "process", marks: [at("code-loaded", 1030), at("handover", 1000), at("config-loaded", 1040)] };
    expect(phaseRows(run).map((r) => [r.label, r.sinceHandoverMs, r.deltaMs])).toEqual([
      ["process started", 0, 0], ["code loaded", 30, 30], ["configuration loaded", 40, 10],
    ]);
    expect(formatPhases(run, "default").split("\n")[0]).toBe("Startup not finished yet: default not reached; so far 30ms (hearth code) + 10ms (configuration) = 40ms");
  });
  test("a /dev/kmsg record gives its time and text", () => {
    expect(kmsgRecord("6,339,1499612,-;Run /sbin/init as init process\n")).toEqual({ ms: 1499.612, text: "Run /sbin/init as init process" });
    expect(kmsgRecord("garbage")).toBeNull();
  });
});

describe("hostname", () => {
  test("system.toml, else /etc/hostname's first real line, else hearth", () => {
    expect(chooseHostname("board", "other\n")).toBe("board");
    expect(chooseHostname(null, "# comment\n\n  pi4  \n")).toBe("pi4");
    expect(chooseHostname(null, null)).toBe("hearth");
  });
});
