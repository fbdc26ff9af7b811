// Boot tests: each QEMU board boots the example rootfs (a real Debian kernel, TCG), and
// everything is read from its serial console. Both boards boot at once (one core
// each); each boot is bounded in time and QEMU is killed when it overruns.

import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { boot, imagesMissing, REPO, selfcheckUnits, type BootRun, type UnitState } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"] as const;
const BOOT_TIMEOUT_MS = 240_000;
const runs = new Map<string, BootRun>();

const EXAMPLE_UNITS = readdirSync(join(REPO, "board/rootfs/etc/hearth/units"))
  .map((f) => f.replace(/\.toml$/, ""))
  .filter((u) => u !== "poweroff-when-up" && u !== "selfcheck"); // selfcheck reports while it runs

beforeAll(async () => {
  for (const b of BOARDS) {
    const missing = imagesMissing(b);
    if (missing) throw new Error(missing);
  }
  const results = await Promise.all(BOARDS.map((b) =>
    boot(b, { append: "hearth.wants=poweroff-when-up hearth.log_level=info", timeoutMs: BOOT_TIMEOUT_MS })));
  BOARDS.forEach((b, i) => runs.set(b, results[i]!));
}, BOOT_TIMEOUT_MS + 30_000);

function overlaps(a: UnitState, b: UnitState): boolean {
  return a.activatingAt! < b.activeAt! && b.activatingAt! < a.activeAt!;
}

for (const board of BOARDS) {
  describe(board, () => {
    const run = () => runs.get(board)!;
    const units = () => selfcheckUnits(run().console);
    const explain = () => `console of ${board}:\n${run().console.slice(-6000)}`;

    test("boots, prints the startup line, and powers off cleanly (QEMU exits 0)", () => {
      const r = run();
      if (r.timedOut || r.exitCode !== 0) console.error(explain());
      expect(r.timedOut).toBe(false);
      expect(r.console).toContain("running as PID 1.");
      const m = r.console.match(/Startup finished in (.*) = (\d+) ms; (\d+) units ready/);
      expect(m).not.toBeNull();
      // Every phase of hearth's own start, in order, each a part of the total.
      const parts = m![1]!.split(" + ").map((p) => /^(\d+) ms \((.+)\)$/.exec(p));
      expect(parts.map((p) => p?.[2])).toEqual(["kernel", "runtime", "hearth code", "configuration", "first spawn", "units"]);
      const ms = parts.map((p) => Number(p![1]));
      expect(ms[0]!).toBeGreaterThan(0);
      expect(ms.reduce((a, b) => a + b, 0)).toBe(Number(m![2]));
      const rss = r.console.match(/hearth: PID 1 resident memory after start-up: (\d+\.\d) MiB \(anonymous (\d+\.\d), file pages (\d+\.\d)\)/);
      expect(rss).not.toBeNull();
      // A control command on the board works, and what it costs is on the console (bench/startup-floor.ts reads it).
      const ctl = r.console.match(/selfcheck: hearthctl status echo (\d+) ms, hearth --version (\d+) ms, the request alone (\d+) ms/);
      expect(ctl).not.toBeNull();
      console.log(`${board}: ${m![0]}; ${rss![0]}; ${ctl![0].slice(11)}; boot to poweroff ${(r.ms / 1000).toFixed(1)} s wall`);
      expect(r.console).toContain("Powering off.");
      expect(r.console).toContain("reboot: Power down");
      expect(r.console).not.toContain("Kernel panic");
      expect(r.exitCode).toBe(0);
    });

    test("every example unit is ready, none failed", () => {
      const u = units();
      for (const name of EXAMPLE_UNITS) {
        expect({ name, active: u.get(name)?.active }).toEqual({ name, active: "active" });
      }
      expect([...u.values()].filter((x) => x.active === "failed").map((x) => x.name)).toEqual([]);
      expect(run().console).toContain("echo-client: sent 'hello hearth', got 'hello hearth'");
    });

    test("the start is parallel: independent units overlap, the chain is ordered", () => {
      const u = units();
      const [a, b, c] = ["slow-a", "slow-b", "slow-c"].map((n) => u.get(n)!);
      expect(overlaps(a!, b!) && overlaps(b!, c!) && overlaps(a!, c!)).toBe(true);
      const [c1, c2, c3] = ["chain-1", "chain-2", "chain-3"].map((n) => u.get(n)!);
      expect(c2!.activatingAt!).toBeGreaterThanOrEqual(c1!.activeAt!);
      expect(c3!.activatingAt!).toBeGreaterThanOrEqual(c2!.activeAt!);
      // A mount and the unit that requires it: the unit waits, the others do not.
      const mount = u.get("var-lib-demo.mount")!;
      expect(mount.kind).toBe("mount");
      expect(u.get("prepare")!.activatingAt!).toBeGreaterThanOrEqual(mount.activeAt!);
      expect(run().console).toContain("[  OK  ] Mounted /var/lib/demo.");
    });

    test("the crashing service was restarted and is running", () => {
      const crasher = units().get("crasher")!;
      expect(crasher.nRestarts).toBeGreaterThanOrEqual(1);
      expect(crasher.exits[0]?.description).toBe("exited, code=3");
      expect(crasher.active).toBe("active");
      expect(run().console).toContain("crasher: Main process exited, code=3 before it was ready");
    });

    test("cgroup v2 is mounted, /run/systemd/system exists, the watchdog driver loaded", () => {
      const text = run().console;
      expect(text).toContain("selfcheck: cgroup2 mounted on /sys/fs/cgroup");
      expect(text).toContain("selfcheck: /run/systemd/system present");
      expect(text).toMatch(/kernel module i6300esb: (loaded|already loaded)/);
      expect(text).toContain("net.unix.max_dgram_qlen raised from 10 to 512"); // the notify socket's queue
    });

    test("no zombie: the orphans left behind were reaped by PID 1", () => {
      expect(units().get("orphans")!.active).toBe("active");
      expect(run().console).toContain("selfcheck: zombies 0");
    });

    test("the echo service is started by the first connection to its socket", () => {
      const u = units();
      const [echo, client] = [u.get("echo")!, u.get("echo-client")!];
      // Nothing wants echo: it ran because echo-client connected, after echo-client started.
      expect(echo.active).toBe("active");
      expect(echo.activatingAt!).toBeGreaterThanOrEqual(client.activatingAt!);
      // hearth made the socket and passed it (had echo bound 127.0.0.1:7777 itself, the
      // address would have been in use and echo failed).
      expect(echo.sockets).toEqual([expect.objectContaining({ listen: "127.0.0.1:7777 (Stream)", name: "echo", state: "running" })]);
      // The first connect succeeded: the socket was there before either unit started.
      expect(run().console).toContain("echo-client: sent 'hello hearth', got 'hello hearth' after 1 attempt(s): ok");
    });
  });
}

describe("rescue", () => {
  test("a broken /etc/hearth boots the rescue target with a shell on the console", async () => {
    const missing = imagesMissing("qemu-aarch64");
    if (missing) throw new Error(missing);
    const r = await boot("qemu-aarch64", {
      overlay: [{ name: "etc/hearth/system.toml", mode: 0o100644, data: Buffer.from("[manager\nthis is not toml\n") }],
      interact: [
        { when: /Started Rescue shell on the console/, send: "\n" },
        { when: /rescue# /, send: "echo rescue-$((6*7))\n" },
        { when: /^rescue-42\r?\n/m, send: "poweroff\n" }, // after the whole line, or the echo of "poweroff" lands on it
      ],
      timeoutMs: 180_000,
    });
    if (r.timedOut || r.exitCode !== 0) console.error(r.console.slice(-5000));
    expect(r.console).toMatch(/\[FAILED\] Booting the rescue target: .*system\.toml:1:\d+: error: TOML syntax error/);
    expect(r.console).toContain("[  OK  ] Reached target Rescue Mode.");
    expect(r.console).toMatch(/^rescue-42\r?$/m);
    expect(r.console).toContain("Powering off.");
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
  }, 200_000);
});
