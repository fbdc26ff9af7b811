// Layered configuration: unit files in layers (a later one replaces by name), drop-ins
// NAME.toml.d/*.toml merged key by key, masks; errors at FILE:LINE:COL of the file that
// set the bad value (src/config/dropins.ts, layers.ts, load.ts).
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig, formatDiagnostic, readConfigDir } from "../../src/config/load.ts";
import type { LoadedConfig } from "../../src/config/types.ts";
import type { LoadEnv } from "../../src/config/commands.ts";

/** Every program exists here: these tests are about merging, not programs. */
const fakeEnv: LoadEnv = { isExecutable: () => true, exists: () => true };

function load(units: Record<string, string>, dropIns: Record<string, Record<string, string>> = {}): LoadedConfig {
  return buildConfig({
    system: null, diagnostics: [],
    units: Object.entries(units).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
    dropIns: new Map(Object.entries(dropIns).map(([unit, files]) => [unit,
      Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, text]) => ({ file: `units/${unit}.toml.d/${file}`, text }))])),
  }, fakeEnv);
}

const problems = (config: LoadedConfig) => config.diagnostics.map(formatDiagnostic);

const WEB = `[unit]
wants = ["a"]
after = ["a"]
wanted_by = ["multi-user"]

[service]
exec_start = "/bin/web --port 80"
exec_start_pre = "/bin/prepare"
environment = { LANG = "C", MODE = "prod" }
restart = "on-failure"

[[socket]]
listen_stream = "/run/web.sock"
`;
const OTHERS = { a: `[service]\nexec_start = "/bin/a"\n`, b: `[service]\nexec_start = "/bin/b"\n` };

describe("drop-ins", () => {
  test("a list is appended to, a scalar replaced, a table merged key by key, in file-name order", () => {
    const config = load({ web: WEB, ...OTHERS }, {
      web: {
        "20-more.toml": `[unit]\nwants = ["b"]\n[service]\nexec_start_pre = ["/bin/second"]\nrestart = "always"\nenvironment = { MODE = "debug" }\n`,
        "10-first.toml": `[service]\nrestart = "no"\nexec_start = "/bin/web --port 8080"\n`,
      },
    });
    expect(problems(config)).toEqual([]);
    const web = config.units.get("web")!;
    expect(web.unit.wants).toEqual(["a", "b"]);
    expect(web.service!.exec_start.argv).toEqual(["/bin/web", "--port", "8080"]);
    expect(web.service!.exec_start_pre.map((c) => c.argv[0])).toEqual(["/bin/prepare", "/bin/second"]);
    expect(web.service!.restart).toBe("always"); // 20- applies after 10-
    expect(web.service!.environment).toEqual({ LANG: "C", MODE: "debug" });
  });

  test("an empty list resets: wanted_by = [] leaves the unit pulled in by nothing; a later drop-in adds again", () => {
    const reset = load({ web: WEB, ...OTHERS }, { web: { "50-off.toml": `[unit]\nwanted_by = []\nwants = []\n` } });
    expect(reset.units.get("web")!.unit.wanted_by).toEqual([]);
    expect(reset.units.get("multi-user")!.unit.wants).not.toContain("web");
    const again = load({ web: WEB, ...OTHERS }, { web: { "50-off.toml": `[unit]\nwants = []\n`, "60-on.toml": `[unit]\nwants = ["b"]\n` } });
    expect(again.units.get("web")!.unit.wants).toEqual(["b"]);
  });

  test("[[socket]] entries in a drop-in are added; socket = [] drops the unit file's", () => {
    const added = load({ web: WEB, ...OTHERS }, { web: { "x.toml": `[[socket]]\nlisten_stream = "/run/web2.sock"\nfd_name = "two"\n` } });
    expect(problems(added)).toEqual([]);
    expect(added.units.get("web")!.sockets.map((s) => s.listen_stream)).toEqual(["/run/web.sock", "/run/web2.sock"]);
    const replaced = load({ web: WEB, ...OTHERS }, { web: { "x.toml": `socket = []\n`, "y.toml": `[[socket]]\nlisten_stream = "/run/other.sock"\n` } });
    expect(problems(replaced)).toEqual([]);
    expect(replaced.units.get("web")!.sockets.map((s) => s.listen_stream)).toEqual(["/run/other.sock"]);
  });

  test("a bad value from a drop-in is reported at the drop-in's FILE:LINE:COL and the unit does not load", () => {
    const config = load({ web: WEB, ...OTHERS }, {
      web: { "10-ok.toml": `[unit]\nwants = ["b"]\n`, "20-bad.toml": `# tuning\n[service]\nrestart = "sometimes"\nexec_start_pre = ["/bin/x", 5]\n` },
    });
    expect(config.units.has("web")).toBe(false);
    const lines = problems(config);
    expect(lines.some((l) => l.startsWith("units/web.toml.d/20-bad.toml:3:11: error: restart:"))).toBe(true);
    // The merged list's third item (after the unit file's one) is the drop-in's second, at its place there.
    expect(lines.some((l) => l.startsWith("units/web.toml.d/20-bad.toml:4:29: error: exec_start_pre[2]"))).toBe(true);
    expect(lines.every((l) => !l.startsWith("units/web.toml:"))).toBe(true);
  });

  test("a syntax error in a drop-in is the drop-in's; an unknown key in it too", () => {
    const syntax = load({ web: WEB, ...OTHERS }, { web: { "a.toml": `[service\n` } });
    expect(syntax.units.has("web")).toBe(false);
    expect(problems(syntax)[0]).toStartWith("units/web.toml.d/a.toml:1:");
    const unknown = load({ web: WEB, ...OTHERS }, { web: { "a.toml": `\n[service]\nrestrat = "no"\n` } });
    expect(problems(unknown)[0]).toStartWith("units/web.toml.d/a.toml:3:1: error:");
  });

  test("a template's drop-ins (NAME@.toml.d) apply to every instance, an instance's own to it alone", () => {
    const config = load({ "getty@": `[service]\nexec_start = "/bin/getty %I"\n`, a: OTHERS.a }, {
      "getty@": { "10.toml": `[unit]\nwants = ["a"]\n` },
      "getty@tty2": { "20.toml": `[service]\nrestart = "always"\n` },
      multi_user_missing: { "x.toml": `[unit]\n` },
    });
    const tty1 = config.catalog!.instantiate("getty@tty1")!;
    const tty2 = config.catalog!.instantiate("getty@tty2")!;
    expect(tty1.unit.wants).toContain("a");
    expect(tty2.unit.wants).toContain("a");
    expect(tty1.service!.restart).toBe("no");
    expect(tty2.service!.restart).toBe("always");
    expect(problems(config)).toEqual(["units/multi_user_missing.toml.d/x.toml: warning: a drop-in of 'multi_user_missing', which has no unit file: ignored"]);
  });

  test("a built-in target is extended by a drop-in without a unit file", () => {
    const config = load({ ...OTHERS }, { "multi-user": { "a.toml": `[unit]\nwants = ["a"]\n` } });
    expect(problems(config)).toEqual([]);
    expect(config.units.get("multi-user")!.unit.wants).toContain("a");
  });
});

describe("layers on disk", () => {
  let root = "";
  afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); });
  const write = (path: string, text: string) => { mkdirSync(join(path, ".."), { recursive: true }); writeFileSync(path, text); };

  test("a later layer replaces a file by name; drop-ins of the same name too; a /dev/null link masks", () => {
    root = mkdtempSync(join(tmpdir(), "hearth-layers-"));
    const [vendor, admin, runtime] = ["vendor", "etc/units", "run"].map((d) => join(root, d));
    write(`${vendor}/web.toml`, WEB);
    write(`${vendor}/a.toml`, OTHERS.a);
    write(`${vendor}/b.toml`, OTHERS.b);
    write(`${vendor}/gone.toml`, OTHERS.b);
    write(`${admin}/a.toml`, `[service]\nexec_start = "/bin/a --admin"\n`);
    write(`${vendor}/web.toml.d/10-port.toml`, `[service]\nrestart = "always"\n`);
    write(`${admin}/web.toml.d/10-port.toml`, `[service]\nrestart = "on-abort"\n`); // replaces the vendor's 10-port
    write(`${runtime}/web.toml.d/05-early.toml`, `[unit]\nwants = ["b"]\n`);
    write(`${admin}/web.toml.d/override.conf`, `[Service]\nRestart=always\n`);
    mkdirSync(admin, { recursive: true });
    symlinkSync("/dev/null", `${admin}/gone.toml`);
    const sources = readConfigDir(join(root, "etc"), [vendor, admin, runtime]);
    const config = buildConfig(sources, fakeEnv);
    expect(problems(config)).toEqual([`${admin}/web.toml.d/override.conf: warning: ignored: a drop-in is NAME.toml.d/*.toml (TOML, as a unit file)`]);
    expect(config.units.get("a")!.service!.exec_start.argv).toEqual(["/bin/a", "--admin"]);
    expect(config.units.get("web")!.service!.restart).toBe("on-abort");
    expect(config.units.get("web")!.unit.wants).toEqual(["a", "b"]);
    expect(config.units.has("gone")).toBe(false);
    expect([...config.masked!]).toEqual(["gone"]);
    expect(sources.dropIns!.get("web")!.map((d) => d.file)).toEqual([`${runtime}/web.toml.d/05-early.toml`, `${admin}/web.toml.d/10-port.toml`]);
  });
});
