// What the manager follows outside the engine and reports to it as events: the syslog
// socket and /dev/kmsg, the owners of bus names (type = "dbus"), the kernel's devices
// (device units), the clocks and watched paths (timer and path units). The manager
// talks to them through one port (Watchers): it calls it at fixed points of its life
// (start, reload, an effect, before reaping, close) and never names a feature, so a new
// one is a new entry in makeWatchers(), not a new block in ./manager.ts.
import { join } from "node:path";
import type { UnitConfig } from "../config/types.ts";
import type { Effect, EngineEvent } from "../engine/types.ts";
import type { Logger } from "../log/manager-log.ts";
import { TriggerShell } from "../timers/shell.ts";
import { watchBusNames } from "./bus-names.ts";
import { watchDevices } from "./devices.ts";
import type { ManagerHost } from "./host.ts";
import { startSystemLogs } from "./system-logs-wiring.ts";
import type { UnitOutputs } from "./unit-output.ts";

/**
 * When a watcher is set up in the manager's start(): "logs" before the listening sockets
 * are made (the syslog socket is there before any unit's), "jobs" before the target's
 * jobs are asked for, "devices" after them (what the devices there pull in is ordered
 * with the boot).
 */
export type WatcherPhase = "logs" | "jobs" | "devices";

/** The port the manager sees. */
export interface Watchers {
  start(phase: WatcherPhase): void;
  /** daemon-reload: follow what the new configuration names. */
  reconfigure(units: Map<string, UnitConfig>): void;
  /** An effect that is a watcher's (./manager.ts routes them here); the others are ignored. */
  perform(e: Effect): void;
  /** Before exits are reaped: take in what waits, while its pid still names its unit. */
  drain(): void;
  close(): void;
}

export interface WatcherDeps {
  host: ManagerHost;
  log: Logger;
  dispatch: (e: EngineEvent) => void;
  outputs: UnitOutputs;
  unitLogger: (unit: string) => Logger;
  unitOf: (pid: number) => string | null;
  systemMode: boolean;
  runDir: string;
  readKmsg: boolean;
  stateDir: string;
  units: Map<string, UnitConfig>;
}

/** One feature: set up in its phase; the other hooks as it needs them. */
interface Watcher {
  phase: WatcherPhase;
  start(units: Map<string, UnitConfig>): void;
  reconfigure?(before: Map<string, UnitConfig>, after: Map<string, UnitConfig>): void;
  perform?(e: Effect): void;
  drain?(): void;
  close(): void;
}

export function makeWatchers(d: WatcherDeps): Watchers {
  let units = d.units;
  const list = [systemLogs(d), busNames(d), triggers(d), devices(d)];
  return {
    start: (phase) => {
      for (const w of list) if (w.phase === phase) w.start(units);
    },
    reconfigure: (next) => {
      const before = units;
      units = next;
      for (const w of list) w.reconfigure?.(before, next);
    },
    perform: (e) => {
      for (const w of list) w.perform?.(e);
    },
    drain: () => {
      for (const w of list) w.drain?.();
    },
    close: () => {
      for (const w of list) w.close();
    },
  };
}

function systemLogs(d: WatcherDeps): Watcher {
  let handle: ReturnType<typeof startSystemLogs> | null = null;
  return {
    phase: "logs",
    start: () => {
      handle = startSystemLogs({
        host: d.host, log: d.log, outputs: d.outputs, systemMode: d.systemMode, runDir: d.runDir,
        readKmsg: d.readKmsg, unitLogger: d.unitLogger, unitOf: d.unitOf,
      });
    },
    drain: () => handle?.drain(),
    close: () => handle?.close(),
  };
}

/** type = "dbus": who owns the units' bus names; followed anew when a reload changes the names. */
function busNames(d: WatcherDeps): Watcher {
  let bus: ReturnType<typeof watchBusNames> = null;
  const watch = (units: Map<string, UnitConfig>) => {
    bus = watchBusNames(d.host, units.values(), process.env, d.log, d.dispatch);
    bus?.kick();
  };
  return {
    phase: "jobs",
    start: watch,
    reconfigure: (before, after) => {
      if (followed(after, (c) => c.service?.bus_name) === followed(before, (c) => c.service?.bus_name)) return;
      bus?.close();
      watch(after);
    },
    perform: (e) => {
      // A unit up may be the bus: connect now rather than at the next retry.
      if (e.type === "state-changed" && e.active === "active") bus?.kick();
    },
    close: () => bus?.close(),
  };
}

/** Timer and path units: the engine's arm/watch effects performed, the first clock event sent before any timer starts. */
function triggers(d: WatcherDeps): Watcher {
  const host = d.host;
  const shell = new TriggerShell({
    now: () => host.now(), wallNow: () => host.wallNow(), sinceBootMs: () => host.sinceBootMs?.() ?? host.now(),
    setTimer: (ms, fn) => host.setTimer(ms, fn), clearTimer: (h) => host.clearTimer(h), reactor: host.reactor,
    realtime: host.realtimeTimer ?? null, conditionFacts: host.conditionFacts, dispatch: d.dispatch,
    log: d.log, stampDir: join(d.stateDir, "hearth/timers"),
  }, d.units.values());
  return {
    phase: "jobs",
    start: () => d.dispatch(shell.clockEvent()),
    perform: (e) => {
      switch (e.type) {
        case "arm-timer": case "disarm-timer": case "timer-stamp": case "watch-paths": case "unwatch-paths":
          return shell.perform(e);
      }
    },
    close: () => shell.close(),
  };
}

/** Device units: the kernel's devices, followed anew when a reload changes the device units. */
function devices(d: WatcherDeps): Watcher {
  let watcher: ReturnType<typeof watchDevices> = null;
  const watch = (units: Map<string, UnitConfig>) => {
    watcher = watchDevices(d.host, units.values(), d.log, d.dispatch);
  };
  return {
    phase: "devices",
    start: watch,
    reconfigure: (before, after) => {
      if (followed(after, (c) => (c.device ? c.name : null)) === followed(before, (c) => (c.device ? c.name : null))) return;
      watcher?.close();
      watch(after);
    },
    close: () => watcher?.close(),
  };
}

/** What the units name of one kind (bus names, device units), as one comparable string. */
function followed(units: Map<string, UnitConfig>, pick: (cfg: UnitConfig) => string | null | undefined): string {
  const names: string[] = [];
  for (const cfg of units.values()) {
    const name = pick(cfg);
    if (name) names.push(name);
  }
  return names.sort().join("\n");
}
