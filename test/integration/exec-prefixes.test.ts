// systemd's command prefixes through `hearth run`: each unit prints what its processes
// see (/proc/self/status, $0, its arguments) and the test reads it back from the logs.
// "+" and "!" need root to be told apart from the manager's own user (CI runs as root).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { report as startAndReport } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;

const STATUS = "grep -E '^(Uid|CapBnd|NoNewPrivs):' /proc/self/status";
const CONFINED = ['user = "nobody"', 'capability_bounding_set = "CAP_NET_RAW"', "no_new_privileges = true"];

function oneshot(...lines: string[]): string {
  return `[service]\ntype = "oneshot"\n${lines.join("\n")}\n`;
}

function report(unit: string): Promise<string[]> {
  return startAndReport(m, unit);
}

/** The values of every "Name:\tvalue" line, in order. */
function fields(lines: string[], name: string): string[] {
  return lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trim().split(/\s+/)[0]!);
}

beforeAll(async () => {
  conf = writeConf({
    argv0: oneshot(`exec_start = ["@/bin/sh", "my-name", "-c", "echo $0"]`),
    "no-expansion": oneshot(`exec_start = [":/bin/echo", "$GREETING", "\${GREETING}"]`, 'environment = { GREETING = "hello" }'),
    expansion: oneshot(`exec_start = ["/bin/echo", "$GREETING", "\${GREETING}"]`, 'environment = { GREETING = "hello" }'),
    // exec_start_pre runs with the prefix, exec_start without: both print what they got.
    "full-privileges": oneshot(`exec_start_pre = ["+/bin/sh -c \\"${STATUS}\\""]`, `exec_start = "/bin/sh -c \\"${STATUS}\\""`, ...CONFINED),
    "keep-ids": oneshot(`exec_start_pre = ["!/bin/sh -c \\"${STATUS}\\""]`, `exec_start = "/bin/sh -c \\"${STATUS}\\""`, ...CONFINED),
    ambient: oneshot(`exec_start = "!!/bin/sh -c \\"${STATUS}\\""`, ...CONFINED),
    combined: oneshot(`exec_start = ["-:@/bin/sh", "other", "-c", "echo \\"$0\\" '\${X}'; exit 3"]`, 'environment = { X = "x" }'),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("exec prefixes", () => {
  test('"@": the program sees the given argv[0]', async () => {
    expect(await report("argv0")).toEqual(["my-name"]);
  });

  test('":": $NAME and ${NAME} reach the program as written', async () => {
    expect(await report("no-expansion")).toEqual(["$GREETING ${GREETING}"]);
    expect(await report("expansion")).toEqual(["hello hello"]);
  });

  test.skipIf(!isRoot)('"+": the command runs as root with every capability and no no_new_privs; the others stay confined', async () => {
    const lines = await report("full-privileges");
    expect(fields(lines, "Uid")).toEqual(["0", "65534"]);
    const [pre, main] = fields(lines, "CapBnd");
    expect(BigInt(`0x${pre}`) & (1n << 21n)).toBe(1n << 21n); // CAP_SYS_ADMIN kept
    expect(main).toBe("0000000000002000"); // CAP_NET_RAW alone
    expect(fields(lines, "NoNewPrivs")).toEqual(["0", "1"]);
  });

  test.skipIf(!isRoot)('"!": the command keeps root\'s ids but not the capabilities or no_new_privs', async () => {
    const lines = await report("keep-ids");
    expect(fields(lines, "Uid")).toEqual(["0", "65534"]);
    expect(fields(lines, "CapBnd")).toEqual(["0000000000002000", "0000000000002000"]);
    expect(fields(lines, "NoNewPrivs")).toEqual(["1", "1"]);
  });

  test.skipIf(!isRoot)('"!!": nothing changes on a kernel with ambient capabilities', async () => {
    const lines = await report("ambient");
    expect(fields(lines, "Uid")).toEqual(["65534"]);
  });

  test('"-", ":" and "@" together: argv[0] given, no expansion, the failure ignored', async () => {
    expect(await report("combined")).toContain("other ${X}");
    expect((await m.unit("combined")).result).toBe("success");
  });
});
