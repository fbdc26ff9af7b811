// Babysitting with hearth as PID 1 and cgroup v2 (issue #3): a service whose 50 children
// started sessions of their own and ignore SIGTERM is gone within timeout_stop_sec + 1 s
// (only the unit's cgroup still ties them to it), and resource limits are the cgroup's.
// One board is enough here: the code path is the same on both.
import { beforeAll, describe, expect, test } from "bun:test";
import { boot, imagesMissing, type BootRun } from "./qemu.ts";

const BOARD = "qemu-aarch64";
const BOOT_TIMEOUT_MS = 240_000;
let run: BootRun;

const file = (name: string, text: string) => ({ name: `etc/hearth/units/${name}.toml`, mode: 0o100644, data: Buffer.from(text) });

const STUBBORN = file("stubborn", `
[unit]
description = "50 children in sessions of their own, all ignoring SIGTERM"

[service]
timeout_stop_sec = 2
exec_start = ["/bin/sh", "-c", "trap '' TERM; for i in $(seq 50); do setsid /bin/sh -c \\"trap '' TERM; exec sleep 1000\\" & done; exec sleep 1000"]
`);

// Counts the processes running "sleep 1000" (the stubborn ones), from /proc.
const COUNT = `n=0; for p in /proc/[0-9]*; do if tr '\\\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '^sleep 1000'; then n=$((n+1)); fi; done; echo $n`;

const STOPPER = file("stop-test", `
[unit]
description = "starts and stops the stubborn service, reports on the console"
wanted_by = ["multi-user"]
after = ["multi-user"]
before = ["poweroff-when-up"]

[service]
type = "oneshot"
remain_after_exit = true
standard_input = "tty"
exec_start = ["/bin/sh", "-c", """
/usr/bin/hearth ctl start stubborn
# until all 51 have forked and exec'd sleep (at most 20 s: TCG on a loaded host is slow)
i=0
while [ $i -lt 100 ] && { [ $(wc -l < /sys/fs/cgroup/hearth/stubborn.service/cgroup.procs) -lt 51 ] || [ $(${COUNT.replace(/"/g, '\\"')}) -lt 51 ]; }; do sleep 0.2; i=$((i+1)); done
echo "stop-test: cgroup $(wc -l < /sys/fs/cgroup/hearth/stubborn.service/cgroup.procs) processes"
echo "stop-test: sleeping $(${COUNT.replace(/"/g, '\\"')})"
t0=$(cut -d' ' -f1 /proc/uptime)
/usr/bin/hearth ctl status stubborn > /dev/null
t1=$(cut -d' ' -f1 /proc/uptime)
echo "stop-test: ctl round trip $t0 $t1"
t0=$(cut -d' ' -f1 /proc/uptime)
/usr/bin/hearth ctl stop stubborn
t1=$(cut -d' ' -f1 /proc/uptime)
echo "stop-test: stop took $t0 $t1"
sleep 0.5
echo "stop-test: left $(${COUNT.replace(/"/g, '\\"')})"
"""]
`);

// Resource limits through the unit's cgroup, read back from inside it.
const LIMITS = file("limits", `
[unit]
description = "reports its cgroup's limits"
wanted_by = ["multi-user"]

[service]
type = "oneshot"
remain_after_exit = true
standard_input = "tty"
memory_max = "64M"
cpu_quota = "50%"
tasks_max = 8
exec_start = ["/bin/sh", "-c", """
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
echo "limits: cgroup $cg"
echo "limits: memory.max $(cat $cg/memory.max)"
echo "limits: cpu.max $(cat $cg/cpu.max)"
echo "limits: pids.max $(cat $cg/pids.max)"
"""]
`);

// tasks_max at work: the shell tries ten children with room for four tasks.
const FORKER = file("forker", `
[unit]
description = "forks past its tasks_max"
wanted_by = ["multi-user"]

[service]
type = "oneshot"
tasks_max = 4
exec_start = ["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait"]
`);

beforeAll(async () => {
  const missing = imagesMissing(BOARD);
  if (missing) throw new Error(missing);
  run = await boot(BOARD, { append: "hearth.wants=poweroff-when-up", overlay: [STUBBORN, STOPPER, LIMITS, FORKER], timeoutMs: BOOT_TIMEOUT_MS });
}, BOOT_TIMEOUT_MS + 30_000);

describe(`${BOARD}: stopping`, () => {
  const line = (key: string) => {
    const found = run.console.split("\n").find((l) => l.startsWith(`stop-test: ${key} `));
    if (!found) throw new Error(`no "stop-test: ${key}" on the console:\n${run.console.slice(-6000)}`);
    return found.trim().split(" ").slice(2);
  };

  test("51 processes in the unit's cgroup, 51 running", () => {
    expect(Number(line("cgroup")[0])).toBe(51);
    expect(Number(line("sleeping")[0])).toBe(51);
  });

  test("stopped within timeout_stop_sec + 1 s, none left", () => {
    // `hearth ctl` is a Bun binary: under TCG its own start takes about a second, which
    // a plain status request measures and the stop's time does not count.
    const [r0, r1] = line("ctl round trip").slice(2).map(Number);
    const [t0, t1] = line("stop").slice(1).map(Number);
    const took = t1! - t0! - (r1! - r0!);
    expect(took).toBeGreaterThan(1.5); // SIGTERM was ignored: it took the SIGKILL at 2 s
    expect(took).toBeLessThan(3);
    expect(Number(line("left")[0])).toBe(0);
    expect(run.exitCode).toBe(0);
  });
});

describe(`${BOARD}: resource limits`, () => {
  const limit = (key: string) => {
    const found = run.console.split("\n").find((l) => l.startsWith(`limits: ${key} `));
    if (!found) throw new Error(`no "limits: ${key}" on the console:\n${run.console.slice(-6000)}`);
    return found.trim().split(" ").slice(2).join(" ");
  };

  test("memory_max, cpu_quota and tasks_max are the unit's cgroup's limits", () => {
    expect(limit("cgroup")).toBe("/sys/fs/cgroup/hearth/limits.service");
    expect(limit("memory.max")).toBe(String(64 * 1024 * 1024));
    expect(limit("cpu.max")).toBe("50000 100000");
    expect(limit("pids.max")).toBe("8");
  });

  test("tasks_max holds: the kernel refuses the fifth task", () => {
    expect(run.console).toContain("cgroup: fork rejected by pids controller in /hearth/forker.service");
  });
});
