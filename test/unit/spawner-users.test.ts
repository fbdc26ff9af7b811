// User and group resolution (src/exec/users.ts) and program lookup (src/exec/executable.ts).

import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveExecutable } from "../../src/exec/executable.ts";
import {
  findGroupId, findUser, memberships, parseGroup, parsePasswd, readUserDatabase, resolveCredentials,
} from "../../src/exec/users.ts";

const passwd = `root:x:0:0:root:/root:/bin/bash
# a comment

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www:x:33:33:web server,,,:/var/www:/usr/sbin/nologin
broken:x:notanumber:1::/:/bin/sh
+nisuser::::::
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
short:x:70:70
`;

const group = `root:x:0:
daemon:x:1:
www:x:33:
adm:x:4:www,daemon
video:x:44:www
users:x:100:
nogroup:x:65534:
`;

const db = { users: parsePasswd(passwd), groups: parseGroup(group) };

describe("parsers", () => {
  test("passwd: fields, comments, blank, NIS and malformed lines", () => {
    expect(db.users.map((u) => u.name)).toEqual(["root", "daemon", "www", "nobody", "short"]);
    expect(db.users[2]).toEqual({
      name: "www", uid: 33, gid: 33, gecos: "web server,,,", home: "/var/www", shell: "/usr/sbin/nologin",
    });
    expect(db.users[4]).toMatchObject({ name: "short", uid: 70, gid: 70, home: "", shell: "" });
  });

  test("group: members", () => {
    expect(db.groups.find((g) => g.name === "adm")).toEqual({ name: "adm", gid: 4, members: ["www", "daemon"] });
    expect(db.groups.find((g) => g.name === "users")!.members).toEqual([]);
    expect(memberships(db, "www")).toEqual([4, 44]);
  });

  test("lookups by name and by number", () => {
    expect(findUser(db, "nobody")!.uid).toBe(65534);
    expect(findUser(db, "33")!.name).toBe("www");
    expect(findUser(db, "ghost")).toBeNull();
    expect(findGroupId(db, "video")).toBe(44);
    expect(findGroupId(db, "1234")).toBe(1234);
    expect(findGroupId(db, "nope")).toBeNull();
  });

  test("readUserDatabase reads ETC/passwd and ETC/group; missing files are empty", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-etc-"));
    try {
      writeFileSync(join(dir, "passwd"), passwd);
      expect(readUserDatabase(dir)).toEqual({ users: db.users, groups: [] });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("resolveCredentials", () => {
  test("user: uid, primary gid, and the groups listing the user", () => {
    expect(resolveCredentials(db, { user: "www" })).toEqual({ uid: 33, gid: 33, groups: [33, 4, 44] });
  });

  test("group replaces the primary gid", () => {
    expect(resolveCredentials(db, { user: "www", group: "users" })).toEqual({ uid: 33, gid: 100, groups: [100, 4, 44] });
  });

  test("supplementary groups are added", () => {
    expect(resolveCredentials(db, { user: "nobody", supplementaryGroups: ["video", "4"] })).toEqual({
      uid: 65534, gid: 65534, groups: [65534, 44, 4],
    });
  });

  test("a numeric user not in passwd gets gid = uid", () => {
    expect(resolveCredentials(db, { user: "4242" })).toEqual({ uid: 4242, gid: 4242, groups: [4242] });
  });

  test("group only, and nothing at all", () => {
    expect(resolveCredentials(db, { group: "video" })).toEqual({ gid: 44 });
    expect(resolveCredentials(db, {})).toEqual({});
    expect(resolveCredentials(db, { user: null, group: null, supplementaryGroups: [] })).toEqual({});
  });

  test("unknown names are errors", () => {
    expect(resolveCredentials(db, { user: "ghost" })).toEqual({ error: 'unknown user "ghost"' });
    expect(resolveCredentials(db, { user: "www", group: "ghosts" })).toEqual({ error: 'unknown group "ghosts"' });
    expect(resolveCredentials(db, { supplementaryGroups: ["x"] })).toEqual({ error: 'unknown group "x"' });
  });
});

describe("resolveExecutable", () => {
  test("bare names through the search path; paths as given", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-path-"));
    try {
      mkdirSync(join(dir, "bin"));
      writeFileSync(join(dir, "bin", "tool"), "#!/bin/sh\n");
      chmodSync(join(dir, "bin", "tool"), 0o755);
      writeFileSync(join(dir, "bin", "data"), "not executable");
      mkdirSync(join(dir, "bin", "adir"));
      const path = `:relative:${join(dir, "bin")}:/bin`;
      expect(resolveExecutable("tool", path)).toBe(join(dir, "bin", "tool"));
      expect(resolveExecutable("data", path)).toBeNull();
      expect(resolveExecutable("adir", path)).toBeNull();
      expect(resolveExecutable("sh", path)).toBe("/bin/sh");
      expect(resolveExecutable(join(dir, "bin", "tool"), "")).toBe(join(dir, "bin", "tool"));
      expect(resolveExecutable("bin/tool", "", dir)).toBe(join(dir, "bin", "tool"));
      expect(resolveExecutable("missing-program-xyz", path)).toBeNull();
      expect(resolveExecutable("", path)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
