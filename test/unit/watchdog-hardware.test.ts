// The hardware watchdog's owner against a fake device and a fake clock: what it asks of
// the driver, when it pings, when it stops, what it does on the way down. The real
// devices (i6300esb, softdog) are driven under QEMU in test/boot/watchdog.test.ts.
import { describe, expect, test } from "bun:test";
import { E } from "../../ffi/constants.ts";
import { SysError } from "../../ffi/libc.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { HardwareWatchdog, type WatchdogDevice } from "../../src/watchdog/hardware.ts";
import type { HealthVerdict } from "../../src/watchdog/policy.ts";

interface FakeDriver {
  present: string[]; // paths that exist
  accepts?: (sec: number) => number | "unsupported" | "einval" | "eio";
  range?: { min: number; max: number }; // what sysfs says
  current: number; // the driver's timeout
  bootStatus: number;
}

class FakeDevice implements WatchdogDevice {
  calls: string[] = [];
  constructor(readonly path: string, private readonly driver: FakeDriver, private readonly world: World) {}
  info() { return { identity: "Fake timer", options: 0x8180, firmwareVersion: 0 }; }
  bootStatus() { return this.driver.bootStatus; }
  setTimeout(sec: number) {
    this.calls.push(`settimeout ${sec}`);
    const r = this.driver.accepts?.(sec) ?? sec;
    if (r === "einval") throw new SysError("WDIOC_SETTIMEOUT", E.EINVAL);
    if (r === "eio") throw new SysError("WDIOC_SETTIMEOUT", E.EIO);
    if (r !== "unsupported") this.driver.current = r;
    return r;
  }
  timeout() { return this.driver.current; }
  timeLeft() { return null; }
  enable() { this.calls.push("enable"); }
  keepalive() { this.world.pings.push(this.world.now); return true; }
  disarmAndClose() { this.calls.push("disarm"); this.world.closed = "disarmed"; }
  closeArmed() { this.calls.push("close-armed"); this.world.closed = "armed"; }
}

class World {
  now = 0;
  pings: number[] = [];
  lines: string[] = [];
  logs: string[] = [];
  closed: "disarmed" | "armed" | null = null;
  device: FakeDevice | null = null;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  verdict: HealthVerdict = { healthy: true };

  constructor(readonly driver: FakeDriver) {}

  owner(device = "/dev/watchdog0") {
    const log = createLogger({ level: "debug", sink: (r) => this.logs.push(r.text), now: () => this.now });
    const wd = new HardwareWatchdog(device, {
      open: (path) => {
        if (!this.driver.present.includes(path)) throw new SysError("open", E.ENOENT, path);
        return (this.device = new FakeDevice(path, this.driver, this));
      },
      log,
      console: (line) => this.lines.push(line),
      now: () => this.now,
      setTimer: (fn, ms) => { const id = this.nextId++; this.timers.set(id, { at: this.now + ms, fn }); return id; },
      clearTimer: (id) => void this.timers.delete(id as number),
      timeoutRange: () => this.driver.range ?? null,
    });
    wd.gateOn(["db"], () => {
      if (this.verdict.healthy === false && this.verdict.reason === "throw") throw new Error("a bug");
      return this.verdict;
    });
    return wd;
  }

  /** Runs the timers due until `until`, each at its time plus `late` ms. */
  advance(until: number, late = 0) {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at + late <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at + late;
      due[1].fn();
    }
    this.now = until;
  }
}

const i6300esb = (): FakeDriver => ({ present: ["/dev/watchdog0"], current: 30, bootStatus: 0 });

describe("the runtime watchdog", () => {
  test("armed at boot: the timeout is set, the card enabled, pinged at once and every T/2", () => {
    const w = new World(i6300esb());
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 600);
    expect(w.device!.calls).toEqual(["settimeout 5", "enable"]);
    expect(w.lines).toEqual(["Hardware watchdog 'Fake timer' armed on /dev/watchdog0: timeout 5s, ping every 2.5s"]);
    w.advance(10_000);
    expect(w.pings).toEqual([0, 2500, 5000, 7500, 10_000]);
    const s = wd.state();
    expect(s).toMatchObject({ armed: true, phase: "runtime", timeoutSec: 5, readBackSec: 5, pings: 5, pinging: true, pingIntervalMs: 2500 });
    expect(s.timeLeftSec).toBe(5);
    expect(s.timeLeftFrom).toBe("last ping");
    expect(s.figures).toMatchObject({ samples: 4, meanMs: 2500, jitterMs: { p50: 0, p99: 0, max: 0 } });
  });

  test("a late timer does not shift the cadence; jitter and lateness are measured", () => {
    const w = new World(i6300esb());
    w.owner().startRuntime(5, "multi-user", 600);
    w.advance(10_000, 3);
    expect(w.pings).toEqual([0, 2503, 5003, 7503]);
  });

  test("the timeout the device runs with (WDIOC_GETTIMEOUT) is adopted, with a warning, when the driver rounds, refuses or cannot change", () => {
    const rounds = new World({ ...i6300esb(), accepts: (s) => s + 1 });
    rounds.owner().startRuntime(5, "multi-user", 600);
    expect(rounds.lines[0]).toContain("timeout 6s, ping every 3s");
    expect(rounds.logs).toContain("Hardware watchdog: asked for 5s, the driver set 6s; using the 6s the device runs with");

    const fixed = new World({ ...i6300esb(), accepts: () => "unsupported", current: 60 });
    fixed.owner().startRuntime(5, "multi-user", 600);
    expect(fixed.lines[0]).toContain("timeout 60s, ping every 30s");
    expect(fixed.logs).toContain("Hardware watchdog: asked for 5s, the driver cannot change its timeout; using the 60s the device runs with");

    const refuses = new World({ ...i6300esb(), accepts: () => "einval", current: 30 });
    refuses.owner().startRuntime(5, "multi-user", 600);
    expect(refuses.lines[0]).toContain("timeout 30s, ping every 15s");
    expect(refuses.logs).toContain("Hardware watchdog: asked for 5s, the driver refused it; using the 30s the device runs with");
  });

  test("a timeout out of the driver's range is brought into it (sysfs min_timeout/max_timeout)", () => {
    const w = new World({ ...i6300esb(), accepts: (s) => (s > 2046 ? "einval" : s), range: { min: 1, max: 2046 } });
    w.owner().startRuntime(3600, "multi-user", 600);
    expect(w.device!.calls).toEqual(["settimeout 3600", "settimeout 2046", "enable"]);
    expect(w.logs).toContain("Hardware watchdog: /dev/watchdog0 takes 1s to 2046s, not 3600s; asking for 2046s");
    expect(w.logs).toContain("Hardware watchdog: asked for 3600s, the driver set 2046s; using the 2046s the device runs with");
    expect(w.lines[0]).toContain("timeout 2046s, ping every 1023s");
  });

  test("any other failure disarms and closes (systemd gives up too)", () => {
    const w = new World({ ...i6300esb(), accepts: () => "eio" });
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 600);
    expect(w.closed).toBe("disarmed");
    expect(wd.state()).toMatchObject({ armed: false, notArmedBecause: expect.stringContaining("Input/output error") });
  });

  test("/dev/watchdog0 missing: /dev/watchdog; neither: tried again at every ping time", () => {
    const legacy = new World({ ...i6300esb(), present: ["/dev/watchdog"] });
    legacy.owner().startRuntime(5, "multi-user", 600);
    expect(legacy.lines[0]).toContain("armed on /dev/watchdog:");

    const late = new World({ ...i6300esb(), present: [] });
    const wd = late.owner();
    wd.startRuntime(5, "multi-user", 600);
    expect(wd.state()).toMatchObject({ armed: false, notArmedBecause: "no watchdog device at /dev/watchdog0 or /dev/watchdog" });
    late.advance(2600);
    late.driver.present.push("/dev/watchdog0"); // a unit loaded the driver
    late.advance(5100);
    expect(late.pings).toEqual([5000]);
    expect(wd.state().armed).toBe(true);
  });

  test("0 leaves the hardware alone; rescue does not arm", () => {
    const off = new World(i6300esb());
    off.owner().startRuntime(0, "multi-user", 600);
    expect(off.device).toBeNull();

    const rescue = new World(i6300esb());
    const wd = rescue.owner();
    wd.startRuntime(5, "rescue", 600);
    expect(rescue.device).toBeNull();
    expect(rescue.lines[0]).toContain("not armed in the rescue target");
    expect(wd.state().notArmedBecause).toContain("rescue target");
  });

  test("set-timeout at run time: a new cadence; 0 disarms with the magic close", () => {
    const w = new World(i6300esb());
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 600);
    w.advance(1000);
    expect(wd.setRuntimeTimeout(10)).toBeNull();
    w.advance(12_000);
    expect(w.pings).toEqual([0, 6000, 11_000]);
    expect(wd.setRuntimeTimeout(0)).toBeNull();
    expect(w.closed).toBe("disarmed");
    w.advance(30_000);
    expect(w.pings).toHaveLength(3);
    expect(wd.setRuntimeTimeout(4)).toBeNull(); // opened again
    expect(wd.state()).toMatchObject({ armed: true, timeoutSec: 4 });
  });

  test("health gating: no ping while a critical unit is failed for good; pings resume when it is back", () => {
    const w = new World(i6300esb());
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 600);
    w.advance(3000);
    w.verdict = { healthy: false, reason: "critical unit db exhausted its restart budget (start-limit-hit)" };
    w.advance(8000);
    expect(w.pings).toEqual([0, 2500]);
    expect(w.logs).toContain("critical unit db exhausted its restart budget (start-limit-hit): hardware watchdog pings stopped, the board resets in 2.5s");
    expect(wd.state()).toMatchObject({ pinging: false, stoppedBecause: expect.stringContaining("db") });
    w.verdict = { healthy: true }; // reset-failed and a good start, in time
    w.advance(10_000);
    expect(w.pings).toEqual([0, 2500, 10_000]);
    expect(wd.state().pinging).toBe(true);
  });

  test("a bug in judging health is logged and does not stop the pings", () => {
    const w = new World(i6300esb());
    w.owner().startRuntime(5, "multi-user", 600);
    w.verdict = { healthy: false, reason: "throw" };
    w.advance(5000);
    expect(w.pings).toEqual([0, 2500, 5000]);
    expect(w.logs.some((l) => l.startsWith("Hardware watchdog: judging the critical units' health failed: Error: a bug"))).toBe(true);
  });
});

describe("the way down", () => {
  test("reboot: armed with shutdown_sec, no pings from the loop, one per step, left armed for reboot(2)", () => {
    const w = new World(i6300esb());
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 10);
    w.advance(3000);
    wd.armForShutdown();
    expect(w.device!.calls.slice(-2)).toEqual(["settimeout 10", "enable"]);
    expect(w.lines.at(-1)).toBe("Hardware watchdog armed for the way down: the board resets if a step hangs for 10s.");
    w.advance(20_000);
    expect(w.pings).toEqual([0, 2500, 3000]); // a hung unit stop: nothing pings, the board resets
    wd.shutdownStep();
    expect(w.pings.at(-1)).toBe(20_000);
    wd.finish("reboot");
    expect(w.closed).toBe("armed");
  });

  test("a device that takes less than shutdown_sec is pinged on until the step's deadline is a timeout away", () => {
    const w = new World({ ...i6300esb(), accepts: (s) => (s > 15 ? "einval" : s), range: { min: 1, max: 15 } });
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 60);
    w.advance(1000);
    wd.armForShutdown();
    expect(w.lines.at(-1)).toBe("Hardware watchdog armed for the way down: the board resets if a step hangs for 60s (the device takes 15s at most: hearth pings it until then).");
    w.advance(100_000); // a unit that will not stop
    expect(w.pings).toEqual([0, 1000, 8500, 16_000, 23_500, 31_000, 38_500, 46_000]);
    // the last ping is at 46 s: the device resets the board at 61 s, the step's deadline
    wd.shutdownStep(); // (had the step ended) the next one gets 60 s again
    w.advance(120_000);
    expect(w.pings.slice(8)).toEqual([100_000, 107_500, 115_000]);
  });

  test("poweroff and halt disarm before reboot(2)", () => {
    for (const action of ["poweroff", "halt"] as const) {
      const w = new World(i6300esb());
      const wd = w.owner();
      wd.startRuntime(5, "multi-user", 10);
      wd.armForShutdown();
      wd.finish(action);
      expect(w.closed).toBe("disarmed");
    }
  });

  test("the way down is guarded even when the runtime watchdog was off; shutdown_sec 0 disarms", () => {
    const w = new World(i6300esb());
    const wd = w.owner();
    wd.startRuntime(0, "multi-user", 600);
    wd.armForShutdown();
    expect(w.device!.calls).toEqual(["settimeout 600", "enable"]);

    const none = new World(i6300esb());
    const wd2 = none.owner();
    wd2.startRuntime(5, "multi-user", 0);
    wd2.armForShutdown();
    expect(none.closed).toBe("disarmed");
    expect(wd2.setRuntimeTimeout(5)).toBe("the way down has begun");
  });

  test("the last reset by the watchdog is reported at boot", () => {
    const w = new World({ ...i6300esb(), bootStatus: 0x20 });
    const wd = w.owner();
    wd.startRuntime(5, "multi-user", 600);
    expect(w.logs).toContain("The last reset was caused by the hardware watchdog (WDIOF_CARDRESET in the boot status of /dev/watchdog0)");
    expect(wd.state()).toMatchObject({ lastResetByWatchdog: true, bootStatus: 0x20, advertisesCardReset: false });
  });
});
