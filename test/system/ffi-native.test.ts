// ffi/native.ts: compiling ffi/native.c at run time, from `bun` and from a
// `bun build --compile` binary, in a private directory that is removed afterwards.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../ffi/native.ts";

const root = join(import.meta.dir, "..", "..");
const bun = process.execPath;
const work = mkdtempSync(join(tmpdir(), "hearth-native-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test("loads, and the struct sizes agree with the JS side", () => {
  const symbols = native();
  expect(typeof symbols.hearth_spawn).toBe("function");
  expect(native()).toBe(symbols); // compiled once per process
});

// A program that spawns /bin/echo through the spawner and reports how it went.
const program = `
import { spawn } from "${root}/src/exec/spawner.ts";
import { reapChild } from "${root}/src/exec/reaper.ts";
const result = spawn({ path: "/bin/echo", argv: ["echo", "echo says hi"], env: {}, stdout: 1 });
if (!result.ok) { console.log(JSON.stringify(result)); process.exit(1); }
let status = null;
while (!(status = reapChild(result.pid))) await Bun.sleep(1);
console.log(JSON.stringify(status));
`;

function run(cmd: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync(cmd, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, cwd: work });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

const expectedOutput = 'echo says hi\n{"kind":"exited","code":0}\n';

describe("compile directory", () => {
  beforeAll(() => writeFileSync(join(work, "program.ts"), program));

  test("HEARTH_NATIVE_DIR is used, and left as it was found", () => {
    const dir = join(work, "native-dir");
    mkdirSync(dir);
    const result = run([bun, join(work, "program.ts")], { HEARTH_NATIVE_DIR: dir, TMPDIR: "/nonexistent" });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(expectedOutput);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("an unusable HEARTH_NATIVE_DIR falls back to the temporary directory", () => {
    const result = run([bun, join(work, "program.ts")], { HEARTH_NATIVE_DIR: "/nonexistent/dir" });
    expect(result.stdout).toBe(expectedOutput);
  });
});

describe("in a compiled binary", () => {
  const binary = join(work, "spawn-echo");
  beforeAll(() => {
    writeFileSync(join(work, "program.ts"), program);
    const build = run([
      // make's flags (Makefile COMPILE): the C source must be found from a bytecode chunk too.
      bun, "build", "--compile", "--minify", "--bytecode", "--format=esm", "--splitting",
      "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv",
      join(work, "program.ts"), "--outfile", binary,
    ]);
    if (build.code !== 0) throw new Error(`bun build --compile failed:\n${build.stderr}`);
  });

  test("the embedded C source compiles and the spawner works", () => {
    const result = run([binary]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(expectedOutput);
  });

  // A board has libc.so.6 but no libc.so for TinyCC: hide the host's development link.
  const devLink = process.arch === "x64" ? "/usr/lib/x86_64-linux-gnu/libc.so" : "/usr/lib/aarch64-linux-gnu/libc.so";
  const canHide = process.getuid?.() === 0 && existsSync("/usr/bin/unshare") && existsSync(devLink);
  test.skipIf(!canHide)("works with no libc.so development link on the system", () => {
    const script = `mount --bind /dev/null ${devLink} && exec ${binary}`;
    const result = run(["unshare", "--mount", "sh", "-c", script]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(expectedOutput);
  });
});
