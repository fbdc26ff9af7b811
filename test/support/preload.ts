// Preloaded for every test file (bunfig.toml): the harness's invariants run after each
// test and at the end of the run, whether or not a test file asks for them.
import { afterAll, afterEach, beforeEach } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAllTests, afterEachTest, beforeEachTest, installHooks } from "./harness.ts";

// ffi/native-libs.ts imports the prebuilt native helpers: without them no spawning code loads.
for (const arch of ["x64", "arm64"]) {
  const library = join(import.meta.dir, "../../build/native", `native-${arch}.so`);
  if (!existsSync(library)) throw new Error(`${library} is missing: run \`make native\``);
}

installHooks();
beforeEach(beforeEachTest);
afterEach(afterEachTest, 30_000);
afterAll(afterAllTests, 60_000);
