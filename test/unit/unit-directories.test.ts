// runtime_directory and its kin (systemd's RuntimeDirectory= and friends): how the keys are
// read and refused, where each kind lives, what the processes are told, and when the engine
// removes the runtime ones.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSystemConfig, formatDiagnostic, parseUnitToml } from "../../src/config/load.ts";
import { Engine } from "../../src/engine/engine.ts";
import type { Effect } from "../../src/engine/types.ts";
import { makeUnitDirectory, removeUnitDirectory } from "../../src/exec/directories.ts";
import { directoryBases, directoryEnvironment, directoryOwner, unitDirectories } from "../../src/manager/unit-directories.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";
import { tempDir } from "../support/harness.ts";
import { FakeHost } from "../support/fake-host.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { Manager } from "../../src/manager/manager.ts";
import type { Condition, LoadedConfig, UnitConfig } from "../../src/config/types.ts";
import { parseCondition } from "../../src/config/conditions.ts";
import { configs, service, target } from "../support/units.ts";

const FILE = "units/box.toml";

function parse(...lines: string[]) {
  return parseUnitToml("box", ["[service]", 'exec_start = "/usr/bin/echod"', ...lines].join("\n"), FILE, defaultSystemConfig(), fakeEnv);
}

function serviceOf(...lines: string[]) {
  const result = parse(...lines);
  if (result.unit === null) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return result.unit.service!;
}

const problems = (...lines: string[]) => parse(...lines).diagnostics.map(formatDiagnostic);

const SYSTEM = directoryBases(true, "/run/hearth", {}, "/root");

describe("the directory keys", () => {
  test("defaults: no directories, mode 0755, runtime ones removed at every stop", () => {
    const svc = serviceOf();
    expect(svc).toMatchObject({
      runtime_directory: [], state_directory: [], cache_directory: [], logs_directory: [], configuration_directory: [],
      runtime_directory_mode: 0o755, state_directory_mode: 0o755, configuration_directory_mode: 0o755,
      runtime_directory_preserve: "no",
    });
    expect(unitDirectories(svc, SYSTEM, null)).toEqual([]);
  });

  test("a list or one string; nested paths; '.' and extra slashes dropped as systemd simplifies them", () => {
    const svc = serviceOf('runtime_directory = ["boxd", "boxd/sockets/"]', 'state_directory = "./box//data"', 'state_directory_mode = "0700"');
    expect(svc.runtime_directory).toEqual(["boxd", "boxd/sockets"]);
    expect(svc.state_directory).toEqual(["box/data"]);
    expect(svc.state_directory_mode).toBe(0o700);
  });

  test("an absolute path, a '..', a ':' or an empty name is refused at its line and column", () => {
    expect(problems('runtime_directory = ["/run/boxd"]')).toEqual([
      `${FILE}:3:22: error: runtime_directory[0]: "/run/boxd" must be relative (it is made under the base directory)`,
    ]);
    expect(problems('state_directory = "box/../../etc"')).toEqual([
      `${FILE}:3:19: error: state_directory: "box/../../etc" may not contain ".."`,
    ]);
    expect(problems('cache_directory = ["a", "b:c"]')).toEqual([
      `${FILE}:3:25: error: cache_directory[1]: "b:c" may not contain ":" or control characters`,
    ]);
    expect(problems('logs_directory = ["./"]')).toEqual([`${FILE}:3:19: error: logs_directory[0]: "./" names no directory`]);
    expect(problems('runtime_directory_preserve = "always"')).toEqual([
      `${FILE}:3:30: error: runtime_directory_preserve: expected one of no, yes, restart; got "always"`,
    ]);
  });
});

describe("where the directories go and what the processes are told", () => {
  test("system mode: /run, /var/lib, /var/cache, /var/log, /etc; each kind's variable lists its paths joined by ':'", () => {
    const svc = serviceOf('runtime_directory = ["a", "b"]', 'state_directory = "s"', 'cache_directory = "c"', 'logs_directory = "l"', 'configuration_directory = "e"');
    const dirs = unitDirectories(svc, SYSTEM, { uid: 0, gid: 0 });
    expect(directoryEnvironment(dirs)).toEqual({
      RUNTIME_DIRECTORY: "/run/a:/run/b", STATE_DIRECTORY: "/var/lib/s", CACHE_DIRECTORY: "/var/cache/c",
      LOGS_DIRECTORY: "/var/log/l", CONFIGURATION_DIRECTORY: "/etc/e",
    });
  });

  test("hearth run: the XDG directories as systemd --user has them, the runtime ones in the run directory without XDG_RUNTIME_DIR", () => {
    expect(directoryBases(false, "/tmp/run", {}, "/home/ann")).toEqual({
      runtime: "/tmp/run", state: "/home/ann/.local/state", cache: "/home/ann/.cache", logs: "/home/ann/.local/state/log", configuration: "/home/ann/.config",
    });
    const env = { XDG_RUNTIME_DIR: "/run/user/1000", XDG_STATE_HOME: "/st", XDG_CACHE_HOME: "relative/is/ignored", XDG_CONFIG_HOME: "/cfg" };
    expect(directoryBases(false, "/tmp/run", env, "/home/ann")).toEqual({
      runtime: "/run/user/1000", state: "/st", cache: "/home/ann/.cache", logs: "/st/log", configuration: "/cfg",
    });
  });

  test("owner: the unit's user and group; root in system mode without them; left alone in run mode without them", () => {
    expect(directoryOwner(serviceOf('user = "daemon"'), { uid: 1, gid: 1 }, true)).toEqual({ uid: 1, gid: 1 });
    expect(directoryOwner(serviceOf('group = "adm"'), { gid: 4 }, false)).toEqual({ uid: -1, gid: 4 });
    expect(directoryOwner(serviceOf(), {}, true)).toEqual({ uid: 0, gid: 0 });
    expect(directoryOwner(serviceOf(), {}, false)).toBeNull();
  });
});

describe("the engine removes the runtime directories", () => {
  const removals = (effects: Effect[]) => effects.filter((e) => e.type === "remove-runtime-directories");

  function engineWith(preserve: "no" | "yes" | "restart", restart: "no" | "always" = "no") {
    const units = configs(target("multi-user", { wants: ["box"] }),
      service("box", { runtime_directory: ["box"], runtime_directory_preserve: preserve, restart, restart_sec: 1 }));
    const engine = new Engine(units, 0);
    engine.handle({ type: "request", job: "start", unit: "multi-user" }, 0);
    engine.handle({ type: "spawned", unit: "box", role: "main", pid: 10 }, 0);
    return engine;
  }

  test("no: at a stop, and at an automatic restart too", () => {
    const stopped = engineWith("no");
    stopped.handle({ type: "request", job: "stop", unit: "box" }, 1);
    expect(removals(stopped.handle({ type: "exited", pid: 10, status: { kind: "killed", signal: 15, coreDumped: false } }, 2)))
      .toEqual([{ type: "remove-runtime-directories", unit: "box", directories: ["box"] }]);
    const crashed = engineWith("no", "always");
    expect(removals(crashed.handle({ type: "exited", pid: 10, status: { kind: "exited", code: 1 } }, 1))).toHaveLength(1);
  });

  test("restart: kept across an automatic restart and a restart job, removed at a stop", () => {
    const crashed = engineWith("restart", "always");
    expect(removals(crashed.handle({ type: "exited", pid: 10, status: { kind: "exited", code: 1 } }, 1))).toEqual([]);
    const restarted = engineWith("restart");
    restarted.handle({ type: "request", job: "restart", unit: "box" }, 1);
    expect(removals(restarted.handle({ type: "exited", pid: 10, status: { kind: "killed", signal: 15, coreDumped: false } }, 2))).toEqual([]);
    restarted.handle({ type: "spawned", unit: "box", role: "main", pid: 11 }, 2);
    restarted.handle({ type: "request", job: "stop", unit: "box" }, 3);
    expect(removals(restarted.handle({ type: "exited", pid: 11, status: { kind: "killed", signal: 15, coreDumped: false } }, 4))).toHaveLength(1);
  });

  test("restart: removed when the start half of a restart is skipped by a condition", () => {
    const units = configs(target("multi-user", { wants: ["box"] }), {
      ...service("box", { runtime_directory: ["box"], runtime_directory_preserve: "restart" }),
      conditions: [parseCondition("path_exists", false, "/etc/box.conf") as Condition],
    });
    const engine = new Engine(units, 0);
    const started = engine.handle({ type: "request", job: "start", unit: "multi-user" }, 0);
    const check = started.find((e) => e.type === "check-conditions")!;
    engine.handle({ type: "conditions-checked", unit: "box", id: (check as { id: number }).id, results: [true] }, 0);
    engine.handle({ type: "spawned", unit: "box", role: "main", pid: 10 }, 0);
    const recheck = engine.handle({ type: "request", job: "restart", unit: "box" }, 1);
    const stopped = engine.handle({ type: "exited", pid: 10, status: { kind: "killed", signal: 15, coreDumped: false } }, 2);
    expect(removals([...recheck, ...stopped])).toEqual([]);
    const second = [...recheck, ...stopped].find((e) => e.type === "check-conditions") as { id: number };
    const skipped = engine.handle({ type: "conditions-checked", unit: "box", id: second.id, results: [false] }, 3);
    expect(engine.activeState("box")).toBe("inactive");
    expect(removals(skipped)).toEqual([{ type: "remove-runtime-directories", unit: "box", directories: ["box"] }]);
  });

  test("yes: never", () => {
    const engine = engineWith("yes");
    engine.handle({ type: "request", job: "stop", unit: "box" }, 1);
    expect(removals(engine.handle({ type: "exited", pid: 10, status: { kind: "killed", signal: 15, coreDumped: false } }, 2))).toEqual([]);
  });
});

describe("the manager on a fake host", () => {
  const BASES = { runtime: "/r", state: "/s", cache: "/c", logs: "/l", configuration: "/e" };

  function managerOn(host: FakeHost, units: UnitConfig[]) {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", sink: (r) => void lines.push(`${r.unit}: ${r.text}`) });
    const config = { system: {}, units: new Map(units.map((u) => [u.name, u])), diagnostics: [] } as unknown as LoadedConfig;
    const m = new Manager({
      config, runDir: "/fake/run", target: "multi-user", logger, systemMode: false, host, directoryBases: BASES,
      console: (line) => void lines.push(line), exit: (code, reason) => void lines.push(`exit ${code}: ${reason}`),
    });
    m.start();
    return { m, lines };
  }

  function boxd(preserve: "no" | "yes" | "restart") {
    return [target("multi-user", { wants: ["box"] }), service("box", {
      exec_start: { argv: ["/usr/bin/boxd"], ignoreFailure: false }, runtime_directory: ["box"], runtime_directory_mode: 0o700,
      state_directory: ["box"], runtime_directory_preserve: preserve,
    })];
  }

  test("made before the process is spawned, the runtime one removed once it has stopped, the state one kept", async () => {
    const host = new FakeHost();
    const { m, lines } = managerOn(host, boxd("no"));
    expect(host.trace.slice(0, 3)).toEqual(["mkdir /r/box 700", "mkdir /s/box 755", "spawn /usr/bin/boxd -> 100"]);
    const stopped = m.request("stop", "box");
    host.deliver();
    expect((await stopped).result).toBe("done");
    expect(host.trace.filter((t) => t.startsWith("rm "))).toEqual(["rm /r/box"]);
    expect([...host.dirs.keys()]).toEqual(["/s/box"]);
    expect(lines.filter((l) => l.includes("internal error"))).toEqual([]);
  });

  test("runtime_directory_preserve = yes: still there after the stop", async () => {
    const host = new FakeHost();
    const { m } = managerOn(host, boxd("yes"));
    const stopped = m.request("stop", "box");
    host.deliver();
    await stopped;
    expect(host.trace.filter((t) => t.startsWith("rm "))).toEqual([]);
    expect(host.dirs.has("/r/box")).toBe(true);
  });

  test("runtime_directory_preserve = restart: kept through hearth ctl restart, removed at the stop", async () => {
    const host = new FakeHost();
    const { m } = managerOn(host, boxd("restart"));
    const restarted = m.request("restart", "box");
    host.deliver();
    expect((await restarted).result).toBe("done");
    expect(host.trace.filter((t) => t.startsWith("rm "))).toEqual([]);
    const stopped = m.request("stop", "box");
    host.deliver();
    await stopped;
    expect(host.trace.filter((t) => t.startsWith("rm "))).toEqual(["rm /r/box"]);
  });
});

describe("on the real file system", () => {
  test("a directory is made with its mode whatever the umask, and made again with it when it exists", () => {
    const base = tempDir("dirs");
    try {
      makeUnitDirectory({ kind: "state", base, relative: "box/data", mode: 0o750, owner: null });
      expect(statSync(join(base, "box")).mode & 0o7777).toBe(0o755);
      expect(statSync(join(base, "box/data")).mode & 0o7777).toBe(0o750);
      chmodSync(join(base, "box/data"), 0o777);
      makeUnitDirectory({ kind: "state", base, relative: "box/data", mode: 0o750, owner: null });
      expect(statSync(join(base, "box/data")).mode & 0o7777).toBe(0o750);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test("an existing configuration directory keeps its mode, with a warning", () => {
    const base = tempDir("dirs");
    try {
      mkdirSync(join(base, "box"), { mode: 0o700 });
      chmodSync(join(base, "box"), 0o700);
      expect(makeUnitDirectory({ kind: "configuration", base, relative: "box", mode: 0o755, owner: null }))
        .toEqual([`${join(base, "box")} already exists with mode 0700, not 0755: left as it is`]);
      expect(statSync(join(base, "box")).mode & 0o7777).toBe(0o700);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test.skipIf(process.getuid?.() !== 0)("a change of owner goes through the tree without following symlinks", () => {
    const base = tempDir("dirs");
    const outside = tempDir("outside");
    try {
      mkdirSync(join(base, "box/sub"), { recursive: true });
      writeFileSync(join(base, "box/sub/file"), "x");
      symlinkSync(outside, join(base, "box/link"));
      makeUnitDirectory({ kind: "state", base, relative: "box", mode: 0o755, owner: { uid: 65534, gid: 65534 } });
      for (const p of ["box", "box/sub", "box/sub/file", "box/link"]) expect(lstatSync(join(base, p)).uid).toBe(65534);
      expect(statSync(outside).uid).toBe(0);
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test("removal: what is inside goes, never what a symlink inside points to; a symlink in its place is left alone", () => {
    const base = tempDir("dirs");
    const outside = tempDir("outside");
    try {
      writeFileSync(join(outside, "precious"), "keep");
      makeUnitDirectory({ kind: "runtime", base, relative: "box", mode: 0o755, owner: null });
      symlinkSync(outside, join(base, "box/link"));
      removeUnitDirectory(base, "box");
      expect(existsSync(join(base, "box"))).toBe(false);
      expect(existsSync(join(outside, "precious"))).toBe(true);
      symlinkSync(outside, join(base, "box"));
      expect(() => removeUnitDirectory(base, "box")).toThrow("is not a directory (a symlink or a file): left alone");
      expect(() => makeUnitDirectory({ kind: "runtime", base, relative: "box", mode: 0o755, owner: null })).toThrow("exists and is not a directory");
      expect(existsSync(join(outside, "precious"))).toBe(true);
      removeUnitDirectory(base, "missing"); // nothing to do
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test("a directory whose parent is a symlink out of the base is refused, made or removed", () => {
    const base = tempDir("dirs");
    const outside = tempDir("outside");
    try {
      mkdirSync(join(outside, "box"));
      symlinkSync(outside, join(base, "escape"));
      expect(() => removeUnitDirectory(base, "escape/box")).toThrow("outside");
      expect(existsSync(join(outside, "box"))).toBe(true);
      expect(() => makeUnitDirectory({ kind: "runtime", base, relative: "escape/box", mode: 0o700, owner: null })).toThrow("outside");
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
