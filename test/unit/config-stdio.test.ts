// standard_input / standard_output / standard_error / syslog_identifier: what a unit file
// may say, where the loader points at a mistake, and where each fd then goes (pure).
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { stdioPlan } from "../../src/manager/stdio.ts";
import { serviceSection } from "../support/units.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const FILE = "units/echo.toml";
const SERVICE = ["[service]", 'exec_start = "/usr/bin/echod"'];
const ACCEPT = ["[[socket]]", 'listen_stream = "/run/echo.sk"', "accept = true"];

function parse(...lines: string[]) {
  return parseUnitToml("echo", lines.join("\n"), FILE, defaultSystemConfig(), fakeEnv);
}

/** An accept = true unit is a template (units/echo@.toml). */
function parseTemplate(...lines: string[]) {
  return parseUnitToml("echo@", lines.join("\n"), "units/echo@.toml", defaultSystemConfig(), fakeEnv);
}

function problems(...lines: string[]): string[] {
  return parse(...lines).diagnostics.map(formatDiagnostic);
}

describe("standard output keys in a unit file", () => {
  test("by default stdout goes to the log and stderr with it; a tty or socket stdin takes stdout along", () => {
    expect(parse(...SERVICE).unit!.service).toMatchObject({
      standard_input: "null", standard_output: "journal", standard_error: "inherit", syslog_identifier: null,
    });
    expect(parse(...SERVICE, 'standard_input = "tty"').unit!.service!.standard_output).toBe("inherit");
    expect(parseTemplate(...SERVICE, 'standard_input = "socket"', ...ACCEPT).unit!.service!.standard_output).toBe("inherit");
  });

  test("every word and file form systemd takes is accepted as written", () => {
    for (const value of ["inherit", "null", "tty", "journal", "syslog", "kmsg", "file:/var/log/echo.log", "append:/var/log/echo.log", "truncate:/tmp/x"]) {
      const unit = parse(...SERVICE, `standard_output = "${value}"`, `standard_error = "${value}"`).unit;
      expect(unit?.service).toMatchObject({ standard_output: value, standard_error: value });
    }
    expect(parseTemplate(...SERVICE, 'standard_output = "socket"', 'standard_error = "socket"', ...ACCEPT).unit).not.toBeNull();
  });

  test("a misspelt word, a relative or odd path are refused at the value, with what is expected", () => {
    expect(problems(...SERVICE, 'standard_output = "jounral"')).toEqual([
      `${FILE}:3:19: error: standard_output: "jounral": expected one of inherit, null, tty, journal, syslog, kmsg, socket, journal+console, syslog+console, kmsg+console, file:PATH, append:PATH, truncate:PATH; did you mean 'journal'?`,
    ]);
    expect(problems(...SERVICE, 'standard_error = "file:log/echo.log"')).toEqual([
      `${FILE}:3:18: error: standard_error: "file:log/echo.log": file:PATH needs an absolute path`,
    ]);
    expect(problems(...SERVICE, 'standard_output = "append:/var/log/"')).toEqual([
      `${FILE}:3:19: error: standard_output: "append:/var/log/": append:PATH names a directory: give a file`,
    ]);
    expect(problems(...SERVICE, 'standard_output = "truncate:/var/../etc/passwd"')).toEqual([
      `${FILE}:3:19: error: standard_output: "truncate:/var/../etc/passwd": truncate:PATH must not hold "." or ".." components`,
    ]);
    expect(problems(...SERVICE, "standard_output = 1")).toEqual([
      `${FILE}:3:19: error: standard_output: expected a string, got the integer 1`,
    ]);
  });

  test('"socket" needs an accept = true socket, for stdout and stderr as for stdin', () => {
    expect(problems(...SERVICE, 'standard_output = "socket"', 'standard_error = "socket"')).toEqual([
      `${FILE}:3:19: error: standard_output: standard_output = "socket" needs a [[socket]] with accept = true`,
      `${FILE}:4:18: error: standard_error: standard_error = "socket" needs a [[socket]] with accept = true`,
    ]);
  });

  test("syslog_identifier is one word of printable characters", () => {
    expect(parse(...SERVICE, 'syslog_identifier = "sshd"').unit!.service!.syslog_identifier).toBe("sshd");
    expect(problems(...SERVICE, 'syslog_identifier = "my daemon"')).toEqual([
      `${FILE}:3:21: error: syslog_identifier: "my daemon" must not hold spaces or control characters`,
    ]);
    expect(problems(...SERVICE, 'syslog_identifier = ""')).toEqual([
      `${FILE}:3:21: error: syslog_identifier: "" must not be empty`,
    ]);
  });
});

describe("where stdin, stdout and stderr go", () => {
  const run = { hasConnection: false, systemMode: false };
  const pid1 = { hasConnection: false, systemMode: true };
  const instance = { hasConnection: true, systemMode: true };

  test("by default: /dev/null in, the log out, stderr the very fd of stdout", () => {
    expect(stdioPlan(serviceSection({ standard_output: "journal" }), pid1)).toEqual({
      stdin: { kind: "null" }, stdout: { kind: "log" }, stderr: { kind: "stdout" }, connection: false,
    });
  });

  test("syslog and kmsg are the log too; null is /dev/null for both", () => {
    expect(stdioPlan(serviceSection({ standard_output: "syslog", standard_error: "kmsg" }), pid1).stderr).toEqual({ kind: "stdout" });
    expect(stdioPlan(serviceSection({ standard_output: "null" }), pid1)).toMatchObject({ stdout: { kind: "null" }, stderr: { kind: "stdout" } });
  });

  test("files: stderr shares stdout's fd for the same path opened the same way, else gets its own", () => {
    const same = stdioPlan(serviceSection({ standard_output: "append:/var/log/a", standard_error: "append:/var/log/a" }), pid1);
    expect(same).toMatchObject({ stdout: { kind: "file", path: "/var/log/a", open: "append" }, stderr: { kind: "stdout" } });
    const apart = stdioPlan(serviceSection({ standard_output: "file:/var/log/a", standard_error: "truncate:/var/log/b" }), pid1);
    expect(apart.stderr).toEqual({ kind: "file", path: "/var/log/b", open: "truncate" });
    expect(stdioPlan(serviceSection({ standard_output: "file:/var/log/a", standard_error: "journal" }), pid1).stderr).toEqual({ kind: "log" });
  });

  test("inherit takes stdin's terminal or connection; with /dev/null in, /dev/null as PID 1 and the manager's stdout in run mode", () => {
    expect(stdioPlan(serviceSection({ standard_input: "tty", standard_output: "inherit" }), pid1))
      .toMatchObject({ stdin: { kind: "tty" }, stdout: { kind: "tty" }, stderr: { kind: "stdout" } });
    expect(stdioPlan(serviceSection({ standard_output: "inherit" }), pid1).stdout).toEqual({ kind: "null" });
    expect(stdioPlan(serviceSection({ standard_output: "inherit" }), run).stdout).toEqual({ kind: "tty" });
  });

  test("inetd style: the connection on all three (stderr too, as systemd), and not at fd 3", () => {
    expect(stdioPlan(serviceSection({ standard_input: "socket", standard_output: "inherit" }), instance)).toEqual({
      stdin: { kind: "connection" }, stdout: { kind: "connection" }, stderr: { kind: "stdout" }, connection: true,
    });
    expect(stdioPlan(serviceSection({ standard_input: "socket", standard_output: "inherit", standard_error: "journal" }), instance).stderr)
      .toEqual({ kind: "log" });
    expect(stdioPlan(serviceSection({ standard_output: "socket" }), instance))
      .toMatchObject({ stdin: { kind: "null" }, stdout: { kind: "connection" }, connection: true });
  });

  test("a process with no connection to use gets /dev/null and inherits instead of the socket", () => {
    const plan = stdioPlan(serviceSection({ standard_input: "socket", standard_output: "socket", standard_error: "journal" }), pid1);
    expect(plan).toEqual({ stdin: { kind: "null" }, stdout: { kind: "null" }, stderr: { kind: "log" }, connection: false });
  });
});
