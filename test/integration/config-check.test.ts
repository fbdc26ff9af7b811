// `hearth check` as a user runs it, on configuration directories with what text alone
// cannot say: FIFOs, directories, devices and dangling links named *.toml, files too
// large, scripts whose #! line cannot run (defects 19, 20, 25). Each must be reported by
// name, and check must finish: at boot the same reading hung PID 1.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hearthCommand, tempDir } from "../support/harness.ts";
import { loadConfig } from "../../src/config/load.ts";

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

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
  // GNU time prints the peak RSS of that one process, in KiB, as the last line on stderr.
  const proc = Bun.spawn(["/usr/bin/time", "-q", "-f", "maxrss %M", ...hearthCommand(), "check", "-c", dir], { stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; proc.kill("SIGKILL"); }, timeoutMs);
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const lines = (out + err).split("\n").filter((l) => l !== "");
  const maxRssKb = Number(/^maxrss (\d+)$/.exec(lines.at(-1) ?? "")?.[1] ?? NaN);
  if (!timedOut) lines.pop();
  return { code: timedOut ? null : proc.exitCode, lines, maxRssKb, timedOut };
}

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

  test("the problem names the unit it keeps from loading (for hearth ctl status)", () => {
    const dir = confDir({}, (units) => { Bun.spawnSync(["mkfifo", join(units, "pipe.toml")]); });
    const [problem] = loadConfig(dir).diagnostics;
    expect(problem).toMatchObject({ file: `${dir}/units/pipe.toml`, unit: "pipe", severity: "error" });
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
  test("a units/ of more than 4096 files is read up to 4096, and says so", async () => {
    const dir = confDir({}, (units) => {
      for (let i = 0; i < 4100; i++) writeFileSync(join(units, `u${String(i).padStart(4, "0")}.toml`), "");
    });
    const r = await check(dir);
    expect(r.code).toBe(1);
    expect(r.lines).toContain(`${dir}/units: error: 4100 unit files: only the first 4096 by name are read`);
    expect(r.lines.at(-1)).toMatch(/^4\d{3} units, 1 error, \d+ warnings?$/);
  });

  const nested = (depth: number) => `${"{a=".repeat(depth)}1${"}".repeat(depth)}`;

  test("a unit file over 256 KiB is refused unread", () => {
    const dir = confDir({ "huge.toml": service(`description = "${"x".repeat(1_100_000)}"`) });
    const r = Bun.spawnSync([...hearthCommand(), "check", "-c", dir]);
    expect(r.stdout.toString()).toContain(`${dir}/units/huge.toml: error: 1100`);
    expect(r.stdout.toString()).toMatch(/bytes: a file is read up to 256 KiB; not read/);
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
