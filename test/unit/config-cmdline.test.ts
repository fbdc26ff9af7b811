// The kernel command line: overrides of system.toml for one boot.
import { describe, expect, test } from "bun:test";
import { applyCmdline, parseCmdline, splitCmdline } from "../../src/config/cmdline.ts";
import { defaultSystemConfig } from "../../src/config/load.ts";
import { formatDiagnostic } from "../../src/config/diagnostics.ts";

describe("splitCmdline", () => {
  test("words, values and quotes as the kernel sees them", () => {
    expect(splitCmdline('ro  quiet a=b c="d e" "f=g h" x=\n')).toEqual([
      { name: "ro", value: null, col: 1 },
      { name: "quiet", value: null, col: 5 },
      { name: "a", value: "b", col: 11 },
      { name: "c", value: "d e", col: 15 },
      { name: "f", value: "g h", col: 23 },
      { name: "x", value: "", col: 31 },
    ]);
  });
  test("an unterminated quote runs to the end", () => {
    expect(splitCmdline('a="b c')).toEqual([{ name: "a", value: "b c", col: 1 }]);
  });
});

describe("parseCmdline", () => {
  const overrides = (text: string) => parseCmdline(text).overrides;

  test("nothing of ours", () => {
    expect(parseCmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda console=ttyAMA0 panic=-1\n")).toEqual({ overrides: {}, diagnostics: [] });
  });

  test("every parameter", () => {
    expect(overrides(
      'hearth.watchdog_sec=20s hearth.shutdown_watchdog_sec="5min" hearth.watchdog_device=/dev/watchdog1 hearth.target=rescue hearth.log_level=notice',
    )).toEqual({ watchdog_runtime_sec: 20, watchdog_shutdown_sec: 300, watchdog_device: "/dev/watchdog1", target: "rescue", log_level: "notice" });
  });

  test("systemd aliases", () => {
    expect(overrides("systemd.watchdog_sec=30 systemd.watchdog_device=/dev/watchdog systemd.unit=rescue.target")).toEqual({
      watchdog_runtime_sec: 30, watchdog_shutdown_sec: 30, watchdog_device: "/dev/watchdog", target: "rescue",
    });
  });

  test("hearth.* wins over its systemd.* alias wherever it stands", () => {
    expect(overrides("hearth.target=multi-user systemd.unit=rescue.target")).toEqual({ target: "multi-user" });
    expect(overrides("hearth.watchdog_sec=10 systemd.watchdog_sec=30")).toEqual({ watchdog_runtime_sec: 10, watchdog_shutdown_sec: 30 });
  });

  test("otherwise the last one wins", () => {
    expect(overrides("hearth.log_level=err hearth.log_level=info")).toEqual({ log_level: "info" });
  });

  test("off and 0 disable the watchdog", () => {
    expect(overrides("hearth.watchdog_sec=off")).toEqual({ watchdog_runtime_sec: 0 });
    expect(overrides("hearth.watchdog_sec=0")).toEqual({ watchdog_runtime_sec: 0 });
  });

  test("rescue words and hearth.debug", () => {
    expect(overrides("quiet single")).toEqual({ target: "rescue" });
    expect(overrides("1")).toEqual({ target: "rescue" });
    expect(overrides("hearth.debug")).toEqual({ log_level: "debug", debug: true });
    expect(overrides("hearth.debug=1 hearth.log_level=notice")).toEqual({ log_level: "notice", debug: true });
  });

  test("invalid values are diagnostics at their column, and are ignored", () => {
    const { overrides: result, diagnostics } = parseCmdline(
      "hearth.watchdog_sec=soon hearth.log_level=loud systemd.unit=foo.service hearth.watchdog_device=watchdog0 hearth.target=multi-user",
    );
    expect(result).toEqual({ target: "multi-user" });
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      '/proc/cmdline:1:1: error: hearth.watchdog_sec: cannot read "soon" as a duration: expected a number of seconds or a time span like "500ms", "1min 30s", "infinity"; ignored',
      "/proc/cmdline:1:26: error: hearth.log_level: expects one of debug, info, notice, warning, err; ignored",
      "/proc/cmdline:1:48: error: systemd.unit: expects NAME.target; ignored",
      "/proc/cmdline:1:73: error: hearth.watchdog_device: expects an absolute path; ignored",
    ]);
  });
});

describe("watchdog times on the command line (defect 17)", () => {
  test("longer than a timer counts is refused, as in [watchdog]", () => {
    const { overrides: result, diagnostics } = parseCmdline("hearth.watchdog_sec=30d systemd.watchdog_sec=infinity");
    expect(result).toEqual({});
    expect(diagnostics.map((d) => d.message)).toEqual([
      'hearth.watchdog_sec: "30d" is too long: at most 2147483.647s (24.8 days), the longest a timer counts; ignored',
      'systemd.watchdog_sec: "infinity" is too long: at most 2147483.647s (24.8 days), the longest a timer counts; ignored',
    ]);
  });
});

describe("applyCmdline", () => {
  test("overrides system.toml, leaves the rest", () => {
    const system = defaultSystemConfig();
    const applied = applyCmdline(system, { watchdog_runtime_sec: 15, target: "rescue", log_level: "debug" });
    expect(applied.watchdog).toEqual({ ...system.watchdog, runtime_sec: 15 });
    expect(applied.manager).toEqual({ ...system.manager, default_target: "rescue", log_level: "debug" });
    expect(applied.mounts).toBe(system.mounts);
    expect(system.watchdog.runtime_sec).toBe(0); // not modified
  });
  test("no overrides, no change", () => {
    const system = defaultSystemConfig();
    expect(applyCmdline(system, {})).toEqual(system);
  });
});
