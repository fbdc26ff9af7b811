// Template units and aliases (systemd.unit(5)): units/NAME@.toml is a template, NAME@INST
// an instance of it, made when something names it; [unit] aliases are other names of a
// unit. Pure: the loader hands in the parsed files and a parser of template texts.

import type { Diagnostic, UnitConfig } from "./types.ts";
import type { UnitFile } from "./graph.ts";
import type { FileReport } from "./diagnostics.ts";
import { BUILTIN_TARGETS } from "./types.ts";

/** "getty@" for a template's name, else null. */
export function isTemplateName(name: string): boolean {
  return name.length > 1 && name.indexOf("@") === name.length - 1;
}

/** The template an instance name belongs to ("getty@" for "getty@tty1"), or null. */
export function templateOf(name: string): string | null {
  const at = name.indexOf("@");
  return at <= 0 || at === name.length - 1 ? null : name.slice(0, at + 1);
}

/** The lists that name other units: instances named there are made, aliases resolved. */
export const NAME_LISTS = ["requires", "wants", "binds_to", "conflicts", "after", "before", "wanted_by", "required_by"] as const;

/** The most instances the configuration makes at load (each is a parse of its template). */
export const MAX_INSTANCES = 4096;

/**
 * The instances the loaded files name (in their lists, or as a template's default
 * instance that its wanted_by pulls in; `named`: system.toml's), made by `make` until none is missing: an
 * instance may name others. Names with a file of their own are not made (the file
 * overrides the template), nor those of templates that do not exist.
 */
export function makeNamedInstances(
  files: UnitFile[], templates: Map<string, UnitFile>, make: (name: string, isDefault: boolean) => UnitFile, named: string[] = [],
): UnitFile[] {
  if (templates.size === 0) return []; // most boards: nothing to look for
  const have = new Set(files.map((f) => f.name));
  const made: UnitFile[] = [];
  const queue: { name: string; isDefault: boolean }[] = [];
  const want = (name: string, isDefault: boolean) => {
    const template = templateOf(name);
    if (have.has(name) || template === null || !templates.has(template)) return;
    have.add(name);
    queue.push({ name, isDefault });
  };
  const scan = (file: UnitFile) => {
    if (file.unit === null) return;
    for (const list of NAME_LISTS) for (const name of file.unit.unit[list]) want(name, false);
  };
  for (const file of files) scan(file);
  for (const name of named) want(name, false);
  for (const [name, template] of templates) {
    const unit = template.unit?.unit;
    const instance = unit?.default_instance;
    if (instance && (unit.wanted_by.length > 0 || unit.required_by.length > 0)) want(name + instance, true);
  }
  while (queue.length > 0 && made.length < MAX_INSTANCES) {
    const next = queue.shift()!;
    const file = make(next.name, next.isDefault);
    made.push(file);
    scan(file);
  }
  return made;
}

/**
 * What an instance keeps of its template: everything, under its own name, except the
 * [install]-like lists (wanted_by, required_by), which only the default instance keeps
 * (systemd enables an instance by name, or the DefaultInstance= one), its aliases, and its
 * sockets (the socket unit NAME has them).
 */
export function asInstance(config: UnitConfig, name: string, isDefault: boolean): UnitConfig {
  const unit = isDefault ? { ...config.unit, aliases: [] } : { ...config.unit, wanted_by: [], required_by: [], aliases: [] };
  return { ...config, name, unit, sockets: [] };
}

/**
 * The aliases of the files: alias -> the unit it names. An alias that is a unit (or a
 * built-in target), or that two units claim, is an error naming both files.
 */
export function collectAliases(files: UnitFile[], templates: Map<string, UnitFile>): Map<string, string> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const claimed = new Map<string, { file: UnitFile; index: number }>();
  const aliases = new Map<string, string>();
  const builtins = new Set<string>(BUILTIN_TARGETS);
  for (const file of files) {
    (file.unit?.unit.aliases ?? []).forEach((alias, index) => {
      const site = file.report.at(`unit.aliases[${index}]`);
      const real = byName.get(alias) ?? templates.get(alias);
      if (alias === file.name) return site.warning(`'${alias}' is this unit's own name; ignored`);
      if (real) return site.error(`'${alias}' is a unit of its own (${real.report.file}): an alias cannot take its name`);
      if (builtins.has(alias)) return site.error(`'${alias}' is a built-in target: an alias cannot take its name`);
      const other = claimed.get(alias);
      if (other) {
        site.error(`alias '${alias}' is also claimed by ${other.file.report.file}`);
        other.file.report.at(`unit.aliases[${other.index}]`).error(`alias '${alias}' is also claimed by ${file.report.file}`);
        aliases.delete(alias);
        return;
      }
      claimed.set(alias, { file, index });
      aliases.set(alias, file.name);
    });
  }
  return aliases;
}

/** The unit's lists with every alias replaced by the name of the unit it stands for. */
export function withAliasesResolved(config: UnitConfig, aliases: Map<string, string>): UnitConfig {
  if (aliases.size === 0) return config;
  const unit = { ...config.unit };
  for (const list of NAME_LISTS) unit[list] = unit[list].map((name) => aliases.get(name) ?? name);
  const sockets = config.sockets.map((s) => (s.service !== undefined && aliases.has(s.service) ? { ...s, service: aliases.get(s.service)! } : s));
  return { ...config, unit, sockets };
}

/**
 * The socket unit of each template with accept = true sockets: NAME (systemd's
 * NAME.socket), made of the template's file read as the template itself (%i empty); it
 * listens, and each connection gets an instance of NAME@.
 */
export function acceptingUnits(
  templates: Map<string, UnitFile>, sources: Map<string, { file: string; text: string }>, files: UnitFile[],
  parse: (name: string, text: string, file: string) => UnitFile,
): UnitFile[] {
  const out: UnitFile[] = [];
  for (const [name, template] of templates) {
    if (!template.unit?.sockets.some((s) => s.accept)) continue;
    const socketUnit = name.slice(0, -1);
    const clash = files.find((f) => f.name === socketUnit);
    if (clash) {
      template.report.at("socket[0]").error(`its accepting socket unit is '${socketUnit}', which ${clash.report.file} is too: rename one`, "key");
      continue;
    }
    const source = sources.get(name)!;
    const file = parse(name, source.text, source.file);
    out.push({ ...file, name: socketUnit, unit: file.unit && { ...file.unit, name: socketUnit } });
  }
  return out;
}

/** Diagnostics of units made from a template that its own check did not already give. */
export function newDiagnostics(made: FileReport[], checked: FileReport[]): Diagnostic[] {
  const seen = new Set(checked.flatMap((r) => r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}:${d.message}`)));
  const out: Diagnostic[] = [];
  for (const d of made.flatMap((r) => r.diagnostics)) {
    const key = `${d.file}:${d.line}:${d.col}:${d.message}`;
    if (!seen.has(key)) out.push(d);
    seen.add(key);
  }
  return out;
}
