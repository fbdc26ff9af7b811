// Drives the engine as the shell does, without processes: fake pids, a virtual clock,
// sockets made on request, and a fake cgroup tree that answers the engine's questions
// about a unit's processes; records every effect in order.
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent, ExitStatus, JobType, TimerKind } from "../../src/engine/types.ts";
import type { UnitConfig } from "../../src/config/types.ts";
import type { NotifyMessage } from "../../src/engine/notify-message.ts";
import { acceptTemplates, configs } from "./units.ts";
import { fakeConditionFacts } from "./fake-host.ts";
import { testCondition } from "../../src/engine/conditions.ts";

export const MANAGER_PID = 4000;

/** A notify message with every flag off, plus `over`. */
export function notifyMessage(over: Partial<NotifyMessage> = {}): NotifyMessage {
  return { ready: false, reloading: false, stopping: false, fdStore: false, fdStoreRemove: false, barrier: false, unknown: [], warnings: [], ...over };
}

export class EngineSim {
  now = 0;
  nextPid = 100;
  effects: Effect[] = [];
  spawned: { unit: string; role: string; pid: number; argv: string[] }[] = [];
  timers = new Map<string, { at: number; id: number; unit: string; kind: TimerKind }>();
  failSpawn = new Set<string>();
  /** Programs (argv[0]) whose spawn fails, whichever unit runs them. */
  failProgram = new Set<string>();
  /** What the fake cgroup tree holds for a unit when the engine asks for its main pid. */
  cgroup = new Map<string, { candidates: number[]; populated: boolean }>();
  /** Units whose cgroup the engine asked to be told about when it empties. */
  watched = new Set<string>();
  /** Sockets the engine wants watched ("unit/index"). */
  readonly watching = new Set<string>();
  engine: Engine;
  /** Paths that exist for conditions (see fakeConditionFacts). */
  readonly paths = new Set<string>();
  readonly conditionFacts = fakeConditionFacts(this.paths);
  /** Keep the answers to check-conditions in heldChecks, to send later (or never). */
  holdConditionChecks = false;
  readonly heldChecks: EngineEvent[] = [];

  constructor(...units: Parameters<typeof configs>) {
    this.engine = new Engine(configs(...units), 0, String, null, MANAGER_PID, new Set(), acceptTemplates(units));
  }

  /**
   * The units, and the target whose first start is the start-up ("startup-finished");
   * notFound: names the units give that match no unit (the loader's LoadedConfig.notFound).
   */
  static from(units: UnitConfig[], target: string | null = null, notFound: string[] = []): EngineSim {
    const sim = new EngineSim();
    sim.engine = new Engine(configs(...units), 0, String, target, MANAGER_PID, new Set(notFound), acceptTemplates(units));
    return sim;
  }

  send(ev: EngineEvent) {
    const queue = [ev];
    while (queue.length) {
      const out = this.engine.handle(queue.shift()!, this.now);
      for (const e of out) {
        this.effects.push(e);
        if (e.type === "spawn") {
          if (this.failSpawn.has(e.unit) || this.failProgram.has(e.command.argv[0]!)) {
            queue.push({ type: "spawn-failed", unit: e.unit, role: e.role, error: "No such file or directory" });
          } else {
            const pid = this.nextPid++;
            this.spawned.push({ unit: e.unit, role: e.role, pid, argv: e.command.argv });
            queue.push({ type: "spawned", unit: e.unit, role: e.role, pid });
          }
        } else if (e.type === "set-timer") {
          this.timers.set(`${e.unit}/${e.kind}`, { at: this.now + e.ms, id: e.id, unit: e.unit, kind: e.kind });
        } else if (e.type === "clear-timer") {
          this.timers.delete(`${e.unit}/${e.kind}`);
        } else if (e.type === "find-main-pid") {
          const found = this.cgroup.get(e.unit) ?? { candidates: [], populated: false };
          queue.push({ type: "main-pid-guess", unit: e.unit, ...found });
        } else if (e.type === "watch-cgroup") {
          this.watched.add(e.unit);
        } else if (e.type === "check-conditions") {
          const answer: EngineEvent = { type: "conditions-checked", unit: e.unit, id: e.id, results: e.conditions.map((c) => testCondition(c, this.conditionFacts)) };
          if (this.holdConditionChecks) this.heldChecks.push(answer);
          else queue.push(answer);
        } else if (e.type === "retry-sockets") {
          queue.push({ type: "sockets-opened", units: e.units, failed: [] });
        } else if (e.type === "listen") {
          if (e.on) this.watching.add(`${e.unit}/${e.index}`);
          else this.watching.delete(`${e.unit}/${e.index}`);
        }
      }
    }
  }

  start(unit: string, requestId = 1) { this.send({ type: "request", job: "start", unit, requestId }); }
  stop(unit: string, requestId = 2) { this.send({ type: "request", job: "stop", unit, requestId }); }
  request(job: JobType, unit: string, requestId = 3) {
    this.send({ type: "request", job, unit, requestId });
  }
  rt(unit: string) { return this.engine.units.get(unit)!.service!; }
  mainPid(unit: string) { return this.rt(unit).mainPid!; }
  exit(unit: string, status: ExitStatus = { kind: "exited", code: 0 }) { this.send({ type: "exited", pid: this.mainPid(unit), status }); }
  /** A datagram from `pid`, a process of `unit`'s cgroup; inUnit: the MAINPID= it names is one too. */
  notify(unit: string, msg: Partial<NotifyMessage>, pid = this.mainPid(unit), opts: { uid?: number; inUnit?: boolean; alive?: boolean } = {}) {
    const full = notifyMessage(msg);
    const claimed = full.mainPid === undefined ? null
      : { pid: full.mainPid, cgroupUnit: opts.inUnit ? unit : null, sid: null, pgid: null, alive: opts.alive ?? true };
    this.send({
      type: "notify", pid, uid: opts.uid ?? 1000, msg: full, fds: [],
      origin: { pid, cgroupUnit: unit, sid: null, pgid: null, alive: true }, claimed,
    });
  }
  /** The fake cgroup of a watched unit became empty. */
  cgroupEmptied(unit: string) {
    if (!this.watched.delete(unit)) return;
    this.send({ type: "cgroup-empty", unit });
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
  state(unit: string) { return this.engine.activeState(unit); }
  sub(unit: string) { return this.engine.subState(unit); }
  jobResults(unit: string) {
    return this.effects.filter((e) => e.type === "job-finished" && e.unit === unit).map((e) => (e as { result: string }).result);
  }
  kills(unit: string) { return this.effects.filter((e) => e.type === "kill" && e.unit === unit) as Extract<Effect, { type: "kill" }>[]; }
  logs(unit: string, level?: string) {
    return this.effects.filter((e): e is Extract<Effect, { type: "log" }> => e.type === "log" && e.unit === unit && (level === undefined || e.level === level)).map((e) => e.text);
  }
  spawnOrder() { return this.spawned.filter((s) => s.role === "main").map((s) => s.unit); }
  active(unit: string) { return this.engine.snapshot(unit)?.active ?? null; }

  /** Effects since `from` (an index into effects), of one type. */
  of<T extends Effect["type"]>(type: T, from = 0): Extract<Effect, { type: T }>[] {
    return this.effects.slice(from).filter((e) => e.type === type) as Extract<Effect, { type: T }>[];
  }

  /** "spawn web", "kill-leftovers db"...: the effects since `from` that name a unit, as one line each. */
  trace(from = 0, types: Effect["type"][] = ["spawn", "kill-leftovers", "remove-cgroup", "instance-removed", "release-fd-store"]): string[] {
    return this.effects.slice(from).filter((e) => types.includes(e.type)).map((e) => `${e.type} ${"unit" in e ? e.unit : ""}`);
  }
}
