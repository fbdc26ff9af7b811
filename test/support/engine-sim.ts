// Plays the shell for the pure engine: pids for spawns, a virtual clock for timers,
// sockets made on request; records every effect in order.
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent, ExitStatus, JobType, TimerKind } from "../../src/engine/types.ts";
import type { UnitConfig } from "../../src/config/types.ts";
import { configs } from "./units.ts";

export class EngineSim {
  now = 0;
  private nextPid = 100;
  readonly effects: Effect[] = [];
  readonly timers = new Map<string, { at: number; id: number; unit: string; kind: TimerKind }>();
  readonly watching = new Set<string>();
  readonly engine: Engine;

  constructor(units: UnitConfig[], target: string | null = null) {
    this.engine = new Engine(configs(...units), 0, String, target);
  }

  send(ev: EngineEvent) {
    const queue = [ev];
    while (queue.length > 0) {
      for (const e of this.engine.handle(queue.shift()!, this.now)) {
        this.effects.push(e);
        if (e.type === "spawn") queue.push({ type: "spawned", unit: e.unit, role: e.role, pid: this.nextPid++ });
        else if (e.type === "set-timer") this.timers.set(`${e.unit}/${e.kind}`, { at: this.now + e.ms, id: e.id, unit: e.unit, kind: e.kind });
        else if (e.type === "clear-timer") this.timers.delete(`${e.unit}/${e.kind}`);
        else if (e.type === "retry-sockets") queue.push({ type: "sockets-opened", units: e.units, failed: [] });
        else if (e.type === "listen") {
          if (e.on) this.watching.add(`${e.unit}/${e.index}`);
          else this.watching.delete(`${e.unit}/${e.index}`);
        }
      }
    }
  }

  request(job: JobType, unit: string, requestId = 1) {
    this.send({ type: "request", job, unit, requestId });
  }

  mainPid(unit: string): number {
    return this.engine.snapshot(unit)!.mainPid!;
  }

  exit(unit: string, status: ExitStatus = { kind: "exited", code: 0 }) {
    this.send({ type: "exited", pid: this.mainPid(unit), status });
  }

  /** Advance the virtual clock, firing due timers in order. */
  advance(ms: number) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(`${due.unit}/${due.kind}`);
      this.now = due.at;
      this.send({ type: "timer", unit: due.unit, kind: due.kind, id: due.id });
    }
    this.now = end;
  }

  active(unit: string) {
    return this.engine.snapshot(unit)?.active ?? null;
  }

  /** Effects since `from` (an index into effects), of one type. */
  of<T extends Effect["type"]>(type: T, from = 0): Extract<Effect, { type: T }>[] {
    return this.effects.slice(from).filter((e) => e.type === type) as Extract<Effect, { type: T }>[];
  }

  /** "spawn web", "kill-leftovers db"...: the effects since `from` that name a unit, as one line each. */
  trace(from = 0, types: Effect["type"][] = ["spawn", "kill-leftovers", "remove-cgroup", "instance-removed", "release-fd-store"]): string[] {
    return this.effects.slice(from).filter((e) => types.includes(e.type)).map((e) => `${e.type} ${"unit" in e ? e.unit : ""}`);
  }
}
