// The service state machine in one table: every sub state × every event that can reach
// it, on the virtual clock. Each cell says the sub state right after the event and the
// one the unit comes to rest in: its processes die of the signals they are sent (SIGCONT
// and SIGHUP excepted), its commands succeed, its main process says READY=1, its timers
// run out. Every cell also checks that the
// engine threw nothing, signalled no pid <= 1 and not the manager, and that a unit at
// rest has no timer left but a restart.
import { describe, expect, test } from "bun:test";
import type { ServiceSection } from "../../src/config/types.ts";
import type { Effect, ExitStatus } from "../../src/engine/types.ts";
import { EngineSim, MANAGER_PID } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const cmd = (path: string) => [{ argv: [path], ignoreFailure: false }];
const ok: ExitStatus = { kind: "exited", code: 0 };

/** A notify service with every command list, a watchdog and restart = on-failure. */
const FULL: Partial<ServiceSection> = {
  type: "notify", notify_access: "all", remain_after_exit: true,
  exec_start_pre: cmd("/bin/pre"), exec_start_post: cmd("/bin/post"),
  exec_reload: cmd("/bin/reload"), exec_stop: cmd("/bin/stop"),
  watchdog_sec: 30, restart: "on-failure", restart_sec: 1,
  timeout_start_sec: 5, timeout_stop_sec: 5, timeout_abort_sec: 5,
  start_limit_burst: 3, start_limit_interval_sec: 100,
};

/** The sim plays processes too: they die of the signals sent to them. */
class Processes extends EngineSim {
  alive = new Map<number, string>(); // pid -> unit
  unkillable = new Set<number>(); // stuck in the kernel (D state): no signal ends them
  onlySigkill = false; // every process ignores the catchable signals
  constructor(svc: Partial<ServiceSection>) {
    super(service("s", svc), service("rival", {}, { conflicts: ["s"] }));
  }
  override send(ev: Parameters<EngineSim["send"]>[0]) {
    const before = this.effects.length;
    super.send(ev);
    for (const e of this.effects.slice(before)) this.perform(e);
  }
  private perform(e: Effect) {
    if (e.type === "spawn") {
      const s = this.spawned[this.spawned.length - 1];
      if (s) this.alive.set(s.pid, s.unit);
    }
    if (e.type !== "kill" || e.signal === 18 || e.signal === 1 || (this.onlySigkill && e.signal !== 9)) return;
    const victims = e.scope === "unit" ? [...this.alive].filter(([, u]) => u === e.unit).map(([p]) => p) : [e.pid];
    for (const pid of victims) if (!this.unkillable.has(pid)) this.die(pid, { kind: "killed", signal: e.signal, coreDumped: e.signal === 6 });
  }
  die(pid: number, status: ExitStatus) {
    if (!this.alive.delete(pid)) return;
    this.send({ type: "exited", pid, status });
  }
  main() { return this.rt("s").mainPid!; }
  control() { return this.rt("s").controlPid!; }
}

const STATES = {
  "dead": () => {},
  "start-pre": (s: Processes) => s.start("s"),
  "start": (s: Processes) => { s.start("s"); s.die(s.control(), ok); },
  "start-post": (s: Processes) => { STATES.start(s); s.notify("s", { ready: true }); },
  "running": (s: Processes) => { STATES["start-post"](s); s.die(s.control(), ok); },
  "exited": (s: Processes) => { STATES.running(s); s.die(s.main(), ok); },
  "reload": (s: Processes) => { STATES.running(s); s.request("reload", "s"); },
  "stop": (s: Processes) => { STATES.running(s); s.stop("s"); },
  "stop-sigterm": (s: Processes) => { STATES.running(s); s.notify("s", { stopping: true }); },
  "stop-sigkill": (s: Processes) => { STATES["stop-sigterm"](s); s.unkillable.add(s.main()); s.advance(5000); },
  "stop-watchdog": (s: Processes) => { STATES.running(s); s.unkillable.add(s.main()); s.notify("s", { watchdog: "trigger" }); },
  "auto-restart": (s: Processes) => { STATES.running(s); s.die(s.main(), { kind: "exited", code: 1 }); },
  "failed": (s: Processes) => { STATES["auto-restart"](s); s.stop("s"); },
} satisfies Record<string, (s: Processes) => void>;

const EVENTS = {
  "reload": (s: Processes) => s.request("reload", "s"),
  "reload timeout": (s: Processes) => { s.request("reload", "s"); s.advance(5000); },
  "STOPPING=1": (s: Processes) => s.notify("s", { stopping: true }, s.rt("s").mainPid ?? 9999),
  "WATCHDOG_USEC=": (s: Processes) => s.notify("s", { watchdogUsec: 1_000_000 }, s.rt("s").mainPid ?? 9999),
  "WATCHDOG=trigger": (s: Processes) => s.notify("s", { watchdog: "trigger" }, s.rt("s").mainPid ?? 9999),
  "MAINPID= in unit": (s: Processes) => s.notify("s", { mainPid: 777 }, s.rt("s").mainPid ?? 9999, { inUnit: true }),
  "MAINPID= manager": (s: Processes) => s.notify("s", { mainPid: MANAGER_PID }, s.rt("s").mainPid ?? 9999, { uid: 0 }),
  "main exits 0": (s: Processes) => { const p = s.rt("s").mainPid; if (p !== null) s.die(p, ok); },
  "main exits 1": (s: Processes) => { const p = s.rt("s").mainPid; if (p !== null) s.die(p, { kind: "exited", code: 1 }); },
  "stop": (s: Processes) => s.stop("s"),
  "stop timeout": (s: Processes) => { s.stop("s"); s.advance(5000); },
  "conflicting start": (s: Processes) => s.start("rival"),
} satisfies Record<string, (s: Processes) => void>;

type State = keyof typeof STATES;
type Event = keyof typeof EVENTS;

const REST = new Set(["dead", "failed", "running", "exited"]);

/**
 * Let the unit come to rest as a well-behaved daemon would: each command finishes with
 * success, the main process says READY=1 when started (and never exits on its own);
 * else the clock runs, a second at a time, up to 10 virtual minutes.
 */
function rest(s: Processes): string {
  for (let i = 0; i < 600 && !REST.has(s.sub("s")); i++) {
    const { controlPid, mainPid } = s.rt("s");
    if (controlPid !== null && s.alive.has(controlPid)) s.die(controlPid, ok);
    else if (s.sub("s") === "start" && mainPid !== null) s.notify("s", { ready: true });
    else s.advance(1000);
  }
  return s.sub("s");
}

function run(state: State, event: Event, svc: Partial<ServiceSection> = FULL,
  setup: (s: Processes) => void = STATES[state]): string {
  const s = new Processes(svc);
  setup(s);
  expect(s.sub("s")).toBe(state);
  EVENTS[event](s);
  const now = s.sub("s");
  const end = rest(s);
  for (const k of s.kills("s")) {
    expect(k.pid).toBeGreaterThan(1);
    expect(k.pid).not.toBe(MANAGER_PID);
  }
  if (end === "dead" || end === "failed") expect([...s.timers.keys()].filter((k) => !k.endsWith("/restart"))).toEqual([]);
  const changes = s.effects.filter((e) => e.type === "state-changed" && e.unit === "s");
  expect((changes.at(-1) as { sub: string } | undefined)?.sub ?? "dead").toBe(end);
  return now === end ? now : `${now} > ${end}`;
}

// The table: in the state of the row, the event of the column leads to "now > at rest"
// (or to "now", already at rest). Columns, in the order of EVENTS:
//   reload | reload timeout | STOPPING=1 | WATCHDOG_USEC= | WATCHDOG=trigger |
//   MAINPID= in unit | MAINPID= manager | main exits 0 | main exits 1 | stop |
//   stop timeout | conflicting start
// Worth knowing when reading it:
// - FULL has remain_after_exit: a clean main exit goes to exited, from any active state.
// - The rest of an activating unit is "running": a restart runs every command again.
// - STOPPING=1 then silence: the stop timeout is a failure, and on-failure restarts.
// - A stop asked for (stop, a conflicting start) never restarts; failed stays failed.
// - Where hearth differs from systemd: a main exit in start-post or reload kills the
//   command still running (systemd lets it finish first); WATCHDOG=trigger acts only in
//   running and reload (systemd: in any state the message is taken in).
const TABLE: Record<State, string[]> = {
  "dead": ["dead", "dead", "dead", "dead", "dead", "dead", "dead", "dead", "dead", "dead", "dead", "dead"],
  "start-pre": ["start-pre > running", "auto-restart > running", "start-pre > running", "start-pre > running", "start-pre > running", "start-pre > running", "start-pre > running", "start-pre > running", "start-pre > running", "dead", "dead", "dead"],
  "start": ["start > running", "auto-restart > running", "start > running", "start > running", "start > running", "start > running", "start > running", "start > running", "auto-restart > running", "dead", "dead", "dead"],
  "start-post": ["start-post > running", "auto-restart > running", "start-post > running", "start-post > running", "start-post > running", "start-post > running", "start-post > running", "exited", "auto-restart > running", "dead", "dead", "dead"],
  "running": ["reload > running", "running", "stop-sigterm > running", "running", "auto-restart > running", "running", "running", "exited", "auto-restart > running", "stop > dead", "dead", "stop > dead"],
  "exited": ["reload > exited", "exited", "exited", "exited", "exited", "exited", "exited", "exited", "exited", "stop > dead", "dead", "stop > dead"],
  "reload": ["reload > running", "running", "stop-sigterm > running", "reload > running", "stop-watchdog > running", "reload > running", "reload > running", "exited", "auto-restart > running", "stop > dead", "dead", "stop > dead"],
  "stop": ["stop > dead", "dead", "stop > dead", "stop > dead", "stop > dead", "stop > dead", "stop > dead", "stop > dead", "stop > dead", "stop > dead", "dead", "stop > dead"],
  "stop-sigterm": ["stop-sigterm > running", "auto-restart > running", "stop-sigterm > running", "stop-sigterm > running", "stop-sigterm > running", "stop-sigterm > running", "stop-sigterm > running", "dead", "auto-restart > running", "stop-sigterm > dead", "dead", "stop-sigterm > dead"],
  "stop-sigkill": ["stop-sigkill > running", "auto-restart > running", "stop-sigkill > running", "stop-sigkill > running", "stop-sigkill > running", "stop-sigkill > running", "stop-sigkill > running", "auto-restart > running", "auto-restart > running", "stop-sigkill > failed", "failed", "stop-sigkill > failed"],
  "stop-watchdog": ["stop-watchdog > running", "stop-sigkill > running", "stop-watchdog > running", "stop-watchdog > running", "stop-watchdog > running", "stop-watchdog > running", "stop-watchdog > running", "auto-restart > running", "auto-restart > running", "stop-watchdog > failed", "stop-sigkill > failed", "stop-watchdog > failed"],
  "auto-restart": ["auto-restart > running", "start-pre > running", "auto-restart > running", "auto-restart > running", "auto-restart > running", "auto-restart > running", "auto-restart > running", "auto-restart > running", "auto-restart > running", "failed", "failed", "failed"],
  "failed": ["failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed"],
};

/** One test per cell: the unit put in each row's state by `states`, then each event. */
function describeTable(title: string, states: Record<string, (s: Processes) => void>, table: Record<string, string[]>,
  svc: Partial<ServiceSection>) {
  describe(title, () => {
    const events = Object.keys(EVENTS) as Event[];
    for (const state of Object.keys(states)) {
      events.forEach((event, i) => {
        test(`${state} × ${event}: ${table[state]![i]}`, () => {
          expect(run(state as State, event, svc, states[state])).toBe(table[state]![i]!);
        });
      });
    }
  });
}

describeTable("the service state × event table", STATES, TABLE, FULL);

// What a stop signals, per kill_mode, to processes that ignore SIGTERM: "signal/scope/whom"
// in order, the stop timeout's SIGKILL included; then exec_stop and its own timeout.
const KILLED_BY_STOP: Record<string, Record<"start-pre" | "running" | "reload", string>> = {
  "control-group": {
    "start-pre": "15/process/control 18/process/control 9/unit/control",
    "running": "15/unit/main 18/unit/main 9/unit/main",
    "reload": "15/unit/main 18/unit/main 15/process/control 18/process/control 9/unit/main 9/unit/control",
  },
  "mixed": {
    "start-pre": "15/process/control 18/process/control 9/unit/control",
    "running": "15/process/main 18/process/main 9/unit/main",
    "reload": "15/process/main 18/process/main 15/process/control 18/process/control 9/unit/main 9/unit/control",
  },
  "process": {
    "start-pre": "15/process/control 18/process/control 9/process/control",
    "running": "15/process/main 18/process/main 9/process/main",
    "reload": "15/process/main 18/process/main 15/process/control 18/process/control 9/process/main 9/process/control",
  },
};

describe("kill_mode: what a stop signals", () => {
  for (const [mode, row] of Object.entries(KILLED_BY_STOP)) {
    for (const [state, expected] of Object.entries(row)) {
      test(`${mode}, stopped in ${state}: ${expected}`, () => {
        const s = new Processes({ ...FULL, exec_stop: [], kill_mode: mode as ServiceSection["kill_mode"] });
        STATES[state as keyof typeof row](s);
        s.onlySigkill = true;
        const before = s.effects.length;
        s.stop("s");
        s.advance(5000);
        const role = (pid: number) => s.spawned.find((x) => x.pid === pid)!.role;
        const kills = s.effects.slice(before).filter((e) => e.type === "kill") as Extract<Effect, { type: "kill" }>[];
        expect(kills.map((k) => `${k.signal}/${k.scope}/${role(k.pid)}`).join(" ")).toBe(expected);
        expect(s.sub("s")).toBe("dead");
      });
    }
  }
});

describe("exec_stop and its timeout", () => {
  test("exec_stop runs first; the main process is signalled once it is done", () => {
    const s = new Processes(FULL);
    STATES.running(s);
    s.stop("s");
    expect(s.sub("s")).toBe("stop");
    expect(s.kills("s")).toEqual([]);
    expect(s.spawned.at(-1)!.argv).toEqual(["/bin/stop"]);
    s.die(s.control(), ok);
    expect(s.kills("s").map((k) => k.signal)).toEqual([15, 18]);
    expect(s.sub("s")).toBe("dead");
  });

  test("an exec_stop that hangs is SIGKILLed at timeout_stop_sec, then the main process gets SIGTERM", () => {
    const s = new Processes(FULL);
    STATES.running(s);
    s.stop("s");
    const stopCmd = s.control();
    s.unkillable.add(stopCmd);
    s.advance(4999);
    expect(s.kills("s")).toEqual([]);
    s.advance(1);
    expect(s.kills("s").map((k) => `${k.signal}/${k.pid === stopCmd ? "stop" : "main"}`)).toEqual(["9/stop", "15/main", "18/main"]);
    expect(s.sub("s")).toBe("dead");
  });

  test("a failing exec_stop still stops the unit, without failing it", () => {
    const s = new Processes(FULL);
    STATES.running(s);
    s.stop("s");
    s.die(s.control(), { kind: "exited", code: 1 });
    expect(s.sub("s")).toBe("dead");
  });
});

// The states of exec_condition, exec_stop_post and type = "notify-reload", in a second
// table: FULL as a notify-reload service (no exec_reload) with an exec_condition and an
// exec_stop_post. Same columns. Worth knowing:
// - exec_stop_post runs once per run, whatever ended it; its timeout fails the unit
//   (systemd's final-sigterm with result timeout), after a stop asked for too.
// - In reload-signal (the daemon ignores reload_signal) a reload times out back to running.
const MORE: Partial<ServiceSection> = {
  ...FULL, type: "notify-reload", exec_reload: [], exec_condition: cmd("/bin/condition"), exec_stop_post: cmd("/bin/stop-post"),
};

/** Up to running: condition, pre, READY=1, post. */
function upMore(s: Processes) {
  s.start("s");
  s.die(s.control(), ok);
  s.die(s.control(), ok);
  s.notify("s", { ready: true });
  s.die(s.control(), ok);
}

const MORE_STATES = {
  "condition": (s: Processes) => s.start("s"),
  "stop-post": (s: Processes) => { upMore(s); s.die(s.main(), { kind: "exited", code: 1 }); },
  "reload-signal": (s: Processes) => { upMore(s); s.onlySigkill = true; s.request("reload", "s"); s.onlySigkill = false; },
  "reload-notify": (s: Processes) => { MORE_STATES["reload-signal"](s); s.notify("s", { reloading: true, monotonicUsec: s.now * 1000 }); },
} satisfies Record<string, (s: Processes) => void>;

const MORE_TABLE: Record<keyof typeof MORE_STATES, string[]> = {
  "condition": ["condition > running", "stop-post > running", "condition > running", "condition > running", "condition > running", "condition > running", "condition > running", "condition > running", "condition > running", "stop-post > dead", "failed", "stop-post > dead"],
  "stop-post": ["stop-post > running", "auto-restart > running", "stop-post > running", "stop-post > running", "stop-post > running", "stop-post > running", "stop-post > running", "stop-post > running", "stop-post > running", "stop-post > failed", "failed", "stop-post > failed"],
  "reload-signal": ["reload-signal > running", "running", "stop-sigterm > running", "reload-signal > running", "stop-post > running", "reload-signal > running", "reload-signal > running", "exited", "stop-post > running", "stop > dead", "stop-post > dead", "stop > dead"],
  "reload-notify": ["reload-notify > running", "running", "stop-sigterm > running", "reload-notify > running", "stop-post > running", "reload-notify > running", "reload-notify > running", "exited", "stop-post > running", "stop > dead", "stop-post > dead", "stop > dead"],
};

describeTable("the state × event table of exec_condition, exec_stop_post and notify-reload", MORE_STATES, MORE_TABLE, MORE);
