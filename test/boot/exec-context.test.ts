// The hardened execution context on both QEMU boards, with hearth as PID 1: the same
// code in the child as on the host, but arm64's syscall numbers, a real board kernel, and
// an initramfs root. Units laid over the example image report what they see from
// inside on the console (standard_input = "tty"); the test reads the console.

import { beforeAll, describe, expect, test } from "bun:test";
import { boot, imagesMissing, type BootRun } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"] as const;
const BOOT_TIMEOUT_MS = 240_000;
const runs = new Map<string, BootRun>();

/** A oneshot unit that prints lines on the console; lines starting "unit." go in [unit], the others in [service]. */
function unit(name: string, script: string[], ...lines: string[]): { name: string; mode: number; data: Uint8Array } {
  const text = `
[unit]
description = "${name}: the execution context, seen from inside"
wanted_by = ["multi-user"]
${lines.filter((l) => l.startsWith("unit.")).map((l) => l.slice("unit.".length)).join("\n")}

[service]
type = "oneshot"
remain_after_exit = true
standard_input = "tty"
exec_start = ["/bin/sh", "-c", ${JSON.stringify(script.join("\n"))}]
${lines.filter((l) => !l.startsWith("unit.")).join("\n")}
`;
  return { name: `etc/hearth/units/${name}.toml`, mode: 0o100644, data: Buffer.from(text) };
}

const OVERLAY = [
  unit("ctx-root", [
    'echo "ctx-root: cpus $(grep Cpus_allowed_list /proc/self/status | cut -f2)"',
    'echo "ctx-root: ionice $(busybox ionice)"',
    'echo "ctx-root: write $( (echo x > /etc/ctx-test) 2>&1 )"',
    'echo "ctx-root: etc $(grep " /etc " /proc/self/mountinfo | cut -d" " -f6)"',
    'echo "ctx-root: hidden-file $( (cat /etc/group) 2>&1 )"',
    'echo "ctx-root: hidden-dir $(ls -A /root | wc -l) $(stat -c %%a /root)"',
    'echo "ctx-root: tmp $(ls -A /tmp | wc -l) $(grep " /tmp " /proc/self/mountinfo | cut -d" " -f9)"',
    "touch /tmp/ctx-marker",
  ],
  "cpu_affinity = [0]",
  'io_scheduling_class = "idle"',
  'read_only_paths = ["/etc", "-/var/lib/nothing-here"]',
  'inaccessible_paths = ["/root", "/etc/group"]',
  "private_tmp = true"),
  unit("ctx-after", [
    'if test -e /tmp/ctx-marker; then echo "ctx-after: marker leaked"; else echo "ctx-after: marker private"; fi',
    'echo "ctx-after: etc $(grep " /etc " /proc/self/mountinfo | wc -l)"',
  ],
  'unit.after = ["ctx-root"]'),
  unit("ctx-nobody", [
    "grep -E '^(Uid|CapBnd|CapAmb|CapEff|NoNewPrivs):' /proc/self/status | while read key value rest; do echo \"ctx-nobody: $key $value\"; done",
    'echo "ctx-nobody: ionice $(busybox ionice)"',
  ],
  'user = "nobody"',
  'working_directory = "/"',
  "io_scheduling_priority = 6",
  'capability_bounding_set = "CAP_NET_BIND_SERVICE CAP_NET_RAW"',
  'ambient_capabilities = ["CAP_NET_BIND_SERVICE"]',
  "no_new_privileges = true"),
];

beforeAll(async () => {
  for (const b of BOARDS) {
    const missing = imagesMissing(b);
    if (missing) throw new Error(missing);
  }
  const results = await Promise.all(BOARDS.map((b) =>
    boot(b, { append: "hearth.wants=poweroff-when-up", overlay: OVERLAY, timeoutMs: BOOT_TIMEOUT_MS })));
  BOARDS.forEach((b, i) => runs.set(b, results[i]!));
}, BOOT_TIMEOUT_MS + 30_000);

for (const board of BOARDS) {
  describe(board, () => {
    /** What a unit reported for a key: the rest of its "UNIT: KEY ..." line. */
    const reported = (unitName: string, key: string): string => {
      const run = runs.get(board)!;
      const line = run.console.split("\n").find((l) => l.startsWith(`${unitName}: ${key} `) || l.trim() === `${unitName}: ${key}`);
      if (line === undefined) throw new Error(`no "${unitName}: ${key}" on the console of ${board}:\n${run.console.slice(-6000)}`);
      return line.slice(`${unitName}: ${key}`.length).trim();
    };

    test("the board booted and powered off cleanly", () => {
      const run = runs.get(board)!;
      if (run.timedOut || run.exitCode !== 0) console.error(run.console.slice(-6000));
      expect(run.timedOut).toBe(false);
      expect(run.exitCode).toBe(0);
      expect(run.console).not.toMatch(/Failed to start ctx-/);
    });

    test("cpu_affinity and I/O scheduling", () => {
      expect(reported("ctx-root", "cpus")).toBe("0");
      expect(reported("ctx-root", "ionice")).toMatch(/^idle/);
      expect(reported("ctx-nobody", "ionice")).toBe("best-effort: prio 6");
    });

    test("read_only_paths, inaccessible_paths, private_tmp in a namespace of the unit's own", () => {
      expect(reported("ctx-root", "write")).toContain("Read-only file system");
      expect(reported("ctx-root", "etc").split(",")).toContain("ro");
      expect(reported("ctx-root", "hidden-file")).toContain("Permission denied");
      expect(reported("ctx-root", "hidden-dir")).toBe("0 0");
      expect(reported("ctx-root", "tmp")).toBe("0 tmpfs");
      expect(reported("ctx-after", "marker")).toBe("private");
      expect(reported("ctx-after", "etc")).toBe("0"); // the next unit has no such mount
    });

    test("capabilities for another user, and no_new_privileges", () => {
      expect(reported("ctx-nobody", "Uid:")).toBe("65534");
      expect(reported("ctx-nobody", "CapBnd:")).toBe("0000000000002400");
      expect(reported("ctx-nobody", "CapAmb:")).toBe("0000000000000400");
      expect(reported("ctx-nobody", "CapEff:")).toBe("0000000000000400");
      expect(reported("ctx-nobody", "NoNewPrivs:")).toBe("1");
    });
  });
}
