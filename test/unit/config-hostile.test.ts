// Hostile configuration texts: what the loader (behind `hearth check` and the manager
// alike) must refuse and how it says so: numbers out of range, text nested too deep,
// values that would flood the diagnostics. Each case was found by fuzzing or abuse.
// What needs files and processes is in test/integration/config-check.test.ts.
import { describe, expect, test } from "bun:test";
import { SCHEMA, type ValueType } from "../../src/config/schema.ts";
import { renderConfigurationDoc } from "../../src/config/gen-docs.ts";
import { LogRing } from "../../src/log/ring.ts";
import type { LoadedConfig } from "../../src/config/types.ts";
import { fromTexts } from "../fixtures/config/fake-env.ts";

function errors(config: LoadedConfig): string[] {
  return config.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

const service = (extra: string) => `[service]\nexec_start = "/bin/true"\n${extra}\n`;

describe("numbers out of range (defect 17, 18)", () => {
  test("log_buffer_lines = 4294967296 is refused by check instead of killing the manager at start", () => {
    const config = fromTexts({ big: service("log_buffer_lines = 4294967296") });
    expect(errors(config)).toEqual(["log_buffer_lines: 4294967296 is out of range (0 to 1000000)"]);
    expect(config.units.has("big")).toBe(false);
  });

  test("notification_fd = 2147483647 is refused; so is one the service's own fd limit forbids", () => {
    expect(errors(fromTexts({ n: service("notification_fd = 2147483647") }))).toEqual([
      "notification_fd: 2147483647 is out of range (3 to 1023)",
    ]);
    expect(errors(fromTexts({ n: service("notification_fd = 200\nlimit_nofile = 100") }))).toEqual([
      "notification_fd: fd 200 is not below limit_nofile (100): the service could not have it",
    ]);
  });

  test("every numeric key of the schema has a range", () => {
    const unbounded = (type: ValueType): boolean => {
      switch (type.kind) {
        case "int": return type.min === undefined || type.max === undefined;
        case "size": return type.max === undefined;
        case "duration": return false; // bounded by the timers: checked below
        case "list": return unbounded(type.of);
        default: return false;
      }
    };
    expect(SCHEMA.filter((spec) => unbounded(spec.type)).map((spec) => `${spec.table}.${spec.name}`)).toEqual([]);
  });

  test("the ranges are in the manual", () => {
    const doc = renderConfigurationDoc();
    expect(doc).toContain("| `log_buffer_lines` | integer 0 to 1000000 |");
    expect(doc).toContain("| `notification_fd` | integer 3 to 1023 |");
  });

  test("sizes, rlimits and percentages are bounded too", () => {
    expect(errors(fromTexts({ s: service('log_file_max_bytes = "9999999T"') }))[0]).toMatch(/^log_file_max_bytes: .* is out of range/);
    expect(errors(fromTexts({ s: service('limit_nofile = "99999999999999999999"') }))[0]).toMatch(/^limit_nofile: .*at most/);
    expect(errors(fromTexts({ s: service("limit_nice = 41") }))[0]).toMatch(/^limit_nice: .*at most 40/);
    expect(errors(fromTexts({ s: service('cpu_quota = "99999999999%"') }))[0]).toMatch(/^cpu_quota: /);
  });

  test("a duration longer than a timer can count means infinity where infinity is allowed, and is refused elsewhere", () => {
    const config = fromTexts({ s: service('timeout_start_sec = "30d"\ntimeout_stop_sec = 1e300') });
    expect(errors(config)).toEqual([]);
    expect(config.units.get("s")!.service!.timeout_start_sec).toBe(Infinity);
    expect(config.units.get("s")!.service!.timeout_stop_sec).toBe(Infinity);
    expect(errors(fromTexts({ s: service('restart_sec = "30d"') }))[0]).toMatch(/^restart_sec: "30d" is too long: at most 2147483\.647s \(24\.8 days\)/);
    expect(errors(fromTexts({ s: service('watchdog_sec = "infinity"') }))[0]).toMatch(/^watchdog_sec: /);
  });

  test("the log ring itself refuses an absurd capacity with a clear message", () => {
    expect(() => new LogRing(4294967296)).toThrow(/LogRing capacity must be an integer from 1 to at most 1000000, got 4294967296/);
    expect(new LogRing(1_000_000).capacity).toBe(1_000_000);
  });
});

describe("huge and deeply nested files (defect 20)", () => {
  const nested = (depth: number) => `${"{a=".repeat(depth)}1${"}".repeat(depth)}`;

  test("nesting deeper than 16 is refused where it starts, before the TOML parser", () => {
    const config = fromTexts({ deep: service(`x = ${nested(200)}`) });
    const deep = config.diagnostics.filter((d) => d.file === "units/deep.toml");
    expect(deep.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([
      "3:53: nested deeper than 16 (arrays, inline tables or dotted keys): not read further",
    ]);
  });
});

describe("diagnostics stay one bounded line each (defect 25)", () => {
  test("a 100,000-character value with newlines is echoed shortened and escaped", () => {
    const long = `rel\n${"y".repeat(100_000)}`;
    const config = fromTexts({
      a: service(`working_directory = """${long}"""\nuser = 5\ntype = """${long}"""`),
      b: `[unit]\nrequires = ["${"z".repeat(100_000)}"]\n`,
    });
    expect(config.diagnostics.length).toBeGreaterThan(2);
    for (const d of config.diagnostics) {
      expect(d.message).not.toContain("\n");
      expect(d.message.length).toBeLessThan(300);
    }
    expect(errors(config)).toContain(`working_directory: expected an absolute path, got "rel\\n${"y".repeat(76)}…"`);
  });

  test("a file with 5000 bad keys gives 100 diagnostics and a count of the rest, not 5000 lines", () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i} = ${i}`).join("\n");
    const config = fromTexts({ many: service(keys) });
    expect(config.diagnostics).toHaveLength(101);
    expect(config.diagnostics.at(-1)!.message).toBe("and 4900 more problems in this file, not shown");
    expect(config.units.has("many")).toBe(false);
  });

  test("did-you-mean on a 500 KB key answers at once", () => {
    const started = performance.now();
    const config = fromTexts({ k: service(`${"exec_stat".repeat(50_000)} = 1`) });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(errors(config)).toHaveLength(1);
  });

  test("an unterminated string is called that", () => {
    expect(errors(fromTexts({ u: '[service]\nexec_start = "/bin/true\nuser = "x"\n' }))).toEqual([
      'TOML syntax error: unterminated string: a quoted string ends on the line it starts (use """ for several lines)',
    ]);
  });
});
