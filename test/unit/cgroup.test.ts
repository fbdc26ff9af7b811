// src/exec/cgroup.ts, the pure parts: reading mountinfo and /proc/PID/cgroup, writing
// limit values, naming unit cgroups.

import { describe, expect, test } from "bun:test";
import {
  findCgroup2Mount, formatCpuQuota, formatMemoryMax, formatTasksMax, limitFileValues, parseProcCgroup,
  unitDirName, unitOfCgroupPath,
} from "../../src/exec/cgroup.ts";

describe("findCgroup2Mount", () => {
  test("a hybrid host: cgroup2 beside the v1 hierarchies", () => {
    const mountinfo = [
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    ].join("\n");
    expect(findCgroup2Mount(mountinfo)).toEqual({ mountPoint: "/sys/fs/cgroup/unified", root: "/", options: ["rw"] });
  });

  test("a board: cgroup2 alone, with optional fields before the separator", () => {
    const mountinfo = "25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n";
    expect(findCgroup2Mount(mountinfo)).toEqual({ mountPoint: "/sys/fs/cgroup", root: "/", options: ["rw", "nsdelegate", "favordynmods"] });
  });

  test("octal escapes in the mount point; a root other than /", () => {
    const mountinfo = "50 1 0:40 /lxc/box /mnt/my\\040cgroups rw - cgroup2 none rw";
    expect(findCgroup2Mount(mountinfo)).toMatchObject({ mountPoint: "/mnt/my cgroups", root: "/lxc/box" });
  });

  test("none mounted; a file system merely named cgroup2 elsewhere in the line does not count", () => {
    expect(findCgroup2Mount("22 1 0:5 / /cgroup2 rw - tmpfs cgroup2 rw\n")).toBeNull();
    expect(findCgroup2Mount("")).toBeNull();
  });
});

describe("parseProcCgroup", () => {
  test("the 0:: line of a hybrid host", () => {
    expect(parseProcCgroup("9:name=systemd:/\n4:memory:/process_api/92aa\n0::/\n")).toBe("/");
  });

  test("a pure v2 system", () => {
    expect(parseProcCgroup("0::/hearth/web.service\n")).toBe("/hearth/web.service");
  });

  test("v1 only: no 0:: line", () => {
    expect(parseProcCgroup("4:memory:/\n1:cpu:/\n")).toBeNull();
  });
});

describe("limit values", () => {
  test("memory.max: bytes, or max", () => {
    expect(formatMemoryMax(64 * 2 ** 20)).toBe("67108864");
    expect(formatMemoryMax(Infinity)).toBe("max");
  });

  test("cpu.max: the quota of a 100 ms period, at least the kernel's 1 ms", () => {
    expect(formatCpuQuota(50)).toBe("50000 100000");
    expect(formatCpuQuota(150)).toBe("150000 100000");
    expect(formatCpuQuota(12.5)).toBe("12500 100000");
    expect(formatCpuQuota(0.1)).toBe("1000 100000");
  });

  test("pids.max: a count, or max", () => {
    expect(formatTasksMax(64)).toBe("64");
    expect(formatTasksMax(Infinity)).toBe("max");
  });

  test("every file, with max for the limits left unset", () => {
    expect(limitFileValues({ memoryMax: 1024, tasksMax: null })).toEqual({
      "memory.max": "1024", "cpu.max": "max", "pids.max": "max",
    });
  });
});

describe("unit cgroups", () => {
  test("a unit's directory is NAME.service: no unit name can be an interface file", () => {
    expect(unitDirName("web")).toBe("web.service");
    expect(unitDirName("memory.max")).toBe("memory.max.service");
  });

  test("the unit of a cgroup path below the hearth subtree", () => {
    expect(unitOfCgroupPath("/hearth/web.service", "/hearth")).toBe("web");
    expect(unitOfCgroupPath("/hearth/getty@tty1.service/sub", "/hearth")).toBe("getty@tty1");
    expect(unitOfCgroupPath("/hearth", "/hearth")).toBeNull();
    expect(unitOfCgroupPath("/hearth-other/web.service", "/hearth")).toBeNull();
    expect(unitOfCgroupPath("/hearth/stray", "/hearth")).toBeNull();
    expect(unitOfCgroupPath("/", "/hearth")).toBeNull();
  });
});
