// notification_fd = 1000000 once failed with a bare "fds: Invalid argument" (defect 18):
// an fd past the open-file limit cannot be placed, and the message says so.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { devNull } from "../../ffi/fd.ts";
import { E } from "../../ffi/constants.ts";
import { spawn } from "../../src/exec/spawner.ts";

/** This process's soft RLIMIT_NOFILE, which the child inherits while its fds are placed. */
function openFileLimit(): number {
  return Number(/^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]);
}

test("an fd past the open-file limit: the spawn fails saying so", () => {
  const limit = openFileLimit();
  const fd = devNull();
  const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, fds: new Array(limit).fill(fd) });
  expect(result).toMatchObject({ ok: false, errno: E.EINVAL, stage: "fds" });
  expect(!result.ok && result.message).toBe(
    `fds: Invalid argument (fd ${limit + 2} is not below the open-file limit, RLIMIT_NOFILE)`,
  );
});
