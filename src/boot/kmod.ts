// Loading the kernel modules of system.toml's kernel_modules, with their dependencies
// from modules.dep, through finit_module(2) on helper threads: modules that do not need
// one another load in parallel, a module only after its dependencies. The plan is
// modules.ts's; this is the effect.

import { readFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { E, O } from "../../ffi/constants.ts";
import { close, openFile } from "../../ffi/fd.ts";
import { describeErrno } from "../../ffi/libc.ts";
import { loadModuleFd } from "../../ffi/system.ts";
import { parseModulesBuiltin, parseModulesDep, planModules, type ModuleEntry } from "./modules.ts";

export interface ModuleOutcome {
  name: string;
  result: "loaded" | "already loaded" | "built in" | "failed";
  error?: string;
}

function readOptional(path: string): string {
  try { return readFileSync(path, "utf8"); } catch { return ""; }
}

export async function loadKernelModules(names: readonly string[], dir = join("/lib/modules", release())): Promise<ModuleOutcome[]> {
  if (names.length === 0) return [];
  const dep = parseModulesDep(readOptional(join(dir, "modules.dep")));
  const plan = planModules(names, dep, parseModulesBuiltin(readOptional(join(dir, "modules.builtin"))));
  const outcomes: ModuleOutcome[] = [
    ...plan.builtin.map((name): ModuleOutcome => ({ name, result: "built in" })),
    ...plan.missing.map((name): ModuleOutcome => ({ name, result: "failed", error: `not in ${dir}/modules.dep` })),
  ];
  const byName = new Map(plan.load.map((m) => [m.name, m]));
  const loading = new Map<string, Promise<boolean>>();
  const load = (m: ModuleEntry): Promise<boolean> => {
    let p = loading.get(m.name);
    if (!p) {
      p = (async () => {
        const deps = await Promise.all(m.deps.map((d) => (byName.has(d) ? load(byName.get(d)!) : Promise.resolve(true))));
        if (deps.includes(false)) {
          outcomes.push({ name: m.name, result: "failed", error: "a dependency failed" });
          return false;
        }
        const outcome = await loadOne(m, dir);
        outcomes.push(outcome);
        return outcome.result !== "failed";
      })();
      loading.set(m.name, p);
    }
    return p;
  };
  await Promise.all(plan.load.map(load));
  return outcomes;
}

async function loadOne(m: ModuleEntry, dir: string): Promise<ModuleOutcome> {
  let fd: number;
  try {
    fd = openFile(join(dir, m.path), O.RDONLY);
  } catch (e) {
    return { name: m.name, result: "failed", error: (e as Error).message };
  }
  try {
    const errno = await loadModuleFd(fd);
    if (errno === 0) return { name: m.name, result: "loaded" };
    if (errno === E.EEXIST) return { name: m.name, result: "already loaded" };
    return { name: m.name, result: "failed", error: `finit_module: ${describeErrno(errno)}` };
  } finally {
    close(fd);
  }
}
