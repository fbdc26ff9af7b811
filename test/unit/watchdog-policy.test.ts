// Hardware watchdog decisions (the device itself is exercised under QEMU, test/boot/).
import { describe, expect, test } from "bun:test";
import {
  armForTarget, closeBeforeReboot, devicesToTry, fitTimeout, nextBridgePing, healthVerdict, MAX_TIMEOUT_SEC, nextPingAt, PingStats, pingIntervalMs,
  requestedTimeoutSec, resetByWatchdog,
} from "../../src/watchdog/policy.ts";
import { emergencyPowerRequest, POWER_SIGNALS } from "../../src/engine/power.ts";

describe("hardware watchdog policy", () => {
  test("timeouts are whole seconds rounded up, within the API's range; pings at half the timeout", () => {
    expect(requestedTimeoutSec(5)).toBe(5);
    expect(requestedTimeoutSec(2.2)).toBe(3);
    expect(requestedTimeoutSec(0.1)).toBe(1);
    expect(requestedTimeoutSec(1e12)).toBe(MAX_TIMEOUT_SEC);
    expect(MAX_TIMEOUT_SEC).toBe(4_294_967);
    expect(pingIntervalMs(5)).toBe(2500);
  });

  test("a refused timeout is brought into the driver's range", () => {
    expect(fitTimeout(3600, { min: 1, max: 2046 })).toBe(2046);
    expect(fitTimeout(1, { min: 2, max: 60 })).toBe(2);
    expect(fitTimeout(5, { min: 0, max: 60 })).toBeNull();
    expect(fitTimeout(5, { min: 10, max: 5 })).toBeNull();
  });

  test("/dev/watchdog0 is tried before /dev/watchdog; other paths alone", () => {
    expect(devicesToTry("/dev/watchdog0")).toEqual(["/dev/watchdog0", "/dev/watchdog"]);
    expect(devicesToTry("/dev/watchdog")).toEqual(["/dev/watchdog0", "/dev/watchdog"]);
    expect(devicesToTry("/dev/watchdog1")).toEqual(["/dev/watchdog1"]);
  });

  test("the cadence keeps to its plan, and starts again from now after a long hold-up", () => {
    expect(nextPingAt(10_000, 10_003, 2500)).toBe(12_500); // a late ping does not shift the plan
    expect(nextPingAt(10_000, 12_400, 2500)).toBe(12_500);
    expect(nextPingAt(10_000, 13_000, 2500)).toBe(15_500); // a whole interval lost: from now
  });

  test("the way down on a short device: pinged every half timeout until a timeout before the deadline", () => {
    expect(nextBridgePing(0, 60_000, 15_000)).toBe(7500);
    expect(nextBridgePing(40_000, 60_000, 15_000)).toBe(45_000);
    expect(nextBridgePing(45_000, 60_000, 15_000)).toBeNull();
    expect(nextBridgePing(0, 10_000, 10_000)).toBeNull(); // the device alone
    expect(nextBridgePing(0, 10_000, 30_000)).toBeNull(); // it takes longer than asked
  });

  test("not armed in rescue, nor when off", () => {
    expect(armForTarget("multi-user", 30)).toBe(true);
    expect(armForTarget("rescue", 30)).toBe(false);
    expect(armForTarget("multi-user", 0)).toBe(false);
  });

  test("before reboot(2): left armed for a reboot, disarmed for poweroff and halt", () => {
    expect(closeBeforeReboot("reboot")).toBe("leave-armed");
    expect(closeBeforeReboot("poweroff")).toBe("disarm");
    expect(closeBeforeReboot("halt")).toBe("disarm");
  });

  test("health gating: only a critical unit failed for good stops the pings", () => {
    const units = [
      { name: "db", active: "failed", result: "start-limit-hit" },
      { name: "web", active: "failed", result: "exit-code" },
      { name: "gps", active: "failed", result: "watchdog" },
      { name: "mqtt", active: "activating", result: "watchdog" }, // auto-restart: not for good
      { name: "ntp", active: "inactive", result: "success" }, // stopped by hand
    ];
    expect(healthVerdict(units, [])).toEqual({ healthy: true });
    expect(healthVerdict(units, ["mqtt", "ntp", "missing"])).toEqual({ healthy: true });
    expect(healthVerdict(units, ["db"])).toEqual({ healthy: false, reason: "critical unit db exhausted its restart budget (start-limit-hit)" });
    expect(healthVerdict(units, ["gps"])).toEqual({ healthy: false, reason: "critical unit gps missed its service watchdog and will not be restarted" });
    expect(healthVerdict(units, ["ntp", "web"])).toEqual({ healthy: false, reason: "critical unit web failed (exit-code) and will not be restarted" });
  });

  test("the last reset came from the watchdog when the boot status has WDIOF_CARDRESET", () => {
    expect(resetByWatchdog(0x20, 0x20)).toBe(true);
    expect(resetByWatchdog(0, 0x20)).toBe(false);
    expect(resetByWatchdog(null, 0x20)).toBeNull();
  });

  test("ping figures: intervals, their distance from the plan, lateness after the plan", () => {
    const s = new PingStats();
    const pings = [[0, 0], [2500, 2500], [5003, 5000], [7499, 7500], [10010, 10000]] as const;
    for (const [at, planned] of pings) s.record(at, planned);
    expect(s.count).toBe(5);
    const f = s.figures(2500);
    expect(f).toEqual({
      plannedMs: 2500, samples: 4, meanMs: 2502.5, minMs: 2496, maxMs: 2511,
      jitterMs: { p50: 4, p99: 11, max: 11 }, latenessMs: { p50: 0, p99: 10, max: 10 },
    });
    expect(s.recentIntervals(2)).toEqual([2496, 2511]);
    s.restart();
    expect(s.figures(2500).samples).toBe(0);
    expect(s.count).toBe(5);
  });
});

describe("the way down: what asks for it, how far it goes", () => {
  test("start_limit_action and ctrl_alt_del", () => {
    expect(emergencyPowerRequest("none")).toBeNull();
    expect(emergencyPowerRequest("reboot")).toEqual({ action: "reboot", mode: "orderly" });
    expect(emergencyPowerRequest("reboot-force")).toEqual({ action: "reboot", mode: "force" });
    expect(emergencyPowerRequest("reboot-immediate")).toEqual({ action: "reboot", mode: "immediate" });
    expect(emergencyPowerRequest("poweroff-force")).toEqual({ action: "poweroff", mode: "force" });
    expect(emergencyPowerRequest("poweroff-immediate")).toEqual({ action: "poweroff", mode: "immediate" });
    expect(emergencyPowerRequest("exit")).toEqual({ action: "poweroff", mode: "orderly" });
  });

  test("signals to PID 1: BusyBox's and systemd's", () => {
    expect(POWER_SIGNALS.SIGTERM).toEqual({ action: "reboot", mode: "orderly" });
    expect(POWER_SIGNALS.SIGUSR1).toEqual({ action: "halt", mode: "orderly" });
    expect(POWER_SIGNALS.SIGUSR2).toEqual({ action: "poweroff", mode: "orderly" });
    expect(POWER_SIGNALS["SIGRTMIN+3"]).toEqual({ action: "halt", mode: "orderly" });
    expect(POWER_SIGNALS["SIGRTMIN+4"]).toEqual({ action: "poweroff", mode: "orderly" });
    expect(POWER_SIGNALS["SIGRTMIN+5"]).toEqual({ action: "reboot", mode: "orderly" });
    expect(POWER_SIGNALS["SIGRTMIN+15"]).toEqual({ action: "reboot", mode: "force" });
  });
});
