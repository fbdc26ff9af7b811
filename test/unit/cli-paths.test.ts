// The default directories, made without node:path (src/cli/paths.ts): the same answers as path.resolve.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { absoluteDir, userRunDir } from "../../src/cli/paths.ts";

test("a directory from the command line is made absolute and normal, as path.resolve does", () => {
  for (const dir of ["run", "./run/", "a/../b", "/tmp//x/./y/..", "/", "..", "../../../..", "/a/b/../../..", "a//b///"]) {
    expect(absoluteDir(dir)).toBe(resolve(dir));
  }
});

test("the user's run directory: $XDG_RUNTIME_DIR/hearth, else under $TMPDIR", () => {
  const saved = { ...process.env };
  try {
    process.env.XDG_RUNTIME_DIR = "/run/user/1000/";
    expect(userRunDir()).toBe("/run/user/1000/hearth");
    delete process.env.XDG_RUNTIME_DIR;
    process.env.TMPDIR = "/var/tmp";
    expect(userRunDir()).toBe(`/var/tmp/hearth-${process.getuid!()}/hearth`);
  } finally {
    process.env = saved;
  }
});
