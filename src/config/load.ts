// Loading the configuration: system.toml and units/*.toml, each validated against the
// schema, then the unit graph checked as a whole. Everything here is pure except
// readConfigDir, the one reader of the filesystem.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import type {
  Condition, Diagnostic, LoadedConfig, ManagerSection, MountEntry, Rlimit, ServiceSection, SocketSection,
  SystemConfig, UnitConfig, UnitSection, WatchdogSection,
} from "./types.ts";
import { RLIMITS, type TableName } from "./schema.ts";
import { FileReport, formatDiagnostic, type Site } from "./diagnostics.ts";
import { nestingTooDeep, scanPositions } from "./positions.ts";
import { hostEnv, memoizedEnv, type LoadEnv } from "./commands.ts";
import { parseToml, readSection, readTables, withDefaults } from "./sections.ts";
import { isBuiltinTarget } from "./builtins.ts";
import { isValidUnitName } from "./values.ts";
import { quote } from "./describe.ts";
import { resolveGraph, type UnitFile } from "./graph.ts";
import { sandboxProblems } from "./sandbox-check.ts";
import { readConfigFile } from "./read-file.ts";

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
  name: string, text: string, file: string, system: SystemConfig, env: LoadEnv = hostEnv,
): { unit: UnitConfig | null; diagnostics: Diagnostic[] } {
  const { unit, report } = parseUnitFile(name, text, file, system, env);
  return { unit: report.hasErrors ? null : unit, diagnostics: report.diagnostics };
}

function parseUnitFile(name: string, text: string, file: string, system: SystemConfig, env: LoadEnv): UnitFile {
  const report = new FileReport(file, () => scanPositions(text), env, name);
  if (!isValidUnitName(name)) {
    report.at("").error(`${quote(name)} is not a valid unit name (letters, digits and _ . @ : -): rename the file`);
  }
  const doc = parseToml(text, report, nestingTooDeep(text));
  if (doc === undefined) return { name, report, unit: null };

  const tables = readTables(doc, "unit", report);
  const manager = system.manager;
  const unit = readTable<UnitSection>("unit", tables.get("unit"), manager, report.at("unit"));
  const service = tables.has("service") ? readService(tables.get("service") as Record<string, unknown>, manager, report.at("service")) : null;
  const sockets = ((tables.get("socket") ?? []) as Record<string, unknown>[]).map((raw, index) =>
    readSocket(raw, report.at(`socket[${index}]`), name, manager, service !== null));

  if (service) checkService(service, sockets, report);
  if (isBuiltinTarget(name)) checkBuiltinExtension(name, tables, report);

  // Kept even with errors, so that the graph check can still report bad references.
  const conditions = gatherConditions(unit, tables.get("unit"));
  return { name, report, unit: conditions.length > 0 ? { name, file, unit, service, sockets, conditions } : { name, file, unit, service, sockets } };
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
  // systemd: notify services, and services with a watchdog, let their main process talk.
  service.notify_access ??= service.type === "notify" || service.watchdog_sec > 0 ? "main" : "none";
  // systemd: stdout follows a terminal or socket stdin, else goes to the journal (the unit's log).
  service.standard_output ??= service.standard_input === "tty" || service.standard_input === "socket" ? "inherit" : "journal";
  return service;
}

/** [resource, its key]: ["nofile", "limit_nofile"]. */
const LIMIT_KEYS = Object.keys(RLIMITS).map((resource) => [resource, `limit_${resource}`] as const);

const LISTEN_KEYS = ["listen_stream", "listen_datagram", "listen_sequential_packet", "listen_fifo"] as const;

function readSocket(raw: Record<string, unknown>, site: Site, unitName: string, manager: ManagerSection, hasService: boolean): SocketSection {
  const values = readWithDefaults("socket", raw, manager, site);
  for (const key of LISTEN_KEYS) if (values[key] === null) delete values[key];
  values.fd_name ??= unitName;
  values.service ??= unitName;
  const socket = values as SocketSection;

  // Rules that involve more than one key.
  const listens = LISTEN_KEYS.filter((key) => key in raw);
  if (listens.length === 0) site.error(`needs one of ${LISTEN_KEYS.join(", ")}`, "key");
  for (const extra of listens.slice(1)) {
    site.entry(extra).error(`one [[socket]] listens once: '${listens[0]}' is already set; add another [[socket]]`, "key");
  }
  if (socket.accept && (socket.listen_datagram !== undefined || socket.listen_fifo !== undefined)) {
    site.entry("accept").error("accept = true works with stream and sequential packet sockets only");
  }
  const packet = socket.listen_sequential_packet;
  if (packet !== undefined && !packet.startsWith("/") && !packet.startsWith("@")) {
    site.entry("listen_sequential_packet").error("sequential packet sockets are unix sockets: give a path or @abstract");
  }
  if (!hasService && socket.service === unitName) {
    site.error('a unit without [service] has nothing to activate: name the unit with service = "..."', "key");
  }
  return socket;
}

/** Rules that involve more than one key of [service], or the sockets. */
function checkService(service: ServiceSection, sockets: SocketSection[], report: FileReport): void {
  const at = (key: string) => report.at(`service.${key}`);
  if (service.type === "oneshot" && (service.restart === "always" || service.restart === "on-success")) {
    at("restart").error(`a oneshot service cannot have restart = "${service.restart}" (use on-failure)`);
  }
  if (service.notify_access === "none" && service.type === "notify") {
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
  for (const table of ["service", "socket"] as const) {
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
}

export interface LoadOptions {
  env?: LoadEnv;
}

/** Reads and validates CONFDIR/system.toml and CONFDIR/units/*.toml. */
export function loadConfig(confDir: string, opts: LoadOptions = {}): LoadedConfig {
  return buildConfig(readConfigDir(confDir), opts.env ?? hostEnv); // under src/main.ts's JIT policy
}

/** Validates configuration texts. Pure: the filesystem is only asked about programs, through env. */
export function buildConfig(sources: ConfigSources, hostOrTestEnv: LoadEnv = hostEnv): LoadedConfig {
  const env = memoizedEnv(hostOrTestEnv);
  const systemFile = sources.system
    ? parseSystemFile(sources.system.text, sources.system.file)
    : { system: defaultSystemConfig(), report: new FileReport("", new Map(), env) };
  const unitFiles = sources.units.map(({ name, file, text }) => parseUnitFile(name, text, file, systemFile.system, env));
  const { units, system, notFound } = resolveGraph(unitFiles, systemFile.system, systemFile.report);

  const reports = [systemFile.report, ...unitFiles.map((f) => f.report)];
  const diagnostics = [...sources.diagnostics, ...sortByPlace(reports.flatMap((r) => r.diagnostics), reports)];
  return { system, units, diagnostics, notFound };
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

export function readConfigDir(confDir: string): ConfigSources {
  const diagnostics: Diagnostic[] = [];
  const problem = (file: string, message: string, severity: Diagnostic["severity"] = "error", unit?: string) =>
    diagnostics.push({ file, line: 0, col: 0, message, severity, ...(unit === undefined ? {} : { unit }) });

  const systemPath = join(confDir, "system.toml");
  const systemText = readOptional(systemPath, problem);
  const system = systemText === null ? null : { file: systemPath, text: systemText };

  const unitsDir = join(confDir, "units");
  let entries: string[] = [];
  try {
    entries = readdirSync(unitsDir).sort();
  } catch (e) {
    if (errorCode(e) !== "ENOENT") problem(unitsDir, `cannot read: ${errorText(e)}`);
    else if (systemText === null) problem(confDir, "no system.toml and no units/: only the built-in targets exist", "warning");
  }
  const units: ConfigSources["units"] = [];
  const tomls = entries.filter((e) => e.endsWith(".toml"));
  if (tomls.length > MAX_UNIT_FILES) {
    // Bounded like every other input: 256 KiB each, this many files at most.
    problem(unitsDir, `${tomls.length} unit files: only the first ${MAX_UNIT_FILES} by name are read`);
    const kept = new Set(tomls.slice(0, MAX_UNIT_FILES));
    entries = entries.filter((e) => !e.endsWith(".toml") || kept.has(e));
  }
  for (const entry of entries) {
    // What join() would make of it (unitsDir is normalized, an entry has no "/"), without its
    // character-by-character normalizing, which costs at boot in the interpreter.
    const file = `${unitsDir}/${entry}`;
    if (!entry.endsWith(".toml")) {
      if (SYSTEMD_UNIT_SUFFIXES.some((suffix) => entry.endsWith(suffix))) {
        problem(file, "ignored: a systemd unit file; write it as NAME.toml (docs/configuration.md: keys are the snake_case forms of systemd's directives)", "warning");
      }
      continue;
    }
    const name = entry.slice(0, -".toml".length);
    const text = readOptional(file, (path, message) => problem(path, message, "error", name)); // that unit is not loaded
    if (text !== null) units.push({ name, file, text });
  }
  return { system, units, diagnostics };
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
