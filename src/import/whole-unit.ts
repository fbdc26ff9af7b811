// The hearth unit as a whole, after its directives are converted one by one: the defaults
// systemd derives from other keys, and a load as `hearth check` does it.

import { DefaultRule, keysOf } from "../config/schema.ts";
import { buildConfig } from "../config/load.ts";
import type { Note } from "./convert.ts";
import { renderUnit, type HearthUnit } from "./render.ts";
import type { Assignment } from "./unit-file.ts";

/**
 * systemd's defaults that depend on other keys: with no Type=, a service with BusName= is
 * dbus and one with no ExecStart= (only ExecStop=, say) is oneshot; a oneshot may have no
 * ExecStart=, which hearth wants: /bin/true does the same nothing; and a oneshot has no
 * start timeout unless it sets one. Returns why the dbus
 * type could not be given, if it could not.
 */
export function impliedType(service: Record<string, unknown>): string | null {
  if (Object.keys(service).length === 0) return null; // a target
  const types = keysOf("service").get("type")?.type;
  const known = (t: string) => types?.kind === "enum" && types.values.includes(t);
  let problem: string | null = null;
  if (service.type === undefined && service.bus_name !== undefined) {
    if (known("dbus")) service.type = "dbus";
    else problem = "with no Type=, BusName= makes a dbus service; hearth's type has no dbus: it starts as simple";
  }
  if (service.type === undefined && service.exec_start === undefined) service.type = "oneshot";
  const required = keysOf("service").get("exec_start")?.default === DefaultRule.required;
  if (required && service.exec_start === undefined && service.type === "oneshot") service.exec_start = ["/bin/true"];
  // systemd: "Oneshot services have disabled start timeout by default" (service.c).
  if (service.type === "oneshot" && service.timeout_start_sec === undefined) service.timeout_start_sec = "infinity";
  return problem;
}

/**
 * What reads value by value may still not load as a whole (standard_input = "socket"
 * without accept = true; a template's socket without accept = true): load the unit as
 * `hearth check` would, and drop each key an error names (or the [[socket]] it names),
 * reporting it at the directives it came from. Errors about the unit as a whole are left
 * for `hearth check` to show.
 */
export function settle(unit: HearthUnit, source: string, notes: Note[]): void {
  const report = (origin: string, why: string) => {
    for (const a of unit.origins.get(origin) ?? []) {
      notes.push({ kind: "dropped", file: a.file, line: a.line, key: a.key, value: a.value, why, source, group: a.value.length <= 24 ? `${a.key}=${a.value}` : a.key });
    }
  };
  for (let round = 0; round < 50; round++) {
    // Loaded as `hearth check` loads a config dir holding it alone (a template as an instance of it).
    const file = `units/${unit.name}.toml`;
    const sources = { system: null, units: [{ name: unit.name, file, text: renderUnit(unit) }], diagnostics: [] };
    const diagnostics = buildConfig(sources, { isExecutable: () => true, exists: () => true }).diagnostics.filter((d) => d.file === file);
    const fixed = diagnostics.some((d) => d.severity === "error" && (dropSocket(unit, d.message, report) || dropKey(unit, d.message, report)));
    if (!fixed) return;
  }
}

type Report = (origin: string, why: string) => void;

/** "socket[N]: why": that [[socket]] goes, its listen line reported. */
function dropSocket(unit: HearthUnit, message: string, report: Report): boolean {
  const at = /^socket\[(\d+)\]: (.*)$/s.exec(message);
  if (!at || unit.sockets[Number(at[1])] === undefined) return false;
  const index = Number(at[1]);
  for (const key of Object.keys(unit.sockets[index]!)) if (key.startsWith("listen_")) report(`socket[${index}].${key}`, at[2]!);
  unit.sockets.splice(index, 1);
  // The sockets after it move up one.
  const origins = new Map<string, Assignment[]>();
  for (const [key, from] of unit.origins) {
    const m = /^socket\[(\d+)\]\.(.*)$/.exec(key);
    if (!m) origins.set(key, from);
    else if (Number(m[1]) !== index) origins.set(`socket[${Number(m[1]) > index ? Number(m[1]) - 1 : m[1]}].${m[2]}`, from);
  }
  unit.origins = origins;
  return true;
}

/** "KEY: why" or "socket[N].KEY: why": that key goes. */
function dropKey(unit: HearthUnit, message: string, report: Report): boolean {
  const at = /^(socket\[(\d+)\]\.)?([a-z_0-9]+)(\[\d+\])*: (.*)$/s.exec(message);
  if (!at) return false;
  const [, , index, key, , why] = at;
  const table = index !== undefined ? unit.sockets[Number(index)] : key! in unit.tables.service ? unit.tables.service : key! in unit.tables.unit ? unit.tables.unit : undefined;
  if (table === undefined || !(key! in table)) return false;
  delete table[key!];
  report(index !== undefined ? `socket[${index}].${key}` : `${table === unit.tables.service ? "service" : "unit"}.${key}`, why!);
  return true;
}
