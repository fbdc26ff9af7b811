// daemon-reexec, the engine's half: everything the engine knows, as text the next hearth
// binary reads back (systemd's manager_serialize / manager_deserialize). Pure: the shell
// carries the text (and the fds the state names) across execve(2).
//
// The engine clock must run on across the exec (the shell continues it from
// CLOCK_MONOTONIC), so that deadlines, restart windows and crash records keep their times.
// Jobs stay as they were (systemd serialises its jobs too); the control requests waiting
// for them do not survive (their connections are the old process's).
//
// A state this binary cannot read (another version, not this format) is refused with the
// reason: the shell then starts afresh and adopts nothing.

import type { UnitConfig } from "../config/types.ts";

/** Bumped whenever a field's meaning changes: a state of another version is not read. */
export const ENGINE_STATE_VERSION = 1;

/** The most text a state may be (a corrupt length must not make PID 1 allocate without bound). */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

export interface EngineState {
  format: "hearth-engine-state";
  version: number;
  now: number; // the engine clock when it was taken
  engine: Record<string, unknown>;
  activation: Record<string, unknown>;
  triggers: Record<string, unknown>;
}

// JSON with Maps and Sets (the engine's records hold both), tagged so they come back as such.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Map) return { $map: [...value.entries()] };
  if (value instanceof Set) return { $set: [...value] };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$map" && Array.isArray((value as { $map: unknown }).$map)) return new Map((value as { $map: [unknown, unknown][] }).$map);
    if (keys.length === 1 && keys[0] === "$set" && Array.isArray((value as { $set: unknown }).$set)) return new Set((value as { $set: unknown[] }).$set);
  }
  return value;
}

export function encodeState(state: EngineState): string {
  return JSON.stringify(state, replacer);
}

/** The state in `text`, or why it cannot be read by this binary. */
export function decodeState(text: string): { state: EngineState } | { error: string } {
  if (text.length > MAX_STATE_BYTES) return { error: `the state is ${text.length} bytes, more than ${MAX_STATE_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (e) {
    return { error: `the state is not readable: ${(e as Error).message}` };
  }
  const s = value as Partial<EngineState> | null;
  if (s === null || typeof s !== "object" || s.format !== "hearth-engine-state") return { error: "the state is not a hearth engine state" };
  if (s.version !== ENGINE_STATE_VERSION) return { error: `the state is of version ${String(s.version)}, this hearth reads version ${ENGINE_STATE_VERSION}` };
  if (typeof s.now !== "number" || !Number.isFinite(s.now)) return { error: "the state has no clock reading" };
  for (const part of ["engine", "activation", "triggers"] as const) {
    if (s[part] === null || typeof s[part] !== "object") return { error: `the state has no ${part} part` };
  }
  const units = s.engine!.units;
  if (!(units instanceof Map) || [...units.values()].some((u) => u === null || typeof u !== "object" || typeof (u as { cfg?: { name?: unknown } }).cfg?.name !== "string")) {
    return { error: "the state's units are malformed" };
  }
  return { state: s as EngineState };
}

/**
 * The named fields of a record (an Engine, its SocketActivation, its Triggers: each lists
 * its own, private ones included, so nothing is serialised that it did not name).
 */
export function pick(from: object, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = (from as Record<string, unknown>)[f];
  return out;
}

/** The named fields of a decoded part into `into`; a field missing from the state is an error (nothing is placed then). */
export function place(into: object, from: Record<string, unknown>, fields: readonly string[], part: string): void {
  for (const f of fields) if (!(f in from)) throw new Error(`the state's ${part} part has no ${f}`);
  for (const f of fields) {
    const target = (into as Record<string, unknown>)[f], value = from[f];
    // A Map or Set others hold a reference to (a port's) is refilled, not replaced.
    if (target instanceof Map && value instanceof Map) {
      target.clear();
      for (const [k, v] of value) target.set(k, v);
    } else if (target instanceof Set && value instanceof Set) {
      target.clear();
      for (const v of value) target.add(v);
    } else if ((target instanceof Map || target instanceof Set) !== (value instanceof Map || value instanceof Set)) {
      throw new Error(`the state's ${part} part has a malformed ${f}`);
    } else (into as Record<string, unknown>)[f] = value;
  }
}

/** The configuration each unit of the state ran on (instances made at run time included): the engine is rebuilt on it. */
export function configsOf(state: EngineState): Map<string, UnitConfig> {
  const out = new Map<string, UnitConfig>();
  for (const [name, u] of state.engine.units as Map<string, { cfg: UnitConfig }>) out.set(name, u.cfg);
  return out;
}
