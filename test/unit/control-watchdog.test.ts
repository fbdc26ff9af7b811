// The control socket's watchdog and debug verbs: requests, ctl's arguments, the text.
import { describe, expect, test } from "bun:test";
import { isMutating, parseRequest, type ControlRequest } from "../../src/control/protocol.ts";
import { verbArguments } from "../../src/cli/ctl.ts";
import { formatWatchdog } from "../../src/control/format.ts";
import type { WatchdogState } from "../../src/watchdog/hardware.ts";

const parse = (obj: object) => parseRequest(JSON.stringify(obj));
const req = (obj: object): ControlRequest => {
  const r = parse(obj);
  if (!r.ok) throw new Error(r.error);
  return r.req;
};

describe("requests", () => {
  test("watchdog shows the state to anyone; set-timeout changes it, root only", () => {
    expect(req({ verb: "watchdog" })).toEqual({ verb: "watchdog", units: [], lines: 10, follow: false });
    expect(isMutating(req({ verb: "watchdog" }))).toBe(false);
    const set = req({ verb: "watchdog", setTimeoutSec: 10 });
    expect(set.setTimeoutSec).toBe(10);
    expect(isMutating(set)).toBe(true);
    expect(parse({ verb: "watchdog", setTimeoutSec: -1 })).toMatchObject({ ok: false });
    expect(parse({ verb: "watchdog", setTimeoutSec: "5" })).toMatchObject({ ok: false });
    expect(parse({ verb: "watchdog", setTimeoutSec: 1e10 })).toMatchObject({ ok: false });
    expect(parse({ verb: "status", setTimeoutSec: 5 })).toMatchObject({ ok: false, error: "setTimeoutSec goes with the watchdog verb" });
  });

  test("debug freeze, for a while or for good; always root only", () => {
    expect(req({ verb: "debug", debug: { action: "freeze" } }).debug).toEqual({ action: "freeze" });
    expect(req({ verb: "debug", debug: { action: "freeze", seconds: 2 } }).debug).toEqual({ action: "freeze", seconds: 2 });
    expect(isMutating(req({ verb: "debug", debug: { action: "freeze" } }))).toBe(true);
    expect(parse({ verb: "debug" })).toMatchObject({ ok: false, error: "debug needs an action: freeze" });
    expect(parse({ verb: "debug", debug: { action: "crash" } })).toMatchObject({ ok: false });
    expect(parse({ verb: "debug", debug: { action: "freeze", seconds: -2 } })).toMatchObject({ ok: false });
  });
});

describe("hearth ctl arguments", () => {
  test("watchdog [set-timeout TIME]", () => {
    expect(verbArguments("watchdog", [])).toEqual({});
    expect(verbArguments("watchdog", ["set-timeout", "1min"])).toEqual({ setTimeoutSec: 60 });
    expect(verbArguments("watchdog", ["set-timeout", "off"])).toEqual({ setTimeoutSec: 0 });
    expect(verbArguments("watchdog", ["set-timeout", "0"])).toEqual({ setTimeoutSec: 0 });
    expect(verbArguments("watchdog", ["set-timeout"])).toBeString();
    expect(verbArguments("watchdog", ["set-timeout", "soon"])).toStartWith("watchdog set-timeout: cannot read");
    expect(verbArguments("watchdog", ["db"])).toBeString();
  });

  test("debug freeze [SECONDS]; the words are taken out of the unit list", () => {
    const words = ["freeze", "2.5"];
    expect(verbArguments("debug", words)).toEqual({ debug: { action: "freeze", seconds: 2.5 } });
    expect(words).toEqual([]);
    expect(verbArguments("debug", ["freeze"])).toEqual({ debug: { action: "freeze" } });
    expect(verbArguments("debug", ["freeze", "x"])).toBeString();
    expect(verbArguments("debug", [])).toBeString();
    expect(verbArguments("status", ["db"])).toEqual({});
  });
});

const armed: WatchdogState = {
  device: "/dev/watchdog0", phase: "runtime", armed: true, notArmedBecause: null, identity: "i6300ESB timer", firmwareVersion: 0,
  requestedSec: 5, timeoutSec: 5, readBackSec: 5, timeLeftSec: 3.9, timeLeftFrom: "last ping", pingIntervalMs: 2500,
  pings: 25, lastPingAt: 0, lastPingAgoMs: 1100,
  figures: { plannedMs: 2500, samples: 24, meanMs: 2500.1, minMs: 2499.2, maxMs: 2503.4, jitterMs: { p50: 0.3, p99: 3.4, max: 3.4 }, latenessMs: { p50: 0.4, p99: 3.5, max: 3.5 } },
  recentIntervalsMs: [], pinging: true, stoppedBecause: null, lastResetByWatchdog: false, bootStatus: 0, advertisesCardReset: false,
  shutdownSec: 600, criticalUnits: ["db"],
};

describe("hearth ctl watchdog, the text", () => {
  test("armed and pinging", () => {
    expect(formatWatchdog(armed)).toBe([
      "● Hardware watchdog /dev/watchdog0: 'i6300ESB timer'",
      "      State: armed, pinged every 2.5s from the manager loop",
      "    Timeout: 5s (WDIOC_GETTIMEOUT: 5s)",
      "  Time left: 3.9s (estimated from the last ping: the driver cannot tell)",
      "      Pings: 25, the last 1.1s ago",
      "   Interval: mean 2500.1 ms (planned 2500), min 2499.2, max 2503.4, over 24 intervals",
      "     Jitter: p50 0.3 ms, p99 3.4 ms, max 3.4 ms (late after plan: p50 0.4, p99 3.5, max 3.5 ms)",
      " Last reset: not by the watchdog, as far as the driver tells (it does not advertise WDIOF_CARDRESET)",
      "   Way down: armed with 600s per step (shutdown_sec)",
      "   Critical: db (failed for good: the pings stop)",
    ].join("\n"));
  });

  test("gated, after a watchdog reset; not armed in rescue", () => {
    const gated = formatWatchdog({ ...armed, pinging: false, stoppedBecause: "critical unit db exhausted its restart budget (start-limit-hit)", lastResetByWatchdog: true });
    expect(gated).toContain("State: armed, pings STOPPED: critical unit db exhausted its restart budget (start-limit-hit)");
    expect(gated).toContain("Last reset: by the watchdog (WDIOF_CARDRESET in the boot status)");
    const rescue = formatWatchdog({ ...armed, armed: false, timeoutSec: null, timeLeftSec: null, pings: 0, figures: null, notArmedBecause: "the rescue target: an operator at the console is not reset away" });
    expect(rescue).toStartWith("○ Hardware watchdog /dev/watchdog0: 'i6300ESB timer'\n      State: not armed: the rescue target");
  });
});
