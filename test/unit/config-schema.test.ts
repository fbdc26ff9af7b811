// The schema is the one source: the docs are generated from it, the loader fills its defaults.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DefaultRule, SCHEMA, TABLES } from "../../src/config/schema.ts";
import { DOC_PATH, renderConfigurationDoc } from "../../src/config/gen-docs.ts";
import { FileReport } from "../../src/config/diagnostics.ts";
import { readValue } from "../../src/config/values.ts";
import { buildConfig, loadConfig } from "../../src/config/load.ts";
import { join } from "node:path";
import { fakeEnv } from "../fixtures/config/fake-env.ts";
import { expandCommand } from "../../src/manager/exec-context.ts";

describe("docs/configuration.md", () => {
  const doc = readFileSync(DOC_PATH, "utf8");

  test("is what gen-docs writes (run `bun src/config/gen-docs.ts` after changing the schema)", () => {
    expect(doc).toBe(renderConfigurationDoc());
  });

  test("lists every key of the schema under its table", () => {
    for (const table of TABLES) {
      const header = table.repeated ? `### [[${table.name}]]` : `### [${table.name}]`;
      const section = doc.slice(doc.indexOf(header), doc.indexOf("\n### ", doc.indexOf(header) + 1));
      for (const spec of SCHEMA.filter((s) => s.table === table.name)) {
        expect(section).toContain(`| \`${spec.name}\` |`);
      }
    }
  });
});

describe("what the manual says commands do with $MAINPID (defect 16)", () => {
  const doc = readFileSync(DOC_PATH, "utf8").replace(/\s+/g, " ");

  test("says $NAME is expanded, as the code does, and for which commands $MAINPID is set", () => {
    expect(expandCommand(["/bin/kill", "-HUP", "$MAINPID"], { MAINPID: "42" })).toEqual(["/bin/kill", "-HUP", "42"]);
    expect(doc).not.toContain("stays as written");
    expect(doc).toContain("`$MAINPID` (the main process's pid) is set for `exec_start_post`, `exec_reload` and `exec_stop`");
  });

  test("points to no `hearth import` verb", () => {
    const legacy = loadConfig(join(import.meta.dir, "../fixtures/config/broken"), { env: fakeEnv }).diagnostics
      .find((d) => d.file.endsWith("legacy.service"));
    expect(legacy?.message).toStartWith("ignored: a systemd unit file; write it as NAME.toml");
    expect(legacy?.message).not.toContain("hearth import");
    expect(doc).not.toContain("hearth import");
  });
});

describe("the schema", () => {
  test("key names are unique within a table, snake_case, and documented", () => {
    const seen = new Set<string>();
    for (const spec of SCHEMA) {
      expect(seen.has(`${spec.table}.${spec.name}`)).toBe(false);
      seen.add(`${spec.table}.${spec.name}`);
      expect(spec.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(spec.doc.length).toBeGreaterThan(10);
    }
  });

  test("every plain default is a valid value of its type", () => {
    const report = new FileReport("schema", new Map(), fakeEnv);
    for (const spec of SCHEMA) {
      if (spec.default instanceof DefaultRule || spec.default === null) continue;
      expect(readValue(spec.type, spec.default, report.at(`${spec.table}.${spec.name}`))).toEqual(spec.default);
    }
    expect(report.diagnostics).toEqual([]);
  });

  test("the 16 rlimits", () => {
    const limits = SCHEMA.filter((s) => s.name.startsWith("limit_")).map((s) => s.name.slice("limit_".length));
    expect(limits).toEqual([
      "cpu", "fsize", "data", "stack", "core", "rss", "nofile", "as", "nproc", "memlock", "locks",
      "sigpending", "msgqueue", "nice", "rtprio", "rttime",
    ]);
  });

  test("a loaded unit has exactly the schema's fields", () => {
    const text = '[service]\nexec_start = "/bin/true"\n[[socket]]\nlisten_stream = "/run/x"\n';
    const unit = buildConfig({ system: null, units: [{ name: "x", file: "x.toml", text }], diagnostics: [] }, fakeEnv).units.get("x")!;
    const keys = (table: string) => SCHEMA.filter((s) => s.table === table).map((s) => s.name);
    expect(Object.keys(unit.unit).sort()).toEqual(keys("unit").sort());
    expect(Object.keys(unit.service!).sort()).toEqual(
      [...keys("service").filter((k) => !k.startsWith("limit_")), "limits", "exec_start_next"].sort(),
    );
    // Unset listen_* keys are absent, as SocketSection's optional fields say.
    expect(Object.keys(unit.sockets[0]!).sort()).toEqual(
      keys("socket").filter((k) => !k.startsWith("listen_") || k === "listen_stream").sort(),
    );
  });
});
