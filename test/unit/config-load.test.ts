// The whole configuration directory: built-in targets, the unit graph, and `hearth check`.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { formatDiagnostic, loadConfig } from "../../src/config/load.ts";
import { checkMain } from "../../src/cli/check.ts";
import { orderingEdges } from "../../src/config/graph.ts";
import { logDiagnostic } from "../../src/config/diagnostics.ts";
import { BUILTIN_TARGETS, type Diagnostic, type LoadedConfig } from "../../src/config/types.ts";
import { fakeEnv, fromTexts } from "../fixtures/config/fake-env.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/config");

function load(name: string): LoadedConfig {
  return loadConfig(join(FIXTURES, name), { env: fakeEnv });
}

/** Diagnostics formatted with paths relative to the fixture directory. */
function formatted(config: LoadedConfig, name: string): string[] {
  const dir = join(FIXTURES, name) + "/";
  return config.diagnostics.map((d) => formatDiagnostic({ ...d, file: d.file.replace(dir, "") }));
}

describe("a good configuration", () => {
  const config = load("good");

  test("loads without a diagnostic", () => expect(config.diagnostics).toEqual([]));

  test("has every unit and every built-in target", () => {
    expect([...config.units.keys()].sort()).toEqual(
      [...BUILTIN_TARGETS, "early", "echo", "extras", "syslog"].sort(),
    );
  });

  test("reads system.toml", () => {
    expect(config.system.manager).toMatchObject({ default_target: "multi-user", hostname: "board", kernel_modules: ["i6300esb"] });
    expect(config.system.watchdog).toEqual({ device: "/dev/watchdog0", runtime_sec: 30, shutdown_sec: 600, critical_units: ["echo"] });
    expect(config.system.mounts).toEqual([{ what: "/dev/vda2", where: "/data", type: "ext4", options: "noatime" }]);
  });

  test("resolves programs in PATH", () => {
    expect(config.units.get("syslog")!.service!.exec_start.argv).toEqual(["/usr/sbin/logd", "--foreground"]);
  });

  test("keeps the written values", () => {
    const echo = config.units.get("echo")!;
    expect(echo.file).toBe(join(FIXTURES, "good/units/echo.toml"));
    expect(echo.service).toMatchObject({ type: "notify", restart_sec: 0.5, start_limit_action: "reboot-force", user: "nobody" });
    expect(echo.service!.limits).toEqual({ nofile: { soft: 4096, hard: 4096 } });
    expect(echo.sockets).toHaveLength(1);
    expect(echo.sockets[0]).toMatchObject({ listen_stream: "/run/foobar.sk", socket_mode: 0o660, fd_name: "echo" });
  });

  test("adds default dependencies to services", () => {
    const echo = config.units.get("echo")!.unit;
    expect(echo.requires).toEqual(["syslog", "sysinit"]);
    expect(echo.after).toEqual(["syslog", "basic"]);
    expect(echo.conflicts).toEqual(["shutdown"]);
    expect(echo.before).toEqual(["shutdown"]);
  });

  test("not to a unit that turned them off", () => {
    const early = config.units.get("early")!.unit;
    expect(early).toMatchObject({ requires: [], after: [], conflicts: [], before: [], wanted_by: ["sysinit"] });
  });

  test("built-in targets", () => {
    expect(config.units.get("basic")!.unit).toMatchObject({ wants: ["sysinit", "sockets"], after: ["sysinit", "sockets"] });
    expect(config.units.get("rescue")!.unit).toMatchObject({ requires: ["sysinit"], after: ["sysinit"] });
    expect(config.units.get("shutdown")!.unit).toMatchObject({ conflicts: [], before: [], default_dependencies: false });
    for (const name of BUILTIN_TARGETS) {
      expect(config.units.get(name)!.service).toBeNull();
      if (name !== "multi-user") expect(config.units.get(name)!.file).toBe("");
    }
  });

  test("a file named like a built-in target extends it", () => {
    const multiUser = config.units.get("multi-user")!;
    expect(multiUser.file).toBe(join(FIXTURES, "good/units/multi-user.toml"));
    expect(multiUser.unit).toMatchObject({
      description: "Everything up", requires: ["basic"], wants: ["extras"], after: ["basic"], conflicts: ["rescue", "shutdown"],
    });
  });

  test("targets wait for what they pull in, unless it is ordered after them", () => {
    const after = orderingEdges(config.units);
    expect([...after.get("multi-user")!].sort()).toEqual(["basic", "echo", "extras", "syslog"]);
    expect([...after.get("sysinit")!]).toEqual(["early"]);
    expect([...after.get("shutdown")!].sort()).toEqual(
      ["basic", "echo", "extras", "multi-user", "rescue", "sockets", "sysinit", "syslog"],
    );
  });
});

describe("a broken configuration", () => {
  const config = load("broken");

  test("every problem, in file order, at its line and column", () => {
    const cycle = 'ordering cycle: cycle-a -> cycle-b -> cycle-c -> cycle-a ("a -> b": a starts after b); disabled: cycle-a, cycle-b, cycle-c';
    expect(formatted(config, "broken")).toEqual([
      "units/legacy.service: warning: ignored: a systemd unit file; write it as NAME.toml (docs/configuration.md: keys are the snake_case forms of systemd's directives)",
      "system.toml:2:18: error: default_target: 'multi-usr' is unknown, booting 'multi-user' instead; did you mean 'multi-user'?",
      "system.toml:5:19: warning: critical_units[0]: 'ghost' is unknown, ignored",
      `units/cycle-a.toml:2:10: error: after[0]: ${cycle}`,
      `units/cycle-b.toml:3:18: error: after[1]: ${cycle}`,
      `units/cycle-c.toml:1:1: error: [unit]: ${cycle}`,
      'units/early-wrong.toml:2:1: error: [unit]: ordering cycle: basic -> sysinit -> early-wrong -> basic ("a -> b": a starts after b); ' +
        "implicit: basic -> sysinit: built-in ordering; sysinit -> early-wrong: sysinit is a target and waits for the units it pulls in; " +
        "early-wrong -> basic: services start after basic (default_dependencies); disabled: early-wrong",
      "units/lost.toml:2:10: warning: after[0]: unknown unit 'ghost', ignored",
      "units/missing-program.toml:2:14: error: exec_start: /usr/bin/not-there does not exist",
      "units/needs-typo.toml:2:13: warning: requires[0]: 'typo' has errors and is not loaded: 'needs-typo' will fail to start",
      "units/not-executable.toml:2:15: error: exec_start[0]: /usr/bin/not-exec is not executable",
      'units/syntax.toml:2:24: error: TOML syntax error: unterminated string: a quoted string ends on the line it starts (use """ for several lines)',
      "units/typo.toml:4:1: error: [service]: 'exec_start' is required",
      "units/typo.toml:5:1: error: exec_strat: unknown key in [service]; did you mean 'exec_start'?",
      "units/unknown-dep.toml:2:13: warning: requires[0]: unknown unit 'nonesuch': starting 'unknown-dep' will fail",
      "units/unknown-dep.toml:3:10: warning: wants[0]: unknown unit 'ghost', ignored",
      "units/unknown-dep.toml:4:10: warning: after[0]: unknown unit 'goood', ignored; did you mean 'good'?",
    ]);
  });

  test("a missing name in an ordering or weak list is a quiet warning (the manager logs it at info); a missing requirement is not", () => {
    const quiet = (d: { quiet?: true }) => d.quiet === true;
    const of = (file: string) => config.diagnostics.filter((d) => d.file.endsWith(file)).map((d) => [d.message, quiet(d)]);
    expect(of("units/unknown-dep.toml")).toEqual([
      ["requires[0]: unknown unit 'nonesuch': starting 'unknown-dep' will fail", false],
      ["wants[0]: unknown unit 'ghost', ignored", true],
      ["after[0]: unknown unit 'goood', ignored; did you mean 'good'?", true],
    ]);
    const lines: string[] = [];
    const log = { err: (t: string) => lines.push(`err ${t}`), warning: (t: string) => lines.push(`warning ${t}`), info: (t: string) => lines.push(`info ${t}`) };
    for (const d of config.diagnostics.filter((d) => d.file.endsWith("units/unknown-dep.toml"))) logDiagnostic(log, d);
    expect(lines.map((l) => l.replace(/ \S*units\//, " units/"))).toEqual([
      "warning units/unknown-dep.toml:2:13: warning: requires[0]: unknown unit 'nonesuch': starting 'unknown-dep' will fail",
      "info units/unknown-dep.toml:3:10: note: wants[0]: unknown unit 'ghost', ignored",
      "info units/unknown-dep.toml:4:10: note: after[0]: unknown unit 'goood', ignored; did you mean 'good'?",
    ]);
  });

  test("good units still load next to bad ones", () => {
    expect([...config.units.keys()].sort()).toEqual([...BUILTIN_TARGETS, "good", "lost", "needs-typo", "unknown-dep"].sort());
  });

  test("errors name the unit they disable; warnings do not", () => {
    const disabled = new Set(config.diagnostics.filter((d) => d.severity === "error").map((d) => d.unit));
    expect(disabled).toEqual(new Set([
      undefined, // system.toml
      "cycle-a", "cycle-b", "cycle-c", "early-wrong", "missing-program", "not-executable", "syntax", "typo",
    ]));
    expect(config.diagnostics.filter((d) => d.severity === "warning").every((d) => d.unit === undefined)).toBe(true);
    for (const name of disabled) if (name) expect(config.units.has(name)).toBe(false);
  });

  test("an unknown wants/after is dropped; a requires on a disabled or unknown unit is kept for the engine", () => {
    expect(config.units.get("lost")!.unit.after).toEqual(["basic"]);
    expect(config.units.get("needs-typo")!.unit.requires).toEqual(["typo", "sysinit"]);
    expect(config.units.get("unknown-dep")!.unit).toMatchObject({ requires: ["nonesuch", "sysinit"], wants: [], after: ["basic"] });
  });

  test("names that match no unit are not-found, with who names them; a unit with errors is not", () => {
    expect(Object.fromEntries(config.notFound)).toEqual({
      ghost: [{ unit: "lost", list: "after" }, { unit: "unknown-dep", list: "wants" }],
      goood: [{ unit: "unknown-dep", list: "after" }],
      nonesuch: [{ unit: "unknown-dep", list: "requires" }],
    });
  });

  test("an unknown default_target falls back to multi-user", () => {
    expect(config.system.manager.default_target).toBe("multi-user");
    expect(config.system.watchdog.critical_units).toEqual([]);
  });
});

describe("the unit graph", () => {
  const SERVICE = '[service]\nexec_start = "/bin/true"\n';

  test("a cycle through before, reported at the before item", () => {
    const config = fromTexts({
      a: `[unit]\nbefore = ["b"]\n${SERVICE}`,
      b: `[unit]\nbefore = ["a"]\n${SERVICE}`,
      c: SERVICE,
    });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      'units/a.toml:2:11: error: before[0]: ordering cycle: a -> b -> a ("a -> b": a starts after b); disabled: a, b',
      'units/b.toml:2:11: error: before[0]: ordering cycle: a -> b -> a ("a -> b": a starts after b); disabled: a, b',
    ]);
    expect(config.units.has("c")).toBe(true);
  });

  test("two cycles are both reported; a unit on neither stays", () => {
    const config = fromTexts({
      a: `[unit]\nafter = ["b"]\n${SERVICE}`,
      b: `[unit]\nafter = ["a"]\n${SERVICE}`,
      c: `[unit]\nafter = ["d", "a"]\n${SERVICE}`,
      d: `[unit]\nafter = ["c"]\n${SERVICE}`,
      e: `[unit]\nafter = ["a", "c"]\n${SERVICE}`,
    });
    expect(config.diagnostics.map((d) => `${d.unit}: ${d.message.split(" (")[0]}`)).toEqual([
      "a: after[0]: ordering cycle: a -> b -> a",
      "b: after[0]: ordering cycle: a -> b -> a",
      "c: after[0]: ordering cycle: c -> d -> c",
      "d: after[0]: ordering cycle: c -> d -> c",
    ]);
    expect(config.units.has("e")).toBe(true);
    expect(config.units.get("e")!.unit.after).toEqual(["basic"]); // a and c are gone
  });

  test("a cycle of built-in targets only drops the files that made it", () => {
    const config = fromTexts({ sysinit: '[unit]\nafter = ["multi-user"]\n' });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      'units/sysinit.toml:2:10: error: after[0]: ordering cycle: basic -> sysinit -> multi-user -> basic ("a -> b": a starts after b); ' +
        "implicit: basic -> sysinit: built-in ordering; multi-user -> basic: built-in ordering; disabled: sysinit",
    ]);
    expect(config.units.get("sysinit")).toMatchObject({ file: "", unit: { after: [] } });
    expect(config.units.size).toBe(BUILTIN_TARGETS.length);
  });

  test("a built-in target cannot get a [service]", () => {
    const config = fromTexts({ basic: SERVICE });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "units/basic.toml:1:1: error: [service]: 'basic' is a built-in target: a file of that name may only extend its [unit]",
    ]);
    expect(config.units.get("basic")!.service).toBeNull();
  });

  test("unknown names in binds_to, conflicts, wanted_by, required_by are warnings, and the unit loads (as systemd)", () => {
    const config = fromTexts({
      x: `[unit]\nbinds_to = ["n1"]\nconflicts = ["n2"]\nwanted_by = ["multi-usr"]\nrequired_by = ["n4"]\n${SERVICE}`,
    });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "units/x.toml:2:13: warning: binds_to[0]: unknown unit 'n1': starting 'x' will fail",
      "units/x.toml:3:14: warning: conflicts[0]: unknown unit 'n2', ignored",
      "units/x.toml:4:14: warning: wanted_by[0]: unknown unit 'multi-usr', ignored; did you mean 'multi-user'?",
      "units/x.toml:5:16: warning: required_by[0]: unknown unit 'n4', ignored",
    ]);
    // binds_to is kept for the engine to fail the start with "unit n1 not found"; the rest is dropped.
    expect(config.units.get("x")!.unit).toMatchObject({ binds_to: ["n1"], conflicts: ["shutdown"], wanted_by: [], required_by: [] });
  });

  test("chrony's conflicts with an openntpd that is not installed loads, with a warning", () => {
    const config = fromTexts({ chrony: `[unit]\nconflicts = ["openntpd", "systemd-timesyncd"]\nwanted_by = ["multi-user"]\n${SERVICE}` });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "units/chrony.toml:2:14: warning: conflicts[0]: unknown unit 'openntpd', ignored",
      "units/chrony.toml:2:26: warning: conflicts[1]: unknown unit 'systemd-timesyncd', ignored",
    ]);
    expect(config.units.get("chrony")!.unit.conflicts).toEqual(["shutdown"]);
    expect(config.units.get("chrony")!.unit.wanted_by).toEqual(["multi-user"]);
  });

  test("a reference to itself is dropped with a warning", () => {
    const config = fromTexts({ x: `[unit]\nwants = ["x"]\n${SERVICE}` });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "units/x.toml:2:10: warning: wants[0]: 'x' is this unit itself; ignored",
    ]);
    expect(config.units.get("x")!.unit.wants).toEqual([]);
  });

  test("a socket activating another unit's service", () => {
    const config = fromTexts({
      web: SERVICE,
      "web-socket": '[[socket]]\nlisten_stream = 80\nservice = "web"\n',
      orphan: '[[socket]]\nlisten_stream = 81\n',
      wrong: '[[socket]]\nlisten_stream = 82\nservice = "multi-user"\n',
      "ghost-socket": '[[socket]]\nlisten_stream = 83\nservice = "ghost"\n',
    });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "units/ghost-socket.toml:3:11: warning: socket[0].service: unknown unit 'ghost': the socket is made, and its first activation fails it",
      'units/orphan.toml:1:1: error: socket[0]: a unit without [service] has nothing to activate: name the unit with service = "..."',
      "units/wrong.toml:3:11: error: socket[0].service: 'multi-user' has no [service] to activate",
    ]);
    // As systemd: a socket naming a service that does not exist loads (activation fails it).
    expect(config.units.get("ghost-socket")!.sockets[0]).toMatchObject({ service: "ghost" });
    expect(config.units.get("web-socket")!.sockets[0]).toMatchObject({ service: "web", fd_name: "web-socket" });
  });

  test("a default_target with errors", () => {
    const config = fromTexts({ kiosk: "[unit]\nrequires = [\"nothing\"]\nwhat = 1\n" }, '[manager]\ndefault_target = "kiosk"\n');
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "system.toml:2:18: error: default_target: 'kiosk' has errors, booting 'multi-user' instead",
      "units/kiosk.toml:2:13: warning: requires[0]: unknown unit 'nothing': starting 'kiosk' will fail",
      "units/kiosk.toml:3:1: error: what: unknown key in [unit]",
    ]);
  });
});

describe("system.toml", () => {
  test("bad values fall back to their defaults; a bad mount is skipped", () => {
    const config = fromTexts({}, [
      "[manager]",
      'log_level = "verbose"',
      "default_start_limit_burst = -1",
      "[watchdog]",
      'runtime_sec = "off"',
      'shutdown_sec = "5 min"',
      "[[mount]]",
      'what = "tmpfs"',
      'where = "tmp"',
      'type = "tmpfs"',
      "[[mount]]",
      'what = "proc"',
      'where = "/proc"',
      "[[mount]]",
      'what = "/dev/vda2"',
      'where = "/data"',
      'type = "ext4"',
      "[boot]",
    ].join("\n"));
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      'system.toml:2:13: error: log_level: expected one of debug, info, notice, warning, err; got "verbose"',
      "system.toml:3:29: error: default_start_limit_burst: -1 is out of range (0 to 10000)",
      'system.toml:9:9: error: mount[0].where: expected an absolute path, got "tmp"',
      "system.toml:11:1: error: mount[1]: 'type' is required",
      "system.toml:18:1: error: [boot]: unknown table [boot] (expected [manager], [watchdog], [mount])",
    ]);
    expect(config.system.manager.log_level).toBe("info");
    expect(config.system.manager.default_start_limit_burst).toBe(5);
    expect(config.system.watchdog).toMatchObject({ runtime_sec: 0, shutdown_sec: 300 });
    expect(config.system.mounts).toEqual([{ what: "/dev/vda2", where: "/data", type: "ext4", options: "" }]);
  });

  test("[manager] in a unit file, [service] in system.toml", () => {
    const config = fromTexts({ x: '[manager]\nlog_level = "info"\n' }, '[service]\nexec_start = "/bin/true"\n');
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      "system.toml:1:1: error: [service]: [service] belongs in unit files",
      "units/x.toml:1:1: error: [manager]: [manager] belongs in system.toml",
    ]);
  });

  test("without any file: the defaults and the built-in targets", () => {
    const config = loadConfig(join(FIXTURES, "does-not-exist"), { env: fakeEnv });
    expect(config.units.size).toBe(BUILTIN_TARGETS.length);
    expect(config.system.manager.default_target).toBe("multi-user");
    expect(config.diagnostics.map((d: Diagnostic) => d.severity)).toEqual(["warning"]);
  });
});

describe("hearth check", () => {
  async function check(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await checkMain(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: fakeEnv });
    return { code, out, err };
  }

  test("a good configuration: exit 0 and a summary", async () => {
    const { code, out } = await check("-c", join(FIXTURES, "good"));
    expect(code).toBe(0);
    expect(out).toEqual(["10 units, 0 errors, 0 warnings"]);
  });

  test("a broken one: every diagnostic, then the summary; exit 1", async () => {
    const dir = join(FIXTURES, "broken");
    const { code, out } = await check("-c", dir);
    expect(code).toBe(1);
    expect(out[out.length - 1]).toBe("10 units, 10 errors, 7 warnings");
    expect(out[4]).toBe(`${dir}/units/cycle-b.toml:3:18: error: after[1]: ordering cycle: cycle-a -> cycle-b -> cycle-c -> cycle-a ("a -> b": a starts after b); disabled: cycle-a, cycle-b, cycle-c`);
    expect(out).toHaveLength(config_lines(dir) + 1);
  });

  test("directives the kernel cannot honour are warnings naming the unit's file and the keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-check-kernel-"));
    try {
      mkdirSync(join(dir, "units"));
      writeFileSync(join(dir, "units", "box.toml"), '[service]\nexec_start = "/bin/true"\nprotect_system = "strict"\nrestrict_namespaces = true\nprivate_network = true\ndevice_policy = "closed"\nip_address_deny = ["any"]\n');
      const out: string[] = [];
      const kernel = { seccompFilter: false, namespaces: new Set(["mnt"]), cgroupBpf: false };
      expect(await checkMain(["-c", dir], { out: (l) => out.push(l), err: () => {}, env: fakeEnv, kernel })).toBe(0);
      expect(out).toEqual([
        `${dir}/units/box.toml: warning: restrict_namespaces needs seccomp filters (CONFIG_SECCOMP_FILTER), which this kernel lacks: the unit will fail to start`,
        `${dir}/units/box.toml: warning: private_network needs network namespaces, which this kernel lacks: the unit will fail to start`,
        `${dir}/units/box.toml: warning: device_policy, ip_address_deny need cgroup BPF programs (CONFIG_CGROUP_BPF), which this kernel lacks: the unit will fail to start`,
        `${BUILTIN_TARGETS.length + 1} units, 0 errors, 3 warnings`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("usage errors exit 2", async () => {
    expect((await check("--bogus")).code).toBe(2);
    expect((await check("-c")).err[0]).toStartWith("hearth check: -c needs a directory");
  });

  function config_lines(dir: string): number {
    return loadConfig(dir, { env: fakeEnv }).diagnostics.length;
  }
});
