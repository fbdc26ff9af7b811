// exec_start with several commands (oneshot only), exec_condition and exec_stop_post, as loaded.
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const FILE = "units/job.toml";

function parse(...lines: string[]) {
  const result = parseUnitToml("job", lines.join("\n"), FILE, defaultSystemConfig(), fakeEnv);
  return { service: result.unit?.service, problems: result.diagnostics.map(formatDiagnostic) };
}

describe("exec_start with several commands", () => {
  test("a oneshot takes an array of argv arrays: the first is exec_start, the rest follow", () => {
    const { service, problems } = parse("[service]", 'type = "oneshot"', 'exec_start = [["/bin/true", "a"], ["-/bin/kill"]]');
    expect(problems).toEqual([]);
    expect(service?.exec_start).toEqual({ argv: ["/bin/true", "a"], ignoreFailure: false });
    expect(service?.exec_start_next).toEqual([{ argv: ["/bin/kill"], ignoreFailure: true }]);
  });

  test("one command in an array of arrays is one command, for any type", () => {
    const { service, problems } = parse("[service]", 'exec_start = [["/bin/true", "a"]]');
    expect(problems).toEqual([]);
    expect(service?.exec_start_next).toEqual([]);
  });

  test("other types refuse several, as systemd does", () => {
    expect(parse("[service]", 'exec_start = [["/bin/true"], ["/bin/true"]]').problems).toEqual([
      `${FILE}:2:14: error: exec_start: several commands are allowed for type = "oneshot" only (this service is simple), as in systemd`,
    ]);
  });

  test("exec_condition and exec_stop_post are lists of commands, empty by default", () => {
    expect(parse("[service]", 'exec_start = "/bin/true"').service).toMatchObject({ exec_condition: [], exec_stop_post: [] });
    const { service } = parse("[service]", 'exec_start = "/bin/true"', 'exec_condition = "/bin/true x"', 'exec_stop_post = ["/bin/true", "-/bin/kill"]');
    expect(service?.exec_condition).toEqual([{ argv: ["/bin/true", "x"], ignoreFailure: false }]);
    expect(service?.exec_stop_post).toHaveLength(2);
  });
});
