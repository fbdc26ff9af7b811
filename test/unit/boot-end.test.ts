// How the previous boot ended, from what survived it (src/log/boot-end.ts). Pure.
import { describe, expect, test } from "bun:test";
import { bootEnd, WDIOF_CARDRESET } from "../../src/log/boot-end.ts";
import { CLOSED_MARK, WAY_DOWN_MARK } from "../../src/log/persistent.ts";

const wayDown = `Dec 06 06:00:01.000000 hearth[1]: ${WAY_DOWN_MARK}poweroff (hearth ctl poweroff from PID 9)`;
const closed = `Dec 06 06:00:02.000000 hearth[1]: ${CLOSED_MARK}`;

describe("the previous boot's end", () => {
  test("a watchdog reset: WDIOF_CARDRESET in a watchdog's boot status, also during a way down that did not finish", () => {
    expect(bootEnd({ watchdogBootStatus: [null, WDIOF_CARDRESET], pstore: [], lines: ["a"] }).kind).toBe("watchdog");
    const during = bootEnd({ watchdogBootStatus: [WDIOF_CARDRESET | 1], pstore: [], lines: [wayDown] });
    expect(during.text).toContain("during the way down: poweroff");
  });
  test("a panic: a dmesg record in pstore that says so", () => {
    expect(bootEnd({ watchdogBootStatus: [0], pstore: [{ name: "dmesg-ramoops-0", head: "Panic#1 Part1" }], lines: [] }))
      .toEqual({ kind: "panic", text: "kernel panic (pstore dmesg-ramoops-0: Panic#1 Part1)" });
    expect(bootEnd({ watchdogBootStatus: [], pstore: [{ name: "pmsg-ramoops-0", head: "panic in a message" }], lines: [] }).kind).toBe("power-loss");
  });
  test("clean: the way down got as far as closing the log; a WDIOF_CARDRESET left from an older reset does not count", () => {
    expect(bootEnd({ watchdogBootStatus: [0], pstore: [], lines: ["x", wayDown, "y", closed] }))
      .toEqual({ kind: "clean", text: "clean poweroff (hearth ctl poweroff from PID 9)" });
    expect(bootEnd({ watchdogBootStatus: [WDIOF_CARDRESET], pstore: [], lines: [wayDown, closed] }).kind).toBe("clean");
  });
  test("the way down began but the log was never closed: reset during it", () => {
    expect(bootEnd({ watchdogBootStatus: [0], pstore: [], lines: [wayDown, "stopping"] }).text)
      .toBe("power loss or a hard reset during the way down: poweroff (hearth ctl poweroff from PID 9) (the log was not closed)");
  });
  test("power loss: none of these", () => {
    expect(bootEnd({ watchdogBootStatus: [null], pstore: [], lines: ["just lines"] }).kind).toBe("power-loss");
  });
});
