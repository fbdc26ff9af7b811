// Preloaded for every test file (bunfig.toml): the harness's invariants run after each
// test and at the end of the run, whether or not a test file asks for them.
import { afterAll, afterEach, beforeEach } from "bun:test";
import { afterAllTests, afterEachTest, beforeEachTest, installHooks } from "./harness.ts";

installHooks();
beforeEach(beforeEachTest);
afterEach(afterEachTest, 30_000);
afterAll(afterAllTests, 60_000);
