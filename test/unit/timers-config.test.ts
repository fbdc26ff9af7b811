// [timer] and [path] in unit files: what loads, what is refused, and where the error points.
import { describe, expect, test } from "bun:test";
import { buildConfig, formatDiagnostic } from "../../src/config/load.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

function load(units: Record<string, string>) {
  const sources = {
    system: null, diagnostics: [],
    units: Object.entries(units).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
  };
  const config = buildConfig(sources, fakeEnv);
  return { config, messages: config.diagnostics.map(formatDiagnostic) };
}

const job = '[service]\ntype = "oneshot"\nexec_start = ["/bin/true"]\n';

describe("timer and path unit files", () => {
  test("NAME.timer starts NAME, NAME.path starts NAME, unless they say unit", () => {
    const { config, messages } = load({
      job, other: job,
      "job.timer": '[timer]\non_calendar = ["daily", "Mon..Fri 8:00 Europe/Berlin"]\non_boot_sec = "5min"\n',
      "job.path": '[path]\npath_exists = "/run/flag"\n',
      "nightly": '[timer]\non_calendar = "*-*-* 03:00"\nunit = "other"\n',
    });
    expect(messages).toEqual([]);
    expect(config.units.get("job.timer")!.timer!.unit).toBe("job");
    expect(config.units.get("job.timer")!.timer!.on_boot_sec).toEqual([300]);
    expect(config.units.get("job.timer")!.timer!.accuracy_sec).toBe(60);
    expect(config.units.get("job.path")!.path!.unit).toBe("job");
    expect(config.units.get("nightly")!.timer!.unit).toBe("other");
  });

  test("a bad calendar event is an error at its value, with systemd's reason", () => {
    const { config, messages } = load({ job, "job.timer": '[timer]\non_calendar = "*-*-* 24:00"\n' });
    expect(config.units.has("job.timer")).toBe(false);
    expect(messages.some((m) => m.startsWith("units/job.timer.toml:2:15: error:") && m.includes("hour 24 out of range"))).toBe(true);
  });

  test("a timer must say what it starts when its name does not, and the unit must exist", () => {
    const { messages } = load({ job, tick: '[timer]\non_active_sec = 1\n', "gone.timer": '[timer]\non_active_sec = 1\n' });
    expect(messages.some((m) => m.includes("units/tick.toml") && m.includes('name the unit to start with unit = "..."'))).toBe(true);
    expect(messages.some((m) => m.includes("units/gone.timer.toml") && m.includes("unknown unit 'gone' to start"))).toBe(true);
  });

  test("a timer or path unit runs nothing itself and needs something to wait for", () => {
    const { messages } = load({
      job, "job.timer": `${job}[timer]\non_active_sec = 1\n`, "job.path": "[path]\nmake_directory = true\n",
    });
    expect(messages.some((m) => m.includes("units/job.timer.toml") && m.includes("runs nothing itself"))).toBe(true);
    expect(messages.some((m) => m.includes("units/job.path.toml") && m.includes("a path unit needs one of"))).toBe(true);
  });

  test("wake_system is refused politely: a warning, the timer loads", () => {
    const { config, messages } = load({ job, "job.timer": '[timer]\non_active_sec = 1\nwake_system = true\n' });
    expect(config.units.has("job.timer")).toBe(true);
    expect(messages.some((m) => m.includes("warning: wake_system: not supported"))).toBe(true);
  });
});
