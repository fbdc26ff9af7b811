// $TERM for a unit with a terminal, as systemd sets it: what agetty's "$TERM" argument
// (serial-getty@.service) becomes.
import { describe, expect, test } from "bun:test";
import { expandCommand, serviceEnvironment } from "../../src/manager/exec-context.ts";
import { serviceSection } from "../support/units.ts";
import type { ServiceSection } from "../../src/config/types.ts";

const GETTY_ARGV = ["/sbin/agetty", "-o", "-p -- \\u", "--keep-baud", "115200,57600,38400,9600", "-", "$TERM"];
const files = (active: string | null) => (path: string) => (path === "/sys/class/tty/console/active" ? active : null);
const envOf = (over: Partial<ServiceSection>, active: string | null = null) =>
  serviceEnvironment({ unit: "u", cfg: serviceSection(over), notifySocket: null, managerEnv: { LANG: "C.UTF-8" }, readFile: files(active) }).env;

describe("$TERM of a service", () => {
  test("serial-getty@ttyAMA0's agetty gets vt220 as its terminal type, as under systemd", () => {
    const env = envOf({ standard_input: "tty", standard_output: "tty", tty_path: "/dev/ttyAMA0" });
    expect(env.TERM).toBe("vt220");
    expect(expandCommand(GETTY_ARGV, env)).toEqual([...GETTY_ARGV.slice(0, -1), "vt220"]);
  });

  test("a getty on a virtual console gets linux", () => {
    expect(envOf({ standard_input: "tty", tty_path: "/dev/tty1" }).TERM).toBe("linux");
  });

  test("the console is the kernel's last console=: linux on tty0, vt220 on a serial port or when unknown", () => {
    expect(envOf({ standard_output: "tty" }, "ttyAMA0 tty0\n").TERM).toBe("linux");
    expect(envOf({ standard_output: "tty" }, "tty0 ttyS0\n").TERM).toBe("vt220");
    expect(envOf({ standard_input: "tty-force" }, null).TERM).toBe("vt220");
  });

  test("a service without a terminal gets no $TERM, and environment = overrides it", () => {
    expect(envOf({ standard_output: "journal" }).TERM).toBeUndefined();
    expect(envOf({ tty_path: "/dev/ttyS0", environment: { TERM: "xterm" } }).TERM).toBe("xterm");
  });
});
