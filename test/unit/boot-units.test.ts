// Mount units (config -> units, and the engine driving them), the boot target and its
// rescue fallback, the rescue shell, and hearth.wants= on the kernel command line.
import { describe, expect, test } from "bun:test";
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent } from "../../src/engine/types.ts";
import type { MountEntry } from "../../src/config/types.ts";
import { isOnPath, mountUnitName, withMountUnits } from "../../src/boot/mount-units.ts";
import { chooseBootTarget } from "../../src/boot/boot-target.ts";
import { rescueShellToml, withRescueShell, rescueShellUnit } from "../../src/boot/rescue.ts";
import { buildConfig, defaultSystemConfig } from "../../src/config/load.ts";
import { parseCmdline } from "../../src/config/cmdline.ts";
import { configs, service, target } from "../support/units.ts";

const mount = (where: string): MountEntry => ({ what: "tmpfs", where, type: "tmpfs", options: "" });

describe("mount unit names and paths", () => {
  test("systemd's escaping", () => {
    expect(mountUnitName("/var/lib/demo")).toBe("var-lib-demo.mount");
    expect(mountUnitName("/")).toBe("-.mount");
    expect(mountUnitName("/data/")).toBe("data.mount");
    expect(mountUnitName("/a-b/c d")).toBe("a\\x2db-c\\x20d.mount");
  });
  test("a path is on a mount when it is the mount point or below it", () => {
    expect(isOnPath("/data", "/data/db")).toBe(true);
    expect(isOnPath("/data", "/data")).toBe(true);
    expect(isOnPath("/data", "/database")).toBe(false);
    expect(isOnPath("/", "/anything")).toBe(true);
  });
});

describe("withMountUnits", () => {
  const units = configs(
    target("multi-user"),
    service("db", {}, { requires_mounts_for: ["/data/db"], wanted_by: ["multi-user"] }),
    service("web", {}, { wanted_by: ["multi-user"] }),
  );
  const out = withMountUnits(units, [mount("/data"), mount("/data/db"), mount("/var/cache")], "multi-user");

  test("one unit per [[mount]], without default dependencies, stopped before shutdown", () => {
    const m = out.get("data.mount")!;
    expect(m.mount?.where).toBe("/data");
    expect(m.service).toBeNull();
    expect(m.unit.default_dependencies).toBe(false);
    expect(m.unit.before).toContain("shutdown");
  });
  test("a nested mount requires and follows its parent", () => {
    expect(out.get("data-db.mount")!.unit.requires).toEqual(["data.mount"]);
    expect(out.get("data-db.mount")!.unit.after).toEqual(["data.mount"]);
  });
  test("requires_mounts_for: requires and after every mount on the path; other units untouched", () => {
    expect(out.get("db")!.unit.requires).toEqual(["data.mount", "data-db.mount"]);
    expect(out.get("db")!.unit.after).toEqual(["data.mount", "data-db.mount"]);
    expect(out.get("web")!.unit.after).toEqual([]);
  });
  test("the boot target wants every mount, and the input map is not changed", () => {
    expect(out.get("multi-user")!.unit.wants).toEqual(["data.mount", "data-db.mount", "var-cache.mount"]);
    expect(units.has("data.mount")).toBe(false);
  });
});

describe("the engine and mount units", () => {
  function run(units: ReturnType<typeof configs>, events: (e: Effect) => EngineEvent | null) {
    const engine = new Engine(units, 0);
    const effects: Effect[] = [];
    const queue: EngineEvent[] = [{ type: "request", job: "start", unit: "multi-user" }];
    let pid = 100;
    while (queue.length) {
      for (const e of engine.handle(queue.shift()!, 0)) {
        effects.push(e);
        if (e.type === "spawn") queue.push({ type: "spawned", unit: e.unit, role: e.role, pid: pid++ });
        const reply = events(e);
        if (reply) queue.push(reply);
      }
    }
    return { engine, effects };
  }
  const units = withMountUnits(configs(
    target("multi-user"),
    service("db", {}, { requires_mounts_for: ["/data"], wanted_by: ["multi-user"] }),
    service("web", {}, { wanted_by: ["multi-user"] }),
  ), [mount("/data")], "multi-user");

  test("mounting in parallel: web starts at once, db only once /data is mounted", () => {
    const { engine, effects } = run(units, () => null);
    const order = effects.filter((e) => e.type === "spawn" || e.type === "mount").map((e) => `${e.type}:${e.unit}`);
    expect(order.sort()).toEqual(["mount:data.mount", "spawn:web"]);
    expect(engine.activeState("data.mount")).toBe("activating");
    const after = engine.handle({ type: "mount-done", unit: "data.mount", op: "mount" }, 1);
    expect(after.some((e) => e.type === "console" && e.text === "Mounted /data.")).toBe(true);
    expect(after.some((e) => e.type === "spawn" && e.unit === "db")).toBe(true);
    expect(engine.subState("data.mount")).toBe("mounted");
  });

  test("a failed mount fails the units that require it, with the reason", () => {
    const { engine } = run(units, (e) => e.type === "mount" ? { type: "mount-done", unit: e.unit, op: "mount", error: "mount: No such device" } : null);
    expect(engine.activeState("data.mount")).toBe("failed");
    expect(engine.activeState("db")).toBe("inactive");
    expect(engine.activeState("web")).toBe("active");
  });

  test("stopping unmounts after the units that need the mount have stopped", () => {
    const { engine } = run(units, (e) => e.type === "mount" ? { type: "mount-done", unit: e.unit, op: "mount" } : null);
    expect(engine.activeState("db")).toBe("active");
    const effects = engine.handle({ type: "request", job: "stop", unit: "data.mount" }, 2);
    expect(effects.some((e) => e.type === "mount")).toBe(false); // db first
    expect(effects.some((e) => e.type === "kill" && e.unit === "db")).toBe(true);
  });
});

describe("chooseBootTarget", () => {
  const system = { file: "/etc/hearth/system.toml", text: "" };
  const input = (text: string | null, target = "multi-user", readable = true) => ({
    confDir: "/etc/hearth", confDirReadable: readable, target,
    config: buildConfig({ system: text === null ? null : { ...system, text }, units: [], diagnostics: [] }),
  });
  test("a usable configuration boots its target", () => {
    expect(chooseBootTarget(input("[manager]\nhostname = 'x'\n"))).toEqual({ target: "multi-user", rescueReason: null });
  });
  test("no configuration directory: rescue, saying why", () => {
    expect(chooseBootTarget(input(null, "multi-user", false)).rescueReason).toContain("/etc/hearth is missing");
  });
  test("system.toml that is not TOML: rescue, with the place", () => {
    const choice = chooseBootTarget(input("[manager\n"));
    expect(choice.target).toBe("rescue");
    expect(choice.rescueReason).toMatch(/^\/etc\/hearth\/system\.toml:1:\d+: error: TOML syntax error/);
  });
  test("a bad key in system.toml is not a reason (it falls back to its default)", () => {
    expect(chooseBootTarget(input("[manager]\nlog_level = 'loud'\n")).target).toBe("multi-user");
  });
  test("an unknown target asked for on the kernel command line: rescue", () => {
    expect(chooseBootTarget(input("", "graphical")).rescueReason).toContain("'graphical' is not loaded");
  });
});

describe("the rescue shell", () => {
  test("on the console, through cttyhack when BusyBox is there, always restarted", () => {
    const text = rescueShellToml({ shell: "/bin/sh", busybox: "/bin/busybox" });
    expect(text).toContain('exec_start = ["/bin/busybox","cttyhack","/bin/sh"]');
    expect(text).toContain('standard_input = "tty"');
    expect(rescueShellToml({ shell: "/bin/sh", busybox: null })).toContain('exec_start = ["/bin/sh"]');
  });
  test("no shell, or a unit of that name already: nothing added", () => {
    const units = configs(target("rescue"));
    expect(rescueShellUnit(null, units, defaultSystemConfig())).toBeNull();
    expect(withRescueShell(units, null)).toBe(units);
  });
});

describe("hearth.wants= on the kernel command line", () => {
  test("repeatable, with systemd.wants= as an alias (suffix dropped)", () => {
    const { overrides, diagnostics } = parseCmdline("quiet hearth.wants=a systemd.wants=b.service hearth.wants=c");
    expect(diagnostics).toEqual([]);
    expect(overrides.wants).toEqual(["b", "a", "c"]);
  });
  test("a bad name is reported and ignored", () => {
    const { overrides, diagnostics } = parseCmdline("hearth.wants=");
    expect(overrides.wants).toBeUndefined();
    expect(diagnostics[0]!.message).toContain("hearth.wants");
  });
});
