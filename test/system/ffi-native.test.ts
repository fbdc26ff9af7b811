// ffi/native.ts: loading ffi/native.c, built ahead of time (make native), from `bun` and
// from a `bun build --compile` binary, through a private directory removed afterwards.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  expect(native()).toBe(symbols); // loaded once per process
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

describe("load directory", () => {
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
      // make's flags (Makefile COMPILE): the library must be found from a bytecode chunk too.
      bun, "build", "--compile", "--minify", "--bytecode", "--format=esm", "--splitting",
      "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv",
      join(work, "program.ts"), "--outfile", binary,
    ]);
    if (build.code !== 0) throw new Error(`bun build --compile failed:\n${build.stderr}`);
  });

  test("the embedded library loads and the spawner works", () => {
    const result = run([binary]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(expectedOutput);
  });

  test("loads its library from HEARTH_NATIVE_DIR, never from a fixed name in /tmp", () => {
    const dir = join(work, "binary-native-dir");
    mkdirSync(dir);
    const result = run([binary], { HEARTH_NATIVE_DIR: dir, TMPDIR: "/nonexistent" });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(expectedOutput);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("the prebuilt libraries", () => {
  const libraries = ["x64", "arm64"].map((arch) => join(root, "build", "native", `native-${arch}.so`));

  // Linked without libc: they bind to the glibc of the process that loads them (the
  // board's), whatever the build host's was.
  test.each(libraries)("%s needs no library and no glibc version", (library) => {
    const dynamic = run(["readelf", "--dynamic", "--version-info", library]);
    expect(dynamic.code).toBe(0);
    expect(dynamic.stdout).not.toContain("NEEDED");
    expect(dynamic.stdout).not.toContain("GLIBC_");
  });

  // (bun test's preload says `make native` before any test file loads)
  test("from the sources, a missing library is named", () => {
    const copy = join(work, "copy");
    mkdirSync(join(copy, "ffi"), { recursive: true });
    for (const name of readdirSync(join(root, "ffi"))) writeFileSync(join(copy, "ffi", name), readFileSync(join(root, "ffi", name)));
    writeFileSync(join(copy, "load.ts"), `import { native } from "./ffi/native.ts";\nnative();\n`);
    const result = run([bun, join(copy, "load.ts")]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Cannot find module '..\/build\/native\/native-(x64|arm64).so'/);
  });
});
