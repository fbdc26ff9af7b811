// Template units and aliases in the loader (src/config/templates.ts, load.ts) and the
// engine (instances made when named, dropped when idle): pure, no processes.
import { describe, expect, test } from "bun:test";
import { buildConfig, formatDiagnostic } from "../../src/config/load.ts";
import type { LoadedConfig } from "../../src/config/types.ts";
import { Engine } from "../../src/engine/engine.ts";
import { buildGraph } from "../../src/engine/graph.ts";
import { parseNotify, type NotifyMessage } from "../../src/engine/notify-message.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

function load(units: Record<string, string>): LoadedConfig {
  return buildConfig({
    system: null, diagnostics: [],
    units: Object.entries(units).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
  }, fakeEnv);
}

const problems = (config: LoadedConfig) => config.diagnostics.map(formatDiagnostic);

const GETTY = `[unit]
description = "Serial Getty on %I"
wanted_by = ["multi-user"]
default_instance = "ttyS0"

[service]
exec_start = ["/bin/sh", "-c", "exec agetty %I"]
`;

describe("templates in the loader", () => {
  test("a template is not a unit; its default instance is pulled in by its wanted_by, with %I expanded", () => {
    const config = load({ "serial-getty@": GETTY });
    expect(problems(config)).toEqual([]);
    expect(config.units.has("serial-getty@")).toBe(false);
    const getty = config.units.get("serial-getty@ttyS0")!;
    expect(getty.unit.description).toBe("Serial Getty on ttyS0");
    expect(getty.service!.exec_start.argv).toEqual(["/bin/sh", "-c", "exec agetty ttyS0"]);
    expect(buildGraph(config.units).get("multi-user")!.wants.has("serial-getty@ttyS0")).toBe(true);
  });

  test("an instance named by a dependency is made; its template's wanted_by is the default instance's alone", () => {
    const config = load({
      "serial-getty@": GETTY,
      console: '[unit]\nrequires = ["serial-getty@ttyAMA0"]\nafter = ["serial-getty@ttyAMA0"]\n[service]\nexec_start = "/bin/true"\n',
    });
    expect(problems(config)).toEqual([]);
    expect(config.units.get("serial-getty@ttyAMA0")!.unit.description).toBe("Serial Getty on ttyAMA0");
    expect(config.units.get("serial-getty@ttyAMA0")!.unit.wanted_by).toEqual([]);
    expect(config.units.get("console")!.unit.requires).toContain("serial-getty@ttyAMA0");
  });

  test("NAME@INST.toml overrides the template for that instance", () => {
    const config = load({
      "serial-getty@": GETTY,
      "serial-getty@ttyS0": '[unit]\ndescription = "my own %i"\n[service]\nexec_start = "/bin/true"\n',
    });
    expect(config.units.get("serial-getty@ttyS0")!.unit.description).toBe("my own ttyS0");
  });

  test("a template with errors is reported at its own FILE:LINE:COL, once, and none of its instances loads", () => {
    const config = load({
      "bad@": '[unit]\nwanted_by = ["multi-user"]\ndefault_instance = "one"\n[service]\nexec_start = "/bin/sh -c \'echo %q\'"\n',
      user: '[unit]\nwants = ["bad@two"]\n[service]\nexec_start = "/bin/true"\n',
    });
    expect(problems(config)).toEqual([
      expect.stringMatching(/^units\/bad@\.toml:5:14: error: exec_start: .*unknown specifier '%q'/) as unknown as string,
    ]);
    expect(config.units.has("bad@one")).toBe(false);
    expect(config.units.has("bad@two")).toBe(false);
  });

  test("an instance of a template that does not exist is not found, as a missing unit", () => {
    const config = load({ user: '[unit]\nrequires = ["nope@x"]\n[service]\nexec_start = "/bin/true"\n' });
    expect(config.notFound.get("nope@x")).toEqual([{ unit: "user", list: "requires" }]);
    expect(problems(config)).toEqual(["units/user.toml:2:13: warning: requires[0]: unknown unit 'nope@x': starting 'user' will fail"]);
  });

  test("accept = true needs a template; the template's socket unit is NAME, listening for NAME@", () => {
    const config = load({
      "echo@": '[service]\nexec_start = "/usr/bin/echod"\nstandard_input = "socket"\n[[socket]]\nlisten_stream = "/run/echo.sk"\naccept = true\n',
    });
    expect(problems(config)).toEqual([]);
    expect(config.units.get("echo")!.sockets[0]).toMatchObject({ accept: true, service: "echo@" });
    const instance = config.catalog!.instantiate("echo@0-1234-0")!;
    expect(instance).toMatchObject({ name: "echo@0-1234-0", sockets: [] });
    expect(instance.unit.requires).toContain("sysinit"); // default dependencies, as a loaded unit
  });
});

describe("aliases", () => {
  test("an alias names its unit in the lists of other units and at run time", () => {
    const config = load({
      sshd: '[unit]\naliases = ["ssh"]\n[service]\nexec_start = "/bin/true"\n',
      web: '[unit]\nwants = ["ssh"]\nafter = ["ssh"]\n[service]\nexec_start = "/bin/true"\n',
    });
    expect(problems(config)).toEqual([]);
    expect(config.units.get("web")!.unit.wants).toEqual(["sshd"]);
    expect(config.catalog!.aliasOf("ssh")).toBe("sshd");
  });

  test("an alias that is a unit, or that two units claim, is an error naming both files", () => {
    const config = load({
      a: '[unit]\naliases = ["b", "common"]\n[service]\nexec_start = "/bin/true"\n',
      b: '[unit]\naliases = ["common"]\n[service]\nexec_start = "/bin/true"\n',
    });
    expect(problems(config)).toEqual([
      "units/a.toml:2:12: error: aliases[0]: 'b' is a unit of its own (units/b.toml): an alias cannot take its name",
      "units/a.toml:2:17: error: aliases[1]: alias 'common' is also claimed by units/b.toml",
      "units/b.toml:2:12: error: aliases[0]: alias 'common' is also claimed by units/a.toml",
    ]);
  });
});

describe("system.toml", () => {
  test("critical_units and default_target may name an alias or an instance of a template", () => {
    const config = buildConfig({
      system: { file: "system.toml", text: '[manager]\ndefault_target = "graphical"\n[watchdog]\ncritical_units = ["serial-getty@ttyS1"]\n' },
      diagnostics: [],
      units: [
        { name: "desktop", file: "units/desktop.toml", text: '[unit]\naliases = ["graphical"]\n' },
        { name: "serial-getty@", file: "units/serial-getty@.toml", text: GETTY },
      ],
    }, fakeEnv);
    expect(problems(config)).toEqual([]);
    expect(config.system.manager.default_target).toBe("desktop");
    expect(config.system.watchdog.critical_units).toEqual(["serial-getty@ttyS1"]);
    expect(config.units.has("serial-getty@ttyS1")).toBe(true);
  });
});

describe("instances in the engine", () => {
  const engineOf = (config: LoadedConfig) => new Engine(config.units, 0, String, null, null, config.notFound, config.catalog);

  test("a start of NAME@INST makes the instance; once it is done it goes; a missing template is not found", () => {
    const config = load({ "job@": '[service]\ntype = "oneshot"\nexec_start = "/bin/sh -c \'echo %i\'"\n' });
    const engine = engineOf(config);
    const effects = engine.handle({ type: "request", job: "start", unit: "job@one" }, 0);
    const spawn = effects.find((e) => e.type === "spawn");
    expect(spawn).toMatchObject({ unit: "job@one", command: { argv: ["/bin/sh", "-c", "echo one"] } });
    expect(engine.snapshot("job@one")!.active).toBe("activating");
    engine.handle({ type: "spawned", unit: "job@one", role: "main", pid: 100 }, 1);
    engine.handle({ type: "exited", pid: 100, status: { kind: "exited", code: 0 } }, 2);
    expect(engine.snapshot("job@one")).toBeNull(); // inactive with no job: collected

    const missing = engine.handle({ type: "request", job: "start", unit: "nope@one", requestId: 7 }, 3);
    expect(missing).toContainEqual(expect.objectContaining({ type: "job-finished", result: "failed", reason: "unit nope@one not found" }));
  });

  test("an instance made at run time brings the instances it names; a target instance waits for them", () => {
    const config = load({
      "stack@": '[unit]\nrequires = ["db@%i"]\n',
      "db@": '[service]\ntype = "notify"\nexec_start = "/bin/sh -c \'exec db %i\'"\n',
    });
    const engine = engineOf(config);
    const effects = engine.handle({ type: "request", job: "start", unit: "stack@blue" }, 0);
    expect(effects.filter((e) => e.type === "spawn").map((e) => e.unit)).toEqual(["db@blue"]);
    expect(engine.snapshot("stack@blue")!.active).toBe("inactive"); // waits for db@blue to be ready
    engine.handle({ type: "spawned", unit: "db@blue", role: "main", pid: 100 }, 1);
    const ready = engine.handle({ type: "notify", pid: 100, uid: 0, msg: (parseNotify(new TextEncoder().encode("READY=1")) as { msg: NotifyMessage }).msg, fds: [],
      origin: { pid: 100, cgroupUnit: "db@blue", sid: 100, pgid: 100, alive: true }, claimed: null }, 2);
    expect(ready).toContainEqual(expect.objectContaining({ type: "state-changed", unit: "stack@blue", active: "active" }));
  });

  test("a connection's instance brings the instances it requires, named after it", () => {
    const config = load({
      "echo@": '[unit]\nrequires = ["audit@%i"]\nafter = ["audit@%i"]\n[service]\nexec_start = "/usr/bin/echod"\nstandard_input = "socket"\n[[socket]]\nlisten_stream = "/run/echo.sk"\naccept = true\n',
      "audit@": '[service]\ntype = "oneshot"\nremain_after_exit = true\nexec_start = "/bin/sh -c \'log %i\'"\n',
    });
    const engine = engineOf(config);
    engine.handle({ type: "sockets-opened", units: ["echo"], failed: [] }, 0);
    const effects = engine.handle({ type: "connection", unit: "echo", index: 0, connection: 3, source: "uid 0", ends: "42-0" }, 1);
    expect(effects.find((e) => e.type === "spawn")).toMatchObject({ unit: "audit@0-42-0", command: { argv: ["/bin/sh", "-c", "log 0-42-0"] } });
  });

  test("a start by alias starts the unit it names", () => {
    const config = load({ sshd: '[unit]\naliases = ["ssh"]\n[service]\nexec_start = "/bin/true"\n' });
    const engine = engineOf(config);
    const effects = engine.handle({ type: "request", job: "start", unit: "ssh" }, 0);
    expect(effects.find((e) => e.type === "spawn")).toMatchObject({ unit: "sshd" });
  });
});
