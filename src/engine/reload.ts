// daemon-reload, the engine's half: the configuration read again (and validated whole by
// the shell) replaces the old one, and this decides what that does to each unit.
//
//   added     loaded; started at once when a unit that is active (or starting) pulls it
//             in (a target's wants, its own wanted_by). systemd loads it and starts
//             nothing: hearth follows its issue #14 here, so that a unit dropped into
//             /etc runs after a reload as it would after a reboot.
//   removed   stopped (with what requires it, as a stop job does), then forgotten with
//             its sockets and output pipe once down. Instances made at run time are not
//             the configuration's and stay.
//   changed   down (inactive or failed, no job), or running nothing (a target, a device,
//             an accept = true socket unit): the new configuration at once. Running:
//             marked "changed on disk" and kept as it is (same processes, same sockets)
//             until it next goes down (or waits for an automatic restart); its dependencies are the new ones at once
//             (systemd: the unit's new settings apply to what it does next).
//   same      untouched.
// Sockets are re-made when a unit's [[socket]] entries changed, when its new
// configuration applies.

import type { UnitCatalog, UnitConfig } from "../config/types.ts";
import type { ActiveState, Effect } from "./types.ts";

/** What reload decisions need of the engine. */
export interface ReloadPort {
  /** The configuration's units now (run-time instances aside): the one changed on disk where there is one. */
  configured(): Map<string, UnitConfig>;
  /** What the unit runs on now. */
  current(name: string): UnitConfig;
  pending: Map<string, UnitConfig>; // changed on disk while up: applied once down
  removing: Set<string>; // gone from the configuration, stopping
  state(name: string): { active: ActiveState; job: boolean };
  /** A target, a device, an accept = true socket unit, before and after: nothing of it runs on its configuration. */
  runsNothing(name: string, next: UnitConfig): boolean;
  add(cfg: UnitConfig): void;
  /** The new configuration of a unit that is down, now (its sockets re-made when they changed). */
  apply(name: string, cfg: UnitConfig): void;
  forget(name: string): void;
  rebuildGraph(): void;
  pulledInByActive(name: string): boolean;
  start(name: string): void;
  stop(name: string): void;
  setLookups(notFound: { has(name: string): boolean }, catalog: UnitCatalog | null): void;
  emit(e: Effect): void;
}

/** The same configuration, as far as the engine is concerned. */
export function sameConfig(a: UnitConfig, b: UnitConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function replaceConfiguration(port: ReloadPort, units: Map<string, UnitConfig>, notFound: { has(name: string): boolean }, catalog: UnitCatalog | null): void {
  const before = port.configured();
  const log = (text: string) => port.emit({ type: "manager-log", level: "info", text });
  const down = (name: string) => {
    const s = port.state(name);
    return !s.job && (s.active === "inactive" || s.active === "failed");
  };
  const appliesNow = (name: string, next: UnitConfig) => down(name) || port.runsNothing(name, next);
  port.setLookups(notFound, catalog);
  const added: string[] = [], removed: string[] = [], changed: string[] = [], marked: string[] = [];

  for (const [name, cfg] of units) {
    const old = before.get(name);
    if (old === undefined) {
      port.removing.delete(name); // removed by an earlier reload, back before it was down
      port.add(cfg);
      added.push(name);
    } else if (sameConfig(old, cfg)) {
      port.removing.delete(name);
    } else if (sameConfig(port.current(name), cfg)) {
      port.pending.delete(name); // changed, then changed back before its next start
    } else if (appliesNow(name, cfg)) {
      port.pending.delete(name);
      port.apply(name, cfg);
      changed.push(name);
    } else {
      port.pending.set(name, cfg);
      marked.push(name);
    }
  }
  for (const name of before.keys()) {
    if (units.has(name) || port.removing.has(name)) continue;
    port.pending.delete(name);
    port.removing.add(name);
    removed.push(name);
  }
  port.rebuildGraph();
  for (const name of removed) if (!down(name)) port.stop(name);
  collectRemoved(port);
  for (const name of added) if (port.pulledInByActive(name)) port.start(name);

  for (const name of marked) log(`Reloading: ${name} changed on disk; it keeps running as it is and takes the new configuration at its next start`);
  for (const name of removed) log(`Reloading: ${name} is gone from the configuration: ${down(name) ? "removed" : "stopping it"}`);
  for (const name of added) log(`Reloading: ${name} is new`);
  for (const name of changed) log(`Reloading: ${name} changed; nothing of it runs on the old configuration, so the new one applies now`);
  port.emit({
    type: "manager-log", level: "notice",
    text: `Reloaded the configuration: ${added.length} new, ${removed.length} removed, ${changed.length + marked.length} changed (${marked.length} until their next start), ${units.size - added.length - changed.length - marked.length} as they were`,
  });
}

/**
 * A unit changed on disk went down, or is between two runs of an automatic restart (no
 * process of it left): its new configuration applies now, as systemd's restart uses it.
 */
export function settleChanged(port: ReloadPort, name: string, active: ActiveState, sub: string): void {
  const cfg = port.pending.get(name);
  if (cfg === undefined || (active !== "inactive" && active !== "failed" && sub !== "auto-restart")) return;
  port.pending.delete(name);
  port.apply(name, cfg);
  port.emit({ type: "manager-log", level: "info", text: `${name} is down: it takes the configuration changed on disk` });
}

/** Units removed by a reload that are down now: forgotten. */
export function collectRemoved(port: ReloadPort): void {
  for (const name of [...port.removing]) {
    const s = port.state(name);
    if (s.job || (s.active !== "inactive" && s.active !== "failed")) continue;
    port.removing.delete(name);
    port.forget(name);
  }
}
