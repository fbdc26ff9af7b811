// Hostile configuration: what `hearth check` and the manager's loader must survive and
// report (numbers out of range, files that are not files, huge or deeply nested files,
// values that would flood the diagnostics). Each case was found by fuzzing or abuse.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildConfig, type ConfigSources } from "../../src/config/load.ts";
import { SCHEMA, type ValueType } from "../../src/config/schema.ts";
import { renderConfigurationDoc } from "../../src/config/gen-docs.ts";
import { LogRing } from "../../src/log/ring.ts";
import type { LoadedConfig } from "../../src/config/types.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";
import { hearthCommand, tempDir } from "../support/harness.ts";

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

function fromTexts(units: Record<string, string>, systemText?: string): LoadedConfig {
  const sources: ConfigSources = {
    system: systemText === undefined ? null : { file: "system.toml", text: systemText },
    units: Object.entries(units).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
    diagnostics: [],
  };
  return buildConfig(sources, fakeEnv);
}

function errors(config: LoadedConfig): string[] {
  return config.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
}

const service = (extra: string) => `[service]\nexec_start = "/bin/true"\n${extra}\n`;

/** A configuration directory on disk; `make` adds what text files cannot say (FIFOs, links). */
function confDir(units: Record<string, string>, make?: (unitsDir: string) => void): string {
  const dir = tempDir("hostile");
  dirs.push(dir);
  mkdirSync(join(dir, "units"));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, "units", name), text);
  make?.(join(dir, "units"));
  return dir;
}

/** `hearth check` as a user runs it, killed if it does not finish in time. */
async function check(dir: string, timeoutMs = 15_000): Promise<{ code: number | null; lines: string[]; maxRssKb: number; timedOut: boolean }> {
  const proc = Bun.spawn([...hearthCommand(), "check", "-c", dir], { stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; proc.kill("SIGKILL"); }, timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const maxRssKb = Math.round(Number(proc.resourceUsage()?.maxRSS ?? 0) / 1024);
  return { code: timedOut ? null : proc.exitCode, lines: (out + err).split("\n").filter((l) => l !== ""), maxRssKb, timedOut };
}

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

describe("files that are not regular files (defect 19, 25)", () => {
  test("a FIFO named *.toml does not hang check: it is reported and the rest is checked", async () => {
    const dir = confDir({ "good.toml": service("") }, (units) => {
      Bun.spawnSync(["mkfifo", join(units, "pipe.toml")]);
    });
    const r = await check(dir);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.lines).toContain(`${dir}/units/pipe.toml: error: not a regular file (a FIFO): not read`);
    expect(r.lines.at(-1)).toMatch(/^\d+ units, 1 error, 0 warnings$/);
  });

  test("a dangling *.toml symlink, a directory and a device are reported, not skipped", async () => {
    const dir = confDir({ "good.toml": service("") }, (units) => {
      symlinkSync("/nonexistent/gone.toml", join(units, "dangling.toml"));
      mkdirSync(join(units, "dir.toml"));
      symlinkSync("/dev/zero", join(units, "zero.toml"));
    });
    const r = await check(dir);
    expect(r.timedOut).toBe(false);
    expect(r.lines).toContain(`${dir}/units/dangling.toml: error: a symbolic link to /nonexistent/gone.toml, which does not exist`);
    expect(r.lines).toContain(`${dir}/units/dir.toml: error: not a regular file (a directory): not read`);
    expect(r.lines).toContain(`${dir}/units/zero.toml: error: not a regular file (a character device): not read`);
  });

  test("a FIFO system.toml is reported, not waited on", async () => {
    const dir = confDir({ "good.toml": service("") });
    Bun.spawnSync(["mkfifo", join(dir, "system.toml")]);
    const r = await check(dir);
    expect(r.timedOut).toBe(false);
    expect(r.lines).toContain(`${dir}/system.toml: error: not a regular file (a FIFO): not read`);
  });
});

describe("huge and deeply nested files (defect 20)", () => {
  const nested = (depth: number) => `${"{a=".repeat(depth)}1${"}".repeat(depth)}`;

  test("a unit file over 256 KiB is refused unread", () => {
    const dir = confDir({ "huge.toml": service(`description = "${"x".repeat(1_100_000)}"`) });
    const r = Bun.spawnSync([...hearthCommand(), "check", "-c", dir]);
    expect(r.stdout.toString()).toContain(`${dir}/units/huge.toml: error: 1100`);
    expect(r.stdout.toString()).toMatch(/bytes: a file is read up to 256 KiB; not read/);
  });

  test("nesting deeper than 16 is refused where it starts, before the TOML parser", () => {
    const config = fromTexts({ deep: service(`x = ${nested(200)}`) });
    const deep = config.diagnostics.filter((d) => d.file === "units/deep.toml");
    expect(deep.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([
      "3:53: nested deeper than 16 (arrays, inline tables or dotted keys): not read further",
    ]);
  });

  test("ten 39 KB files of nested inline tables: check stays under 120 MB", async () => {
    let text = service("");
    for (let i = 0; text.length < 39_000; i++) text += `x${i} = ${nested(990)}\n`;
    const units: Record<string, string> = {};
    for (let i = 0; i < 10; i++) units[`n${i}.toml`] = text;
    const r = await check(confDir(units));
    console.log(`check on ten 39 KB nested files: max RSS ${r.maxRssKb} kB`);
    expect(r.code).toBe(1);
    expect(r.maxRssKb).toBeLessThan(120_000);
  });
});

describe("diagnostics stay one bounded line each (defect 25)", () => {
  const LINE = /^(\/|units\/)[^\n]*?(:\d+:\d+)?: (error|warning): /;

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
    expect(LINE.test("units/a.toml:1:1: error: x")).toBe(true);
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

describe("a script whose interpreter cannot run (defect 25)", () => {
  test("a missing interpreter and a CRLF #! line are found by check, not by execve at start", async () => {
    const dir = confDir({});
    const script = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      chmodSync(path, 0o755);
      return path;
    };
    const missing = script("missing.sh", "#!/nonexistent/python9 -u\nprint(1)\n");
    const crlf = script("crlf.sh", "#!/bin/sh\r\necho hi\r\n");
    const fine = script("fine.sh", "#!/bin/sh\necho hi\n");
    writeFileSync(join(dir, "units", "missing.toml"), `[service]\nexec_start = "${missing}"\n`);
    writeFileSync(join(dir, "units", "crlf.toml"), `[service]\nexec_start = "${crlf}"\n`);
    writeFileSync(join(dir, "units", "fine.toml"), `[service]\nexec_start = "${fine}"\n`);
    const r = await check(dir);
    expect(r.lines).toContain(`${dir}/units/missing.toml:2:14: error: exec_start: ${missing}: its interpreter /nonexistent/python9 (#! line) does not exist`);
    expect(r.lines).toContain(`${dir}/units/crlf.toml:2:14: error: exec_start: ${crlf}: its #! line ends in a carriage return (DOS line endings): the kernel would look for "/bin/sh\\r"`);
    expect(r.lines.filter((l) => l.includes("fine"))).toEqual([]);
  });
});
