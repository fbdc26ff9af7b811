// What `hearth --version` and `hearth ctl` load (issue 11: the start-up floor, the control
// client): make bundles with --splitting, each role a chunk src/main.ts imports lazily. Here
// the same bundle, unminified, so each chunk names the source files it holds.
import { beforeAll, describe, expect, test } from "bun:test";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
/** chunk path (normalized) -> its source files and the modules it imports. */
const chunks = new Map<string, { sources: string[]; imports: string[] }>();

/** Everything a chunk loads when it is evaluated: its own sources and its static imports'. */
function loaded(chunk: string, seen = new Set<string>()): { sources: string[]; builtins: string[] } {
  const out = { sources: [] as string[], builtins: [] as string[] };
  if (seen.has(chunk)) return out;
  seen.add(chunk);
  const c = chunks.get(chunk);
  if (!c) throw new Error(`no chunk ${chunk}`);
  out.sources.push(...c.sources);
  for (const m of c.imports) {
    if (!m.startsWith(".")) out.builtins.push(m);
    else {
      const sub = loaded(join(dirname(chunk), m), seen);
      out.sources.push(...sub.sources);
      out.builtins.push(...sub.builtins);
    }
  }
  return out;
}

const chunkOf = (source: string) => [...chunks].find(([, c]) => c.sources.includes(source))![0];

beforeAll(async () => {
  const build = await Bun.build({ entrypoints: [`${ROOT}/src/main.ts`], target: "bun", format: "esm", splitting: true, root: ROOT });
  expect(build.success).toBe(true);
  for (const out of build.outputs) {
    if (out.kind !== "entry-point" && out.kind !== "chunk") continue;
    const text = await out.text();
    const sources = [...text.matchAll(/^\/\/ (\S+\.(?:ts|json))$/gm)].map((m) => m[1]!);
    // Static imports only: `import(...)` is the lazy dispatch.
    const imports = [...text.matchAll(/^import\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm)].map((m) => m[1] ?? m[2]!);
    chunks.set(join(out.path), { sources, imports });
  }
}, 30000);

describe("start-up", () => {
  test("--version and --help load src/main.ts and package.json alone, and no Node module", () => {
    const main = loaded(chunkOf("src/main.ts"));
    expect(main.sources.sort()).toEqual(["package.json", "src/main.ts"]);
    expect(main.builtins).toEqual([]);
  });

  test("hearth ctl loads nothing of the manager, the engine, the configuration loader or ffi/, and no Node module", () => {
    const ctl = loaded(chunkOf("src/cli/ctl.ts"));
    expect(ctl.sources).toContain("src/control/format.ts");
    for (const s of ctl.sources) expect(s).not.toMatch(/^(src\/(manager|engine|exec|sockets|notify|boot)\/|ffi\/|src\/config\/(load|schema))/);
    expect(ctl.builtins).toEqual([]); // each costs the client tens of ms on a TCG-emulated board (node:os, node:path ~60)
  });
});
