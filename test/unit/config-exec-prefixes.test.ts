// systemd's command-line prefixes, as the loader reads them off exec_* commands.
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const FILE = "units/echo.toml";

function parse(...lines: string[]) {
  return parseUnitToml("echo", lines.join("\n"), FILE, defaultSystemConfig(), fakeEnv);
}

function execStart(command: string) {
  const result = parse("[service]", `exec_start = ${JSON.stringify(command)}`);
  return { command: result.unit?.service?.exec_start, problems: result.diagnostics.map(formatDiagnostic) };
}

describe("exec prefixes (systemd's - @ : + ! !!)", () => {
  test("a plain command carries no prefix flags", () => {
    expect(execStart("/bin/true x").command).toEqual({ argv: ["/bin/true", "x"], ignoreFailure: false });
  });

  test('"@" takes the next word as the argv[0] the program sees', () => {
    expect(execStart("@/bin/true mydaemon -f").command).toEqual({ argv: ["/bin/true", "-f"], ignoreFailure: false, argv0: "mydaemon" });
  });

  test('"@" without a next word is an error', () => {
    expect(execStart("@/bin/true").problems).toEqual([
      `${FILE}:2:14: error: exec_start: the prefix "@" needs the argv[0] to give the program as the next word`,
    ]);
  });

  test("prefixes combine in any order", () => {
    expect(execStart("+-:@/bin/true name").command).toEqual({
      argv: ["/bin/true"], ignoreFailure: true, argv0: "name", privileges: "full", noEnvironmentExpansion: true,
    });
    expect(execStart(":!-/bin/true").command).toEqual({ argv: ["/bin/true"], ignoreFailure: true, privileges: "keep-ids", noEnvironmentExpansion: true });
  });

  test('"!!" changes nothing on a kernel with ambient capabilities', () => {
    expect(execStart("!!/bin/true").command).toEqual({ argv: ["/bin/true"], ignoreFailure: false });
    expect(execStart("-!!/bin/true").command).toEqual({ argv: ["/bin/true"], ignoreFailure: true });
  });

  test("a prefix twice, or + with !, is refused with a reason", () => {
    expect(execStart("--/bin/true").problems).toEqual([`${FILE}:2:14: error: exec_start: the prefix "-" is given twice`]);
    expect(execStart("+!/bin/true").problems).toEqual([`${FILE}:2:14: error: exec_start: the prefix "!" cannot go with "+"`]);
    expect(execStart("!!+/bin/true").problems).toEqual([`${FILE}:2:14: error: exec_start: the prefix "+" cannot go with "!" or "!!"`]);
    expect(execStart("!!!/bin/true").problems).toEqual([`${FILE}:2:14: error: exec_start: the prefixes "!" and "!!" may be given once, and not both`]);
  });

  test("a prefix with no program after it", () => {
    expect(execStart("+-").problems).toEqual([`${FILE}:2:14: error: exec_start: the program is missing after the prefix "+-"`]);
  });

  test("the prefixes work on every command list", () => {
    const result = parse("[service]", 'exec_start = "/bin/true"', 'exec_stop = ["+/bin/true", ":/bin/true $X"]');
    expect(result.unit?.service?.exec_stop).toEqual([
      { argv: ["/bin/true"], ignoreFailure: false, privileges: "full" },
      { argv: ["/bin/true", "$X"], ignoreFailure: false, noEnvironmentExpansion: true },
    ]);
  });
});
