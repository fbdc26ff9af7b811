// tty_path and the tty_* keys: when the child opens its own terminal, and what it does
// with it (pure: the plan the shell then follows).
import { describe, expect, test } from "bun:test";
import { stdioPlan } from "../../src/manager/stdio.ts";
import { service, serviceSection } from "../support/units.ts";
import { EngineSim } from "../support/engine-sim.ts";
import type { ServiceSection } from "../../src/config/types.ts";

const FACTS = { hasConnection: false, systemMode: true };
const plan = (over: Partial<ServiceSection>) => stdioPlan(serviceSection({ standard_output: "inherit", standard_error: "inherit", ...over }), FACTS);

describe("a unit's own terminal", () => {
  test('standard_input = "tty" without tty_path or tty_* keys stays the console the manager holds', () => {
    const p = plan({ standard_input: "tty" });
    expect(p.stdin).toEqual({ kind: "tty" });
    expect(p.terminal).toBeUndefined();
  });

  test("with tty_path the child opens it, makes it the controlling terminal, and stdout and stderr follow", () => {
    const p = plan({ standard_input: "tty", tty_path: "/dev/ttyS0", tty_reset: true, tty_vhangup: true });
    expect([p.stdin, p.stdout, p.stderr]).toEqual([{ kind: "terminal" }, { kind: "terminal" }, { kind: "stdout" }]);
    expect(p.terminal).toEqual({ path: "/dev/ttyS0", reset: true, vhangup: true, vtDisallocate: false, controlling: "take" });
  });

  test('"tty-force" takes it from another session; "tty-fail" does not; both default to the console path', () => {
    expect(plan({ standard_input: "tty-force" }).terminal).toMatchObject({ path: "/dev/console", controlling: "force" });
    expect(plan({ standard_input: "tty-fail" }).terminal).toMatchObject({ path: "/dev/console", controlling: "take" });
  });

  test('stdin elsewhere: the terminal is reset but not acquired; standard_output = "tty" writes to it', () => {
    const p = plan({ standard_input: "null", standard_output: "tty", tty_path: "/dev/tty3", tty_vt_disallocate: true });
    expect(p.stdin).toEqual({ kind: "null" });
    expect(p.stdout).toEqual({ kind: "terminal" });
    expect(p.terminal).toMatchObject({ path: "/dev/tty3", vtDisallocate: true, controlling: "no" });
  });
});

describe("the terminal after the unit", () => {
  test("a unit with tty_* keys has its terminal reset when it goes down, not when it restarts", () => {
    const s = new EngineSim(service("getty", { tty_path: "/dev/ttyS0", tty_vhangup: true, tty_reset: true, restart: "always", restart_sec: 1 }));
    s.start("getty");
    s.exit("getty");
    expect(s.sub("getty")).toBe("auto-restart");
    expect(s.of("reset-terminal")).toEqual([]);
    s.advance(1000);
    s.stop("getty");
    s.exit("getty", { kind: "killed", signal: 15, coreDumped: false });
    expect(s.of("reset-terminal")).toEqual([{ type: "reset-terminal", unit: "getty", path: "/dev/ttyS0", reset: true, vhangup: true, vtDisallocate: false }]);
  });
});
