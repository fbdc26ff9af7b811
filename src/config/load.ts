// Loading the configuration: system.toml and units/*.toml, each validated against the
// schema, then the unit graph checked as a whole. Everything here is pure except
// readConfigDir, the one reader of the filesystem.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import type {
  Condition, Diagnostic, ExecCommand, LoadedConfig, ManagerSection, MountEntry, Rlimit, ServiceSection, SocketSection,
  SystemConfig, UnitConfig, UnitSection, WatchdogSection,
} from "./types.ts";
import { RLIMITS, type TableName } from "./schema.ts";
import { FileReport, formatDiagnostic, type Site } from "./diagnostics.ts";
import { nestingTooDeep, scanPositions } from "./positions.ts";
import { hostEnv, memoizedEnv, type LoadEnv } from "./commands.ts";
import { parseToml, readSection, readTables, withDefaults } from "./sections.ts";
import { isBuiltinTarget } from "./builtins.ts";
import { isValidUnitName } from "./values.ts";
import { canAccept, describeListen, LISTEN_KEYS, parseListen, socketFilePath, type ListenKey, type ListenSpec } from "./socket-address.ts";
import { describeValue, isTable, quote } from "./describe.ts";
import { resolveGraph, withDefaultDependencies, type UnitFile } from "./graph.ts";
import { sandboxProblems } from "./sandbox-check.ts";
import { readConfigFile } from "./read-file.ts";
import { LayeredReport, mergeDropIn, type DropIn } from "./dropins.ts";
import { dropInFilesOf, isMaskLink, readDropIns, unitFilesOf } from "./layers.ts";
import { expandSpecifiers, nameParts, SYSTEM_FACTS, type SpecifierFacts, type UnitNameParts } from "./specifiers.ts";
import {
  acceptingUnits, asInstance, collectAliases, isTemplateName, makeNamedInstances, newDiagnostics, templateOf, withAliasesResolved,
} from "./templates.ts";
import { checkPath, checkTimer } from "../timers/check.ts";
import type { PathSection, TimerSection } from "../timers/types.ts";

export { formatDiagnostic };
export type { LoadEnv };

// ---------------------------------------------------------------- system.toml

export function parseSystemToml(text: string, file: string): { system: SystemConfig; diagnostics: Diagnostic[] } {
  const { system, report } = parseSystemFile(text, file);
  return { system, diagnostics: report.diagnostics };
}

function parseSystemFile(text: string, file: string): { system: SystemConfig; report: FileReport } {
  const report = new FileReport(file, () => scanPositions(text), hostEnv);
  const doc = parseToml(text, report, nestingTooDeep(text));
  const tables = doc ? readTables(doc, "system", report) : new Map<TableName, unknown>();
  const manager = readTable<ManagerSection>("manager", tables.get("manager"), DEFAULT_MANAGER, report.at("manager"));
  const watchdog = readTable<WatchdogSection>("watchdog", tables.get("watchdog"), DEFAULT_MANAGER, report.at("watchdog"));
  const mounts = readMounts((tables.get("mount") ?? []) as Record<string, unknown>[], report);
  return { system: { manager, watchdog, mounts }, report };
}

/** One plain table with its defaults; a bad key falls back to its default. */
function readTable<T>(table: TableName, raw: unknown, manager: ManagerSection, site: Site): T {
  return readWithDefaults(table, (raw ?? {}) as Record<string, unknown>, manager, site) as T;
}

function readWithDefaults(table: TableName, raw: Record<string, unknown>, manager: ManagerSection, site: Site): Record<string, unknown> {
  return withDefaults(table, readSection(table, raw, site), raw, manager, site);
}

function readMounts(entries: Record<string, unknown>[], report: FileReport): MountEntry[] {
  const mounts: MountEntry[] = [];
  entries.forEach((raw, index) => {
    const site = report.at(`mount[${index}]`);
    const errorsBefore = countErrors(report);
    const mount = readTable<MountEntry>("mount", raw, DEFAULT_MANAGER, site);
    if (mount.where !== undefined && mounts.some((other) => other.where === mount.where)) {
      site.entry("where").error(`${mount.where} is already mounted by an earlier [[mount]]`);
    }
    if (countErrors(report) === errorsBefore) mounts.push(mount); // a bad entry is skipped, not half-mounted
  });
  return mounts;
}

function countErrors(report: FileReport): number {
  return report.errorCount;
}

/** system.toml's defaults: what a board without system.toml runs with. */
export function defaultSystemConfig(): SystemConfig {
  return parseSystemFile("", "").system;
}

// Read straight from the schema (the [manager] table has no defaults that refer to itself).
const DEFAULT_MANAGER = readWithDefaults("manager", {}, {} as ManagerSection, new FileReport("", new Map(), hostEnv).at("manager")) as unknown as ManagerSection;

// ---------------------------------------------------------------- unit files

export function parseUnitToml(
  name: string, text: string, file: string, system: SystemConfig, env: LoadEnv = hostEnv, facts: SpecifierFacts = SYSTEM_FACTS,
): { unit: UnitConfig | null; diagnostics: Diagnostic[] } {
  const { unit, report } = parseUnitFile(name, text, file, system, env, facts);
  return { unit: report.hasErrors ? null : unit, diagnostics: report.diagnostics };
}

/**
 * `specifiersAs`: the name %i, %n … stand for, when not `name` (a template is checked as
 * an instance of a placeholder name).
 */
function parseUnitFile(
  name: string, text: string, file: string, system: SystemConfig, env: LoadEnv, facts: SpecifierFacts, specifiersAs = name,
  dropIns: readonly DropIn[] = [],
): UnitFile {
  const report = dropIns.length === 0 ? new FileReport(file, () => scanPositions(text), env, name)
    : new LayeredReport(file, () => scanPositions(text), env, name, dropIns);
  if (!isValidUnitName(name)) {
    report.at("").error(`${quote(name)} is not a valid unit name (letters, digits and _ . @ : -): rename the file`);
  }
  const doc = report instanceof LayeredReport ? parseLayered(text, dropIns, report) : parseToml(text, report, nestingTooDeep(text));
  if (doc === undefined) return { name, report, unit: null };
  if (text.includes("%")) expandDocument(doc, nameParts(specifiersAs, "service" in doc ? ".service" : ".target"), facts, report);

  const tables = readTables(doc, "unit", report);
  const manager = system.manager;
  const unit = readTable<UnitSection>("unit", tables.get("unit"), manager, report.at("unit"));
  const service = tables.has("service") ? readService(tables.get("service") as Record<string, unknown>, manager, report.at("service")) : null;
  const sockets = ((tables.get("socket") ?? []) as Record<string, unknown>[]).map((raw, index) =>
    readSocket(raw, report.at(`socket[${index}]`), name, manager, service !== null));
  checkTemplateKeys(name, unit, sockets, report);

  if (service) checkService(service, sockets, report);
  const runsSomething = service !== null || sockets.length > 0;
  const triggers: { timer?: TimerSection; path?: PathSection } = {};
  const rawTimer = tables.get("timer") as Record<string, unknown> | undefined;
  const rawPath = tables.get("path") as Record<string, unknown> | undefined;
  if (rawTimer) checkTimer(triggers.timer = readTable<TimerSection>("timer", rawTimer, manager, report.at("timer")), name, rawTimer, report.at("timer"), runsSomething || rawPath !== undefined);
  if (rawPath) checkPath(triggers.path = readTable<PathSection>("path", rawPath, manager, report.at("path")), name, rawPath, report.at("path"), runsSomething);
  if (isBuiltinTarget(name)) checkBuiltinExtension(name, tables, report);

  // Kept even with errors, so that the graph check can still report bad references.
  const conditions = gatherConditions(unit, tables.get("unit"));
  const config: UnitConfig = conditions.length > 0 ? { name, file, unit, service, sockets, conditions } : { name, file, unit, service, sockets };
  return { name, report, unit: rawTimer || rawPath ? { ...config, ...triggers } : config };
}

/** The unit file and its drop-ins merged; a syntax error in any of them is reported in its own file and loads nothing. */
function parseLayered(text: string, dropIns: readonly DropIn[], report: LayeredReport): Record<string, unknown> | undefined {
  const doc = parseToml(text, report, nestingTooDeep(text));
  const parsed = dropIns.map((dropIn) => {
    const own = new FileReport(dropIn.file, () => scanPositions(dropIn.text), report.env, report.unit);
    const part = parseToml(dropIn.text, own, nestingTooDeep(dropIn.text));
    for (const d of own.diagnostics) report.add(d.severity, d.line, d.col, d.message, d.file);
    return part;
  });
  if (doc === undefined || parsed.includes(undefined)) return undefined;
  parsed.forEach((part, index) => mergeDropIn(doc, part!, index + 1, report));
  return doc;
}

/**
 * Every string value of [unit], [service] and [[socket]] with its specifiers expanded
 * (systemd expands them in nearly every setting of a unit file); an unknown one is an
 * error at its value. Percentages ("50%") are not specifiers.
 */
function expandDocument(doc: Record<string, unknown>, unit: UnitNameParts, facts: SpecifierFacts, report: FileReport): void {
  // In place, and paths are built only for a string with a "%": this runs per file at boot.
  const expandIn = (holder: Record<string, unknown> | unknown[], key: string | number, at: () => string): void => {
    const value = (holder as Record<string | number, unknown>)[key];
    if (typeof value === "string") {
      if (!value.includes("%")) return;
      const out = expandSpecifiers(value, unit, facts);
      if ("value" in out) (holder as Record<string | number, unknown>)[key] = out.value;
      else report.at(at()).error(`${describeValue(value)}: ${out.error}`);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) expandIn(value, i, () => `${at()}[${i}]`);
    } else if (isTable(value)) {
      const keys = Object.keys(value);
      for (let k = 0; k < keys.length; k++) {
        if (!NOT_EXPANDED.has(keys[k]!)) expandIn(value, keys[k]!, () => `${at()}.${keys[k]}`);
      }
    }
  };
  for (const table of ["unit", "service", "socket"]) if (table in doc) expandIn(doc, table, () => table);
}

const NOT_EXPANDED = new Set(["cpu_quota", "tasks_max"]);

/**
 * accept = true makes a unit per connection: systemd wants a template for it (Accept=yes
 * with NAME@.service). default_instance is a template's. A template's sockets are its
 * accepting ones (the socket unit NAME listens; each connection gets an instance).
 */
function checkTemplateKeys(name: string, unit: UnitSection, sockets: SocketSection[], report: FileReport): void {
  const template = isTemplateName(name);
  const base = name.slice(0, name.indexOf("@") < 0 ? name.length : name.indexOf("@"));
  sockets.forEach((socket, index) => {
    const site = report.at(`socket[${index}]`);
    if (socket.accept && !template && templateOf(name) === null) {
      site.entry("accept").error(`accept = true makes an instance per connection of a template: rename the file ${base}@.toml (systemd: Accept=yes needs ${base}@.service)`);
    } else if (template && !socket.accept) {
      site.error("a template's [[socket]] needs accept = true (one instance per connection); a socket for one instance goes in that instance's own file", "key");
    } else if (socket.accept && template && socket.service !== undefined && !isTemplateName(socket.service)) {
      site.entry("service").error(`accept = true activates a template: name one ('${socket.service}@'), not '${socket.service}'`);
    }
  });
  if (unit.default_instance != null && !template && templateOf(name) === null) {
    report.at("unit.default_instance").warning("only a template (NAME@.toml) has a default instance; ignored");
  } else if (unit.default_instance != null && !isValidUnitName(name + unit.default_instance)) {
    report.at("unit.default_instance").error(`${quote(name + unit.default_instance)} is not a valid unit name`);
  }
  if (template && (unit.aliases ?? []).length > 0) report.at("unit.aliases").error("a template has no aliases (its instances are named after it)");
}

/**
 * The unit's condition_X and assert_X entries: conditions then asserts, each in file order.
 * Only the keys the file has are looked at (a unit has a few; the schema has 46 of them).
 */
function gatherConditions(unit: UnitSection, raw: unknown): Condition[] {
  if (raw === undefined) return [];
  const out: Condition[] = [];
  const values = unit as unknown as Record<string, Condition[] | null | undefined>;
  const names = Object.keys(raw as Record<string, unknown>);
  for (const prefix of ["condition_", "assert_"]) {
    for (let i = 0; i < names.length; i++) {
      const list = names[i]!.startsWith(prefix) ? values[names[i]!] : null;
      if (list) for (const c of list) out.push(c);
    }
  }
  return out;
}

function readService(raw: Record<string, unknown>, manager: ManagerSection, site: Site): ServiceSection {
  const given = readSection("service", raw, site);
  const service = withDefaults("service", given, raw, manager, site) as unknown as ServiceSection; // without limit_* keys
  const limits: Record<string, Rlimit> = {};
  for (const [resource, key] of LIMIT_KEYS) {
    const limit = given.get(key) as Rlimit | undefined;
    if (limit !== undefined) limits[resource] = limit;
  }
  service.limits = limits;
  if (Array.isArray(service.exec_start)) {
    const [first, ...next] = service.exec_start as ExecCommand[];
    service.exec_start = first!;
    service.exec_start_next = next;
  } else {
    service.exec_start_next = [];
  }
  // systemd: notify services, and services with a watchdog, let their main process talk.
  service.notify_access ??= service.type === "notify" || service.type === "notify-reload" || service.watchdog_sec > 0 ? "main" : "none";
  // systemd: stdout follows a terminal or socket stdin, else goes to the journal (the unit's log).
  service.standard_output ??= service.standard_input?.startsWith("tty") || service.standard_input === "socket" ? "inherit" : "journal";
  return service;
}

/** [resource, its key]: ["nofile", "limit_nofile"]. */
const LIMIT_KEYS = Object.keys(RLIMITS).map((resource) => [resource, `limit_${resource}`] as const);

const LISTEN_KEY_NAMES = Object.keys(LISTEN_KEYS) as ListenKey[];

function readSocket(raw: Record<string, unknown>, site: Site, unitName: string, manager: ManagerSection, hasService: boolean): SocketSection {
  const values = readWithDefaults("socket", raw, manager, site);
  for (const key of LISTEN_KEY_NAMES) if (values[key] === null) delete values[key];
  values.fd_name ??= unitName;
  values.service ??= unitName;
  const socket = values as SocketSection;

  // Rules that involve more than one key.
  const listens = LISTEN_KEY_NAMES.filter((key) => key in raw);
  if (listens.length === 0) site.error(`needs one of ${LISTEN_KEY_NAMES.join(", ")}`, "key");
  for (const extra of listens.slice(1)) {
    site.entry(extra).error(`one [[socket]] listens once: '${listens[0]}' is already set; add another [[socket]]`, "key");
  }
  if (socket.accept && listens[0] !== undefined && !canAccept(LISTEN_KEYS[listens[0]])) {
    site.entry("accept").error("accept = true works with stream and sequential packet sockets only");
  }
  const listened = listens[0] === undefined ? null : parseListen(LISTEN_KEYS[listens[0]], String(raw[listens[0]]));
  if (listened !== null && typeof listened !== "string") checkSocketFileOptions(socket, listened, site);
  const packet = socket.listen_sequential_packet;
  if (packet !== undefined && !packet.startsWith("/") && !packet.startsWith("@")) {
    site.entry("listen_sequential_packet").error("sequential packet sockets are unix sockets: give a path or @abstract");
  }
  if (!hasService && socket.service === unitName) {
    site.error('a unit without [service] has nothing to activate: name the unit with service = "..."', "key");
  }
  return socket;
}

/**
 * symlinks name a socket file or FIFO: systemd refuses a socket unit with Symlinks= and no
 * file (or more than one, which one [[socket]] cannot have). pass_packet_info on a unix
 * socket: the kernel has no such option there (systemd warns at the start).
 */
function checkSocketFileOptions(socket: SocketSection, spec: ListenSpec, site: Site): void {
  const unix = "address" in spec && spec.address.family === "unix";
  if ((socket.symlinks ?? []).length > 0 && socketFilePath(spec) === null) {
    site.entry("symlinks").error(`symlinks need a socket file or FIFO to point at: ${describeListen(spec)} is none (systemd refuses such a socket)`);
  }
  if (socket.pass_packet_info && (unix || spec.kind === "fifo" || spec.kind === "special")) {
    site.entry("pass_packet_info").warning("pass_packet_info applies to IP and netlink sockets only: ignored here");
  }
}

/** Rules that involve more than one key of [service], or the sockets. */
function checkService(service: ServiceSection, sockets: SocketSection[], report: FileReport): void {
  const at = (key: string) => report.at(`service.${key}`);
  if (service.type === "oneshot" && (service.restart === "always" || service.restart === "on-success")) {
    at("restart").error(`a oneshot service cannot have restart = "${service.restart}" (use on-failure)`);
  }
  if ((service.exec_start_next ?? []).length > 0 && service.type !== "oneshot") {
    at("exec_start").error(`several commands are allowed for type = "oneshot" only (this service is ${service.type}), as in systemd`);
  }
  if (service.type === "notify-reload" && service.exec_reload.length > 0) {
    at("exec_reload").error('type = "notify-reload" reloads by reload_signal: exec_reload cannot go with it');
  }
  if (service.notify_access === "none" && (service.type === "notify" || service.type === "notify-reload")) {
    at("notify_access").warning('with notify_access = "none" the READY=1 of a notify service is ignored: its start will time out');
  }
  if (service.notify_access === "none" && service.watchdog_sec > 0) {
    at("notify_access").warning('with notify_access = "none" no WATCHDOG=1 is heard: the service watchdog will fire');
  }
  const bounding = service.capability_bounding_set;
  const outside = bounding ? (service.ambient_capabilities ?? []).filter((cap) => !bounding.includes(cap)) : [];
  if (outside.length > 0) {
    at("ambient_capabilities").warning(`${outside.join(", ")} not in capability_bounding_set: left out of the ambient set`);
  }
  for (const [key, problem] of sandboxProblems(service)) at(key).error(problem);
  const nofile = service.limits.nofile?.soft;
  if (service.notification_fd !== null && nofile !== undefined && service.notification_fd >= nofile) {
    at("notification_fd").error(`fd ${service.notification_fd} is not below limit_nofile (${nofile}): the service could not have it`);
  }
  for (const key of ["standard_input", "standard_output", "standard_error"] as const) {
    if (service[key] === "socket" && !sockets.some((socket) => socket.accept)) {
      at(key).error(`${key} = "socket" needs a [[socket]] with accept = true`);
    }
  }
  if (service.type === "dbus" && !service.bus_name) {
    at("type").error('type = "dbus" needs bus_name: the name whose owner makes the service ready');
  }
  const ident = service.syslog_identifier;
  if (ident !== null && ident !== undefined) {
    const wrong = ident === "" ? "must not be empty" : ident.length > MAX_IDENTIFIER ? `is too long: at most ${MAX_IDENTIFIER} characters`
      : /[\s\u0000-\u001f\u007f-\u009f]/.test(ident) ? "must not hold spaces or control characters" : null;
    if (wrong) at("syslog_identifier").error(`${quote(ident)} ${wrong}`);
  }
}

/** syslog_identifier: a name on one log line, not a sentence. */
const MAX_IDENTIFIER = 64;

function checkBuiltinExtension(name: string, tables: Map<TableName, unknown>, report: FileReport): void {
  for (const table of ["service", "socket", "timer", "path"] as const) {
    if (tables.has(table)) {
      report.at(table).error(`'${name}' is a built-in target: a file of that name may only extend its [unit]`, "key");
    }
  }
}

// ---------------------------------------------------------------- the whole configuration

/** The texts of a configuration directory, as read from disk (or made up by a test). */
export interface ConfigSources {
  system: { file: string; text: string } | null;
  units: { name: string; file: string; text: string }[]; // sorted by name
  diagnostics: Diagnostic[]; // problems reading the directory itself
  /** NAME.toml.d/*.toml by unit name (NAME@ for a template's), each list in the order they apply. */
  dropIns?: Map<string, DropIn[]>;
  /** Units masked (NAME.toml a link to /dev/null): never loaded, never started. */
  masked?: { name: string; file: string }[];
}

export interface LoadOptions {
  env?: LoadEnv;
  facts?: SpecifierFacts; // what %H, %m, %t … stand for (gathered by the caller)
  unitDirs?: string[]; // the unit layers, lowest first (default: CONFDIR/units alone)
}

/** Reads and validates CONFDIR/system.toml and CONFDIR/units/*.toml. */
export function loadConfig(confDir: string, opts: LoadOptions = {}): LoadedConfig {
  return buildConfig(readConfigDir(confDir, opts.unitDirs), opts.env ?? hostEnv, opts.facts); // under src/main.ts's JIT policy
}

/**
 * The instance a template is checked as (systemd-analyze verify's "test-instance", as the
 * escaped path /dev/test/instance, so that "%i.device" names a device as real instances do).
 */
const PLACEHOLDER_INSTANCE = "dev-test-instance";

/** Validates configuration texts. Pure: the filesystem is only asked about programs, through env. */
export function buildConfig(sources: ConfigSources, hostOrTestEnv: LoadEnv = hostEnv, machine: SpecifierFacts = SYSTEM_FACTS): LoadedConfig {
  const env = memoizedEnv(hostOrTestEnv);
  const systemFile = sources.system
    ? parseSystemFile(sources.system.text, sources.system.file)
    : { system: defaultSystemConfig(), report: new FileReport("", new Map(), env) };
  const hostname = machine.hostnameFromSystemToml ? systemFile.system.manager.hostname : null;
  const facts = hostname ? { ...machine, hostname } : machine;
  const dropIns = sources.dropIns ?? new Map<string, DropIn[]>();
  const parse = (name: string, text: string, file: string, specifiersAs = name, own = dropIns.get(name) ?? []) =>
    parseUnitFile(name, text, file, systemFile.system, env, facts, specifiersAs, own);
  const layerProblems: Diagnostic[] = [];
  const unitSources = withDropInOnlyUnits(sources, dropIns, layerProblems);
  const masked = (sources.masked ?? []).map((m): UnitFile => ({ name: m.name, report: new FileReport(m.file, new Map(), env), unit: null }));

  const templateSources = new Map(unitSources.filter((u) => isTemplateName(u.name)).map((u) => [u.name, u]));
  const plainFiles = unitSources.filter((u) => !isTemplateName(u.name)).map((u) => parse(u.name, u.text, u.file));
  const templates = new Map([...templateSources].map(([name, u]) => [name, parse(name, u.text, u.file, name + PLACEHOLDER_INSTANCE)]));
  const aliases = collectAliases(plainFiles, templates);
  for (const file of plainFiles) if (file.unit) file.unit = withAliasesResolved(file.unit, aliases);

  const makeInstance = (name: string, isDefault: boolean): UnitFile => {
    const source = templateSources.get(templateOf(name)!)!;
    const file = parse(name, source.text, source.file, name, instanceDropIns(dropIns, templateOf(name)!, name));
    if (file.unit) file.unit = withAliasesResolved(asInstance(file.unit, name, isDefault), aliases);
    return file;
  };
  const socketUnits = acceptingUnits(templates, templateSources, plainFiles, parse);
  const named = [...plainFiles, ...socketUnits].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // file order
  // system.toml may name an alias or an instance too (default_target, critical_units).
  const manager = { ...systemFile.system.manager, default_target: aliases.get(systemFile.system.manager.default_target) ?? systemFile.system.manager.default_target };
  const critical = systemFile.system.watchdog.critical_units.map((name) => aliases.get(name) ?? name);
  const systemConfig = { ...systemFile.system, manager, watchdog: { ...systemFile.system.watchdog, critical_units: critical } };
  const instances = makeNamedInstances(named, templates, makeInstance, [manager.default_target, ...critical]);
  const unitFiles = [...named, ...instances, ...masked];
  const { units, system, notFound } = resolveGraph(unitFiles, systemConfig, systemFile.report, new Set(templates.keys()));

  const byFile = (a: FileReport, b: FileReport) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
  const reports = [systemFile.report, ...[...plainFiles, ...templates.values()].map((f) => f.report).sort(byFile)];
  const made = [...socketUnits, ...instances].map((f) => f.report);
  const diagnostics = [...sources.diagnostics, ...layerProblems, ...sortByPlace([...reports.flatMap((r) => r.diagnostics), ...newDiagnostics(made, reports)], reports)];

  const fileNames = new Set([...unitSources.map((u) => u.name), ...masked.map((m) => m.name)]);
  // A template without specifiers makes the same instance under every name: parsed once
  // (a connection of an accept = true socket makes one), renamed after.
  const plainInstances = new Map<string, UnitConfig | null>();
  const parsedInstance = (name: string): UnitConfig | null => {
    const file = makeInstance(name, false);
    return file.unit === null || file.report.hasErrors ? null : withDefaultDependencies(file.unit);
  };
  const instanceOf = (name: string, template: string): UnitConfig | null => {
    if (templateSources.get(template)!.text.includes("%") || dropIns.has(name) || dropIns.has(template)) return parsedInstance(name);
    if (!plainInstances.has(template)) plainInstances.set(template, parsedInstance(template + PLACEHOLDER_INSTANCE));
    const shared = plainInstances.get(template)!;
    return shared && { ...shared, name };
  };
  const catalog = {
    aliasOf: (name: string) => aliases.get(name) ?? null,
    /** An instance named at run time (hearth ctl start, hearth.wants=, a connection); null: no such template, or errors. */
    instantiate: (name: string): UnitConfig | null => {
      const template = templateOf(name);
      if (template === null || fileNames.has(name) || !isValidUnitName(name) || templates.get(template)?.report.hasErrors !== false) return null;
      return instanceOf(name, template);
    },
  };
  return { system, units, diagnostics, notFound, catalog, masked: new Set(masked.map((m) => m.name)) };
}

/**
 * The unit files, plus a built-in target that has drop-ins and no file (they extend it as
 * a file would). Drop-ins of a unit that has no file are ignored, as systemd's, with a
 * warning; an instance's (NAME@INST.toml.d) apply when that instance is made.
 */
function withDropInOnlyUnits(sources: ConfigSources, dropIns: Map<string, DropIn[]>, problems: Diagnostic[]): ConfigSources["units"] {
  const names = new Set([...sources.units.map((u) => u.name), ...(sources.masked ?? []).map((m) => m.name)]);
  const units = [...sources.units];
  for (const [name, list] of dropIns) {
    if (names.has(name) || (templateOf(name) !== null && !isTemplateName(name))) continue;
    if (isBuiltinTarget(name)) units.push({ name, file: list[0]!.file, text: "" });
    else problems.push({ file: list[0]!.file, line: 0, col: 0, severity: "warning", message: `a drop-in of '${name}', which has no unit file: ignored` });
  }
  return units.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A template's drop-ins and its instance's own, by file name; of two of the same name, the instance's. */
function instanceDropIns(dropIns: Map<string, DropIn[]>, template: string, instance: string): DropIn[] {
  const own = dropIns.get(instance) ?? [];
  const base = (d: DropIn) => d.file.slice(d.file.lastIndexOf("/") + 1);
  const ownNames = new Set(own.map(base));
  const all = [...(dropIns.get(template) ?? []).filter((d) => !ownNames.has(base(d))), ...own];
  return all.sort((a, b) => (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : 0));
}

/** In file order (system.toml, then units by name), then by line and column. */
function sortByPlace(diagnostics: Diagnostic[], reports: FileReport[]): Diagnostic[] {
  const fileOrder = new Map(reports.map((r, index) => [r.file, index]));
  const rank = (d: Diagnostic) => fileOrder.get(d.file) ?? reports.length;
  return diagnostics.sort((a, b) => rank(a) - rank(b) || a.line - b.line || a.col - b.col);
}

/** The one place that reads the filesystem (besides the program check of LoadEnv). */
/** The most unit files read from units/ (a board has tens to hundreds). */
export const MAX_UNIT_FILES = 4096;

export function readConfigDir(confDir: string, unitDirs: string[] = [join(confDir, "units")]): ConfigSources {
  const diagnostics: Diagnostic[] = [];
  const problem = (file: string, message: string, severity: Diagnostic["severity"] = "error", unit?: string) =>
    diagnostics.push({ file, line: 0, col: 0, message, severity, ...(unit === undefined ? {} : { unit }) });

  const systemPath = join(confDir, "system.toml");
  const systemText = readOptional(systemPath, problem);
  const system = systemText === null ? null : { file: systemPath, text: systemText };

  const perLayer: { dir: string; entries: string[] }[] = [];
  for (const unitsDir of unitDirs) {
    try {
      perLayer.push({ dir: unitsDir, entries: readdirSync(unitsDir).sort() });
    } catch (e) {
      if (errorCode(e) !== "ENOENT") problem(unitsDir, `cannot read: ${errorText(e)}`);
    }
  }
  if (perLayer.length === 0 && systemText === null) problem(confDir, "no system.toml and no units/: only the built-in targets exist", "warning");
  for (const { dir, entries } of perLayer) {
    for (const entry of entries) {
      if (!entry.endsWith(".toml") && SYSTEMD_UNIT_SUFFIXES.some((suffix) => entry.endsWith(suffix))) {
        problem(`${dir}/${entry}`, "ignored: a systemd unit file; write it as NAME.toml (docs/configuration.md: keys are the snake_case forms of systemd's directives)", "warning");
      }
    }
  }
  let files = [...unitFilesOf(perLayer)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length > MAX_UNIT_FILES) {
    // Bounded like every other input: 256 KiB each, this many files at most.
    problem(unitDirs[unitDirs.length - 1]!, `${files.length} unit files: only the first ${MAX_UNIT_FILES} by name are read`);
    files = files.slice(0, MAX_UNIT_FILES);
  }
  const units: ConfigSources["units"] = [];
  const masked: { name: string; file: string }[] = [];
  for (const [name, file] of files) {
    const read = readConfigFile(file);
    // A mask (a link to /dev/null) is not a regular file: looked for only then, no syscall more per file at boot.
    if ("problem" in read && isMaskLink(file)) masked.push({ name, file });
    else if ("problem" in read) problem(file, read.problem, "error", name); // that unit is not loaded
    else if ("text" in read) units.push({ name, file, text: read.text });
  }
  const dropInFiles = dropInFilesOf(perLayer, (file, message, severity) => problem(file, message, severity ?? "error"), MAX_UNIT_FILES);
  const dropIns = readDropIns(dropInFiles, (file, unit) => readOptional(file, (path, message) => problem(path, message, "error", unit)));
  return { system, units, diagnostics, dropIns, masked };
}

const SYSTEMD_UNIT_SUFFIXES = [".service", ".socket", ".target", ".mount", ".timer"];

/** The file's text; null if it does not exist, or cannot be read (which is reported). */
function readOptional(path: string, problem: (file: string, message: string) => void): string | null {
  const read = readConfigFile(path);
  if ("problem" in read) problem(path, read.problem);
  return "text" in read ? read.text : null;
}

function errorCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
