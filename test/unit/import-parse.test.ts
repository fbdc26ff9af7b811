// hearth import: systemd's unit-file syntax and value words, read as systemd reads them.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropInFiles, parseUnitText } from "../../src/import/unit-file.ts";
import { WordError, expandFixedSpecifiers, parseCommands, words } from "../../src/import/words.ts";
import { snakeCase } from "../../src/import/directives.ts";
import { hearthKey } from "../../src/import/convert.ts";

describe("unit file syntax", () => {
  test("sections, comments with # and ;, repeated keys each kept with their line", () => {
    const { assignments, problems } = parseUnitText(
      "# top\n[Unit]\nDescription = a daemon \n; note\nAfter=a.service\nAfter=b.service\n\n[Service]\nExecStart=/bin/x\n",
      "x.service",
    );
    expect(problems).toEqual([]);
    expect(assignments.map((a) => [a.section, a.key, a.value, a.line])).toEqual([
      ["Unit", "Description", "a daemon", 3],
      ["Unit", "After", "a.service", 5],
      ["Unit", "After", "b.service", 6],
      ["Service", "ExecStart", "/bin/x", 9],
    ]);
  });

  test("a trailing backslash continues the line with a space, skipping comment lines in between", () => {
    const { assignments } = parseUnitText("[Service]\nExecStart=/bin/echo a \\\n# a comment\n  b\\\nc\nUser=x\n", "x.service");
    expect(assignments[0]).toMatchObject({ key: "ExecStart", value: "/bin/echo a  b c", line: 2 });
    expect(assignments[1]).toMatchObject({ key: "User", line: 6 });
  });

  test("lines that are no assignment are reported with their line", () => {
    const { problems } = parseUnitText("Orphan=1\n[Unit]\nnot an assignment\n[Broken\n", "x.service");
    expect(problems.map((p) => p.line)).toEqual([1, 3, 4]);
  });

  test("drop-ins beside the file and under --root, in the order of their file names; /etc hides a same-named one", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-import-"));
    const unit = join(dir, "lib/foo@bar.service");
    mkdirSync(join(dir, "lib/foo@bar.service.d"), { recursive: true });
    mkdirSync(join(dir, "lib/foo@.service.d"), { recursive: true });
    mkdirSync(join(dir, "root/etc/systemd/system/foo@bar.service.d"), { recursive: true });
    writeFileSync(unit, "[Service]\nExecStart=/bin/true\n");
    writeFileSync(join(dir, "lib/foo@bar.service.d/20-b.conf"), "");
    writeFileSync(join(dir, "lib/foo@bar.service.d/30-c.conf"), "");
    writeFileSync(join(dir, "lib/foo@bar.service.d/notes.txt"), "");
    writeFileSync(join(dir, "lib/foo@.service.d/10-a.conf"), "");
    writeFileSync(join(dir, "root/etc/systemd/system/foo@bar.service.d/30-c.conf"), "");
    expect(dropInFiles(unit, join(dir, "root")).map((p) => p.slice(dir.length))).toEqual([
      "/lib/foo@.service.d/10-a.conf",
      "/lib/foo@bar.service.d/20-b.conf",
      "/root/etc/systemd/system/foo@bar.service.d/30-c.conf",
    ]);
    // A link to /dev/null in /etc masks the drop-in of that name.
    symlinkSync("/dev/null", join(dir, "root/etc/systemd/system/foo@bar.service.d/20-b.conf"));
    expect(dropInFiles(unit, join(dir, "root")).map((p) => p.slice(dir.length))).toEqual([
      "/lib/foo@.service.d/10-a.conf",
      "/root/etc/systemd/system/foo@bar.service.d/30-c.conf",
    ]);
  });
});

describe("value words", () => {
  test("quotes anywhere in a word, and C escapes in and out of quotes", () => {
    expect(words(`--opt="a b" 'c d' e\\x41 "tab\\there" \\s`)).toEqual(["--opt=a b", "c d", "eA", "tab\there", " "]);
  });

  test("serial-getty's '-p -- \\\\u' is one word with one backslash", () => {
    expect(words(`-o '-p -- \\\\u' --keep-baud`)).toEqual(["-o", "-p -- \\u", "--keep-baud"]);
  });

  test("an unterminated quote is an error", () => {
    expect(() => words(`"abc`)).toThrow(WordError);
  });

  test("a lone ; separates commands, a quoted or escaped one is an argument; prefixes are split off", () => {
    expect(parseCommands(`-@/bin/a a0 x ; /bin/b ";" \\;`)).toEqual([
      { prefixes: ["-", "@"], program: "/bin/a", args: ["a0", "x"] },
      { prefixes: [], program: "/bin/b", args: [";", ";"] },
    ]);
    expect(parseCommands("!!/usr/sbin/d")[0]!.prefixes).toEqual(["!!"]);
  });

  test("specifiers fixed for system units are written out; %% and the unit's own are kept", () => {
    expect(expandFixedSpecifiers("%t/x %S %C %L %E %%t %i %I %n")).toBe("/run/x /var/lib /var/cache /var/log /etc %%t %i %I %n");
  });

  test("a directive finds its key in the schema whatever the underscores, or by its rename", () => {
    expect(hearthKey("Service", "IOSchedulingClass")?.name).toBe("io_scheduling_class");
    expect(hearthKey("Service", "UMask")?.name).toBe("umask");
    expect(hearthKey("Service", "OOMScoreAdjust")?.name).toBe("oom_score_adj");
    expect(hearthKey("Unit", "StartLimitBurst")).toMatchObject({ table: "service", name: "start_limit_burst" });
    expect(hearthKey("Socket", "FileDescriptorName")?.name).toBe("fd_name");
    expect(hearthKey("Service", "NoSuchDirective")).toBeNull();
  });

  test("directive names become hearth keys in snake_case, acronyms whole", () => {
    expect(["PIDFile", "SendSIGHUP", "LimitNOFILE", "IOSchedulingClass", "ConditionACPower", "ExecStopPost", "TTYPath"].map(snakeCase))
      .toEqual(["pid_file", "send_sighup", "limit_nofile", "io_scheduling_class", "condition_ac_power", "exec_stop_post", "tty_path"]);
  });
});
