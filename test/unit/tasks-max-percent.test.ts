// tasks_max = "N%" (mariadb's TasksMax=99%): read as a percentage, and turned into pids.max
// from what the system allows, as systemd's system_tasks_max.
import { describe, expect, test } from "bun:test";
import { cgroupLimits, systemTasksMax } from "../../src/manager/exec-context.ts";
import { limitFileValues } from "../../src/exec/cgroup.ts";
import { buildConfig } from "../../src/config/load.ts";
import { serviceSection } from "../support/units.ts";

const files: Record<string, string> = { "/proc/sys/kernel/pid_max": "4194304\n", "/proc/sys/kernel/threads-max": "63229\n", "/sys/fs/cgroup/pids.max": "max\n" };

describe("tasks_max as a percentage", () => {
  test("the system's maximum is the least of pid_max, threads-max and the root pids.max, less one", () => {
    expect(systemTasksMax((p) => files[p] ?? null)).toBe(63228);
    expect(systemTasksMax((p) => (p.endsWith("pids.max") ? "1000\n" : files[p] ?? null))).toBe(999);
    expect(systemTasksMax(() => null)).toBe(4_194_303);
  });

  test("\"99%\" is 99 % of it in pids.max; a number and infinity stay as they are", () => {
    const limits = (tasks_max: unknown) => limitFileValues(cgroupLimits(serviceSection({ tasks_max } as never), () => 63228))["pids.max"];
    expect(limits({ percent: 99 })).toBe("62595");
    expect(limits(8)).toBe("8");
    expect(limits(Infinity)).toBe("max");
  });

  test("the loader reads \"99%\" and refuses \"150%\" and \"x%\"", () => {
    const load = (value: string) => buildConfig({
      system: null, diagnostics: [],
      units: [{ name: "db", file: "units/db.toml", text: `[service]\nexec_start = ["/bin/true"]\ntasks_max = ${JSON.stringify(value)}\n` }],
    }, { isExecutable: () => true, exists: () => true });
    const ok = load("99%");
    expect(ok.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(ok.units.get("db")?.service?.tasks_max).toEqual({ percent: 99 });
    expect(load("150%").diagnostics.some((d) => d.severity === "error" && d.message.includes("at most 100%"))).toBe(true);
    expect(load("x%").diagnostics.some((d) => d.severity === "error")).toBe(true);
  });
});
