// The mount plan of a unit's namespace (src/exec/mount-plan.ts): which steps, in which
// order, with which flags, from the directives and the host's mount points.

import { describe, expect, test } from "bun:test";
import { planMounts, type PlannedMount, type Sandbox } from "../../src/exec/mount-plan.ts";
import { ATTR } from "../../ffi/spawn-layout.ts";

const HOST = ["/", "/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/shm", "/boot", "/boot/efi", "/run", "/home", "/srv/data"];

function plan(sb: Sandbox, host = HOST): PlannedMount[] {
  const steps = planMounts(sb, host);
  if (typeof steps === "string") throw new Error(steps);
  return steps;
}

/** "kind path" of each step, with +ro/-noexec and the like for flag changes. */
function brief(steps: PlannedMount[]): string[] {
  const flag = (bits = 0) => (bits & ATTR.rdonly ? "ro" : "") + (bits & ATTR.noexec ? "noexec" : "");
  return steps.map((s) => {
    if (s.kind === "setattr") return `${s.set ? `+${flag(s.set)}` : `-${flag(s.clear)}`} ${s.path}`;
    if (s.kind === "bind") return `bind ${s.source}${s.source === s.path ? "" : ` ${s.path}`}`;
    return `${s.kind} ${s.path}`;
  });
}

describe("the mount plan", () => {
  test("nothing asked: no namespace", () => {
    expect(plan({})).toEqual([]);
    expect(plan({ protectSystem: false, protectHome: false, readOnlyPaths: [], writableDirectories: ["/run/x"] })).toEqual([]);
  });

  test('protect_system = "strict": every mount read-only, one by one, but the API file systems, homes, read_write_paths and the unit\'s directories', () => {
    const steps = brief(plan({ protectSystem: "strict", readWritePaths: ["/srv"], writableDirectories: ["/run/unit"] }));
    expect(steps).toEqual([
      // /proc, /sys, /dev and /home are mounts already; the others are bound onto themselves
      "bind /root", "bind /run/unit", "bind /run/user", "bind /srv",
      "+ro /", "+ro /boot", "+ro /boot/efi", "+ro /run",
    ]);
    // /srv/data is below /srv, a read-write path: left as it is, like /dev/shm and /sys/fs/cgroup
  });

  test("protect_system = true and \"full\": /usr, /boot, /efi (missing ones skipped), and /etc", () => {
    const steps = plan({ protectSystem: "full" });
    expect(brief(steps)).toEqual(["bind /efi", "bind /etc", "bind /usr", "+ro /boot", "+ro /boot/efi", "+ro /efi", "+ro /etc", "+ro /usr"]);
    expect(steps.filter((s) => s.path === "/efi").every((s) => s.optional)).toBe(true);
    expect(steps.find((s) => s.path === "/usr" && s.kind === "setattr")?.optional).toBe(false);
  });

  test("at one path the stronger directive wins; nothing is planned below a hidden path", () => {
    const steps = brief(plan({ readOnlyPaths: ["/srv", "/srv/a/b"], readWritePaths: ["/srv"], inaccessiblePaths: ["/srv/a"] }));
    expect(steps).toEqual(["bind /srv", "inaccessible /srv/a", "+ro /srv", "+ro /srv/data"]);
  });

  test("a read-only path's mounts below it get the flag too, except below another directive's path", () => {
    expect(brief(plan({ readOnlyPaths: ["/"], readWritePaths: ["/boot"] }))).toEqual([
      "+ro /", "+ro /dev", "+ro /dev/shm", "+ro /home", "+ro /proc", "+ro /run", "+ro /srv/data", "+ro /sys", "+ro /sys/fs/cgroup",
    ]);
  });

  test("no_exec_paths and exec_paths: noexec set, then cleared below", () => {
    expect(brief(plan({ noExecPaths: ["/srv"], execPaths: ["/srv/data"] }))).toEqual(["bind /srv", "+noexec /srv", "-noexec /srv/data"]);
  });

  test("bind_paths: recursive unless norbind, bringing the source's mounts; read-only ones get the flag on them", () => {
    const steps = plan({ bindReadOnlyPaths: ["/srv:/mnt/srv"], bindPaths: ["-/opt:/mnt/opt:norbind"] });
    expect(brief(steps)).toEqual(["bind /opt /mnt/opt", "bind /srv /mnt/srv", "+ro /mnt/srv", "+ro /mnt/srv/data"]);
    expect(steps[0]).toMatchObject({ recursive: false, optional: true });
    expect(steps[1]).toMatchObject({ recursive: true, optional: false });
  });

  test("private_tmp binds the unit's directories; a path to keep below it is dropped (its host copy is out of sight)", () => {
    const steps = plan({ protectSystem: "strict", privateTmp: { tmp: "/tmp/p/tmp", varTmp: "/var/tmp/p/tmp" }, writableDirectories: ["/tmp/run/unit"] });
    expect(steps.filter((s) => s.key === "private_tmp").map((s) => [s.path, s.source])).toEqual([["/tmp", "/tmp/p/tmp"], ["/var/tmp", "/var/tmp/p/tmp"]]);
    expect(steps.some((s) => s.path === "/tmp/run/unit")).toBe(false);
  });

  test("private_devices: a tmpfs put together aside, moved onto /dev, then read-only; earlier than the private /tmp it is built on", () => {
    const steps = plan({ privateDevices: true, privateTmp: { tmp: "/tmp/p/tmp", varTmp: null } });
    const move = steps.findIndex((s) => s.kind === "move");
    expect(steps[0]).toMatchObject({ kind: "tmpfs", path: "/tmp" });
    expect(steps[move]).toMatchObject({ path: "/dev", source: "/tmp" });
    expect(steps[move + 1]).toMatchObject({ kind: "setattr", path: "/dev", set: ATTR.rdonly });
    expect(steps.findIndex((s) => s.key === "private_tmp")).toBeGreaterThan(move);
    expect(steps.filter((s) => s.kind === "bind" && s.key === "private_devices").map((s) => s.source)).toEqual([
      "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/hugepages", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
    ]);
  });

  test("protect_proc and proc_subset: a new proc with hidepid= and subset=, before what protect_kernel_tunables does in it", () => {
    const steps = plan({ protectProc: "invisible", procSubset: "pid", protectKernelTunables: true });
    expect(steps[0]).toMatchObject({ kind: "proc", path: "/proc", data: "hidepid=invisible,subset=pid" });
    expect(brief(steps)).toContain("+ro /proc/sys");
    expect(brief(steps)).toContain("+ro /sys"); // and /sys/fs/cgroup left writable, as systemd
    expect(brief(steps)).not.toContain("+ro /sys/fs/cgroup");
    expect(brief(plan({ protectControlGroups: true }))).toEqual(["+ro /sys/fs/cgroup"]);
  });

  test("protect_clock hides the RTC devices, those that exist", () => {
    const steps = plan({ protectClock: true });
    expect(steps.map((s) => [s.kind, s.path, s.optional])).toEqual(
      ["/dev/rtc", "/dev/rtc0", "/dev/rtc1", "/dev/rtc2", "/dev/rtc3"].map((p) => ["inaccessible", p, true]));
  });

  test("temporary_file_system options: ro and friends as flags, the rest as tmpfs options, mode=0755 unless given", () => {
    const [ro, sized] = plan({ temporaryFileSystem: ["/var/cache:ro,size=10M", "/var/lib/x:mode=0700"] });
    expect(ro).toMatchObject({ kind: "tmpfs", path: "/var/cache", data: "mode=0755,size=10M", set: ATTR.rdonly | ATTR.nodev });
    expect(sized).toMatchObject({ data: "mode=0700", set: ATTR.nodev });
  });

  test("bad paths are refused, naming the directive", () => {
    expect(planMounts({ readOnlyPaths: ["relative"] }, HOST)).toBe('read_only_paths: not an absolute path: "relative"');
    expect(planMounts({ readWritePaths: ["/a/../etc"] }, HOST)).toBe('read_write_paths: ".." in "/a/../etc"');
    expect(planMounts({ bindPaths: ["/a:/b:rw:x"] }, HOST)).toContain("bind_paths");
    expect(planMounts({ temporaryFileSystem: ["/x:mode=07 55"] }, HOST)).toContain("bad mount options");
  });
});
