// Kernel modules: modules.dep and modules.builtin (as depmod writes them under
// /lib/modules/RELEASE), and the plan of what to load for a list of names. Pure.
//
// modules.dep has one line per module: "kernel/a/b.ko: kernel/c/d.ko kernel/e/f.ko",
// paths relative to the release directory, the dependencies listed so that the LAST
// must be loaded first (modprobe walks them backwards).

export interface ModuleEntry {
  name: string;
  path: string;
  /** Names of the modules this one needs, each loaded before it. */
  deps: string[];
}

/** "kernel/drivers/watchdog/i6300esb.ko" -> "i6300esb"; "-" and "_" are the same to the kernel. */
export function moduleName(pathOrName: string): string {
  const base = pathOrName.slice(pathOrName.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, "").replaceAll("-", "_");
}

export function parseModulesDep(text: string): Map<string, ModuleEntry> {
  const modules = new Map<string, ModuleEntry>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    if (path === "") continue;
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter((d) => d !== "").map(moduleName).reverse();
    modules.set(moduleName(path), { name: moduleName(path), path, deps });
  }
  return modules;
}

/** Names of the modules built into the kernel (modules.builtin: one path per line). */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split("\n").map((l) => l.trim()).filter((l) => l !== "").map(moduleName));
}

export interface ModulePlan {
  /** Every module to load, each after its dependencies (a topological order). */
  load: ModuleEntry[];
  /** Asked for, but built into the kernel: nothing to do. */
  builtin: string[];
  /** Asked for (or needed), but in neither file. */
  missing: string[];
}

/** What to load, and in which order, for the modules asked for. */
export function planModules(requested: readonly string[], dep: Map<string, ModuleEntry>, builtin: Set<string>): ModulePlan {
  const plan: ModulePlan = { load: [], builtin: [], missing: [] };
  const seen = new Set<string>();
  const visit = (name: string, asked: boolean) => {
    if (seen.has(name)) return;
    seen.add(name);
    const entry = dep.get(name);
    if (entry === undefined) {
      if (builtin.has(name)) { if (asked) plan.builtin.push(name); }
      else plan.missing.push(name);
      return;
    }
    for (const d of entry.deps) visit(d, false);
    plan.load.push(entry);
  };
  for (const name of requested) visit(moduleName(name), true);
  return plan;
}
