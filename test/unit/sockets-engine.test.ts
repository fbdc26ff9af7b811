// Socket activation in the engine (src/engine/activation.ts), without processes: which
// sockets are watched when, what a trigger or a connection starts, accept = true instances.
import { describe, expect, test } from "bun:test";
import type { SocketSection, UnitConfig } from "../../src/config/types.ts";
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent } from "../../src/engine/types.ts";
import { acceptTemplates, configs, service, target } from "../support/units.ts";

function socket(over: Partial<SocketSection> = {}): SocketSection {
  return { listen_stream: "/run/x.sk", accept: false, socket_mode: 0o666, fd_name: null, max_connections: 64, max_connections_per_source: 0, ...over };
}

function withSockets(unit: UnitConfig, ...sockets: SocketSection[]): UnitConfig {
  return { ...unit, sockets: sockets.map((s) => ({ ...s, service: s.service ?? unit.name })) };
}

/** Feeds events to the engine and plays the shell: pids for spawns, a virtual clock for timers. */
class Shell {
  now = 0;
  private nextPid = 1000;
  readonly effects: Effect[] = [];
  failSpawns = false;
  private readonly timers: { at: number; event: EngineEvent }[] = [];
  readonly engine: Engine;
  /** What the shell watches now: "unit/index". */
  readonly watching = new Set<string>();
  /** Sockets the shell cannot make (a retry fails again). */
  private broken: { unit: string; index: number; error: string }[] = [];

  constructor(...units: UnitConfig[]) {
    this.engine = new Engine(configs(target("shutdown"), ...units), 0, undefined, null, null, new Set(), acceptTemplates(units));
  }

  send(first: EngineEvent) {
    const queue = [first];
    while (queue.length > 0) {
      for (const e of this.engine.handle(queue.shift()!, this.now)) {
        this.effects.push(e);
        if (e.type === "spawn") {
          queue.push(this.failSpawns
            ? { type: "spawn-failed", unit: e.unit, role: e.role, error: "ENOENT" }
            : { type: "spawned", unit: e.unit, role: e.role, pid: this.nextPid++ });
        } else if (e.type === "set-timer") {
          this.timers.push({ at: this.now + e.ms, event: { type: "timer", unit: e.unit, kind: e.kind, id: e.id } });
        } else if (e.type === "retry-sockets") {
          queue.push({ type: "sockets-opened", units: e.units, failed: this.broken.filter((b) => e.units.includes(b.unit)) });
        } else if (e.type === "listen") {
          if (e.on) this.watching.add(`${e.unit}/${e.index}`);
          else this.watching.delete(`${e.unit}/${e.index}`);
        }
      }
    }
  }

  opened(units: string[], failed: { unit: string; index: number; error: string }[] = []) {
    this.broken = [...this.broken.filter((b) => !units.includes(b.unit)), ...failed];
    this.send({ type: "sockets-opened", units, failed });
  }

  /** A client connects to an accept = false socket: the shell stops watching it and reports. */
  trigger(unit: string, index = 0) {
    expect(this.watching.has(`${unit}/${index}`)).toBe(true);
    this.watching.delete(`${unit}/${index}`);
    this.send({ type: "socket-triggered", unit, index });
  }

  request(job: "start" | "stop" | "restart", unit: string) {
    this.send({ type: "request", job, unit, requestId: 1 });
  }

  exit(unit: string, code: number) {
    this.send({ type: "exited", pid: this.engine.units.get(unit)!.service!.mainPid!, status: { kind: "exited", code } });
  }

  advance(ms: number) {
    this.now += ms;
    for (const t of this.timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= this.now) this.send(t.event);
      else this.timers.push(t);
    }
  }

  state(unit: string) {
    return `${this.engine.activeState(unit)}/${this.engine.subState(unit)}`;
  }

  of<T extends Effect["type"]>(type: T): Extract<Effect, { type: T }>[] {
    return this.effects.filter((e): e is Extract<Effect, { type: T }> => e.type === type);
  }
}

describe("accept = false", () => {
  test("watched while the service is down; the first client starts it; watched again when it ends", () => {
    const sh = new Shell(withSockets(service("echo"), socket(), socket({ listen_datagram: "/run/d", listen_stream: undefined })));
    expect(sh.watching.size).toBe(0); // nothing before the sockets exist
    sh.opened(["echo"]);
    expect([...sh.watching].sort()).toEqual(["echo/0", "echo/1"]);
    sh.trigger("echo", 1);
    expect(sh.state("echo")).toBe("active/running");
    expect(sh.watching.size).toBe(0); // the service has them now
    expect(sh.of("spawn").map((s) => s.unit)).toEqual(["echo"]);
    sh.exit("echo", 1); // crashes, restart = no
    expect(sh.state("echo")).toBe("failed/failed");
    expect(sh.watching.size).toBe(2);
  });

  test("not watched while the service restarts: clients queue until the restart", () => {
    const sh = new Shell(withSockets(service("echo", { restart: "always", restart_sec: 0.5 }), socket()));
    sh.opened(["echo"]);
    sh.request("start", "echo");
    sh.exit("echo", 1);
    expect(sh.state("echo")).toBe("activating/auto-restart");
    expect(sh.watching.size).toBe(0);
    sh.advance(500);
    expect(sh.state("echo")).toBe("active/running");
    expect(sh.of("spawn").length).toBe(2);
  });

  test("a stopped service is activated again by the next client", () => {
    const sh = new Shell(withSockets(service("echo"), socket()));
    sh.opened(["echo"]);
    sh.request("start", "echo");
    expect(sh.watching.size).toBe(0);
    sh.request("stop", "echo");
    sh.exit("echo", 0);
    expect(sh.state("echo")).toBe("inactive/dead");
    expect(sh.watching.has("echo/0")).toBe(true);
    sh.trigger("echo");
    expect(sh.state("echo")).toBe("active/running");
  });

  test("a start that waits for ordering is not disturbed: no watching while a job is queued", () => {
    const sh = new Shell(
      service("db", { type: "notify" }),
      withSockets(service("web", {}, { after: ["db"], requires: ["db"] }), socket()),
    );
    sh.opened(["web"]);
    sh.request("start", "web");
    expect(sh.state("web")).toBe("inactive/dead");
    expect(sh.watching.size).toBe(0);
  });

  test("a socket-triggered start keeps the crash-loop counters; a manual one clears them", () => {
    const sh = new Shell(withSockets(service("echo", { restart: "on-failure", restart_sec: 0, start_limit_burst: 10 }), socket()));
    sh.opened(["echo"]);
    sh.trigger("echo");
    sh.exit("echo", 1); // restarted at once (restart_sec = 0)
    sh.advance(0);
    const rt = sh.engine.units.get("echo")!.service!;
    expect(rt.restartTimes.length).toBe(1);
    sh.request("stop", "echo");
    sh.exit("echo", 0);
    sh.trigger("echo");
    expect(rt.restartTimes.length).toBe(1);
    sh.request("restart", "echo");
    sh.exit("echo", 0);
    expect(rt.restartTimes.length).toBe(0);
  });

  test("a start limit hit stops the watching until reset-failed", () => {
    const sh = new Shell(withSockets(service("echo", { restart: "always", restart_sec: 0, start_limit_burst: 2, start_limit_interval_sec: 10 }), socket()));
    sh.opened(["echo"]);
    sh.trigger("echo");
    for (let i = 0; i < 3; i++) {
      sh.exit("echo", 1);
      sh.advance(0);
    }
    expect(sh.state("echo")).toBe("failed/failed");
    expect(sh.engine.units.get("echo")!.service!.result).toBe("start-limit-hit");
    expect(sh.watching.size).toBe(0);
    sh.send({ type: "reset-failed", unit: "echo" });
    expect(sh.watching.has("echo/0")).toBe(true);
  });

  test("triggers that start nothing are limited; a manual start lifts the limit", () => {
    const sh = new Shell(withSockets(service("echo"), socket()));
    sh.opened(["echo"]);
    sh.failSpawns = true; // every start fails at once: the queued client stays queued
    for (let i = 0; i < 20; i++) sh.trigger("echo"); // trigger_limit_burst, by default
    expect(sh.watching.has("echo/0")).toBe(true);
    sh.trigger("echo");
    expect(sh.watching.size).toBe(0);
    expect(sh.of("log").some((l) => l.unit === "echo" && l.text.startsWith("Trigger limit hit"))).toBe(true);
    sh.advance(2000);
    expect(sh.watching.size).toBe(0); // the limit holds until someone acts
    sh.failSpawns = false;
    sh.request("start", "echo");
    sh.request("stop", "echo");
    sh.exit("echo", 0);
    expect(sh.watching.has("echo/0")).toBe(true);
  });

  test("the trigger limit follows trigger_limit_*; an interval of 0 disables it", () => {
    const limited = new Shell(withSockets(service("a"), socket({ trigger_limit_burst: 3, trigger_limit_interval_sec: 1 })));
    limited.opened(["a"]);
    limited.failSpawns = true;
    for (let i = 0; i < 3; i++) limited.trigger("a");
    limited.advance(1000); // the window slides: these three are forgotten
    for (let i = 0; i < 3; i++) limited.trigger("a");
    limited.trigger("a");
    expect(limited.watching.size).toBe(0);
    const unlimited = new Shell(withSockets(service("b"), socket({ trigger_limit_interval_sec: 0 })));
    unlimited.opened(["b"]);
    unlimited.failSpawns = true;
    for (let i = 0; i < 100; i++) unlimited.trigger("b");
    expect(unlimited.watching.has("b/0")).toBe(true);
  });

  test("a socket declared by another unit activates the unit its `service` names", () => {
    const sh = new Shell(service("daemon"), withSockets(target("daemon-sockets"), socket({ service: "daemon" })));
    sh.opened(["daemon-sockets"]);
    expect(sh.watching.has("daemon-sockets/0")).toBe(true);
    sh.trigger("daemon-sockets");
    expect(sh.state("daemon")).toBe("active/running");
  });

  test("a socket that could not be made fails its unit, which will not start until it is made", () => {
    const sh = new Shell(withSockets(service("echo"), socket(), socket()), service("other"));
    sh.opened(["echo"], [{ unit: "echo", index: 1, error: "/run/x.sk (Stream): bind: Address already in use" }]);
    expect(sh.state("echo")).toBe("failed/failed");
    expect(sh.engine.units.get("echo")!.service!.result).toBe("resources");
    expect(sh.watching.size).toBe(0);
    sh.request("start", "echo");
    const finished = sh.of("job-finished").find((j) => j.unit === "echo")!;
    expect(finished.result).toBe("failed");
    expect(finished.reason).toContain("Address already in use");
    sh.request("start", "other");
    expect(sh.state("other")).toBe("active/running"); // the rest boots
    sh.opened(["echo"]); // made on a retry
    expect(sh.watching.size).toBe(2);
    sh.trigger("echo");
    expect(sh.state("echo")).toBe("active/running");
  });
});

describe("accept = true", () => {
  // systemd's name: the count of connections before this one, then the local and remote ends.
  const FIRST = "sshd@0-10.0.0.2:22-10.0.0.1:5000";
  const sshd = () => withSockets(service("sshd", {}, { wanted_by: ["multi-user"], conflicts: ["shutdown"] }), socket({ accept: true, service: "sshd@", max_connections: 2, max_connections_per_source: 1 }));

  test("the unit itself runs nothing; each connection gets an instance, removed when it ends", () => {
    const sh = new Shell(target("multi-user"), sshd());
    expect(sh.engine.isTemplate("sshd")).toBe(true);
    expect(sh.state("sshd")).toBe("inactive/dead");
    sh.opened(["sshd"]);
    expect(sh.state("sshd")).toBe("active/listening"); // its sockets are made: it accepts
    sh.request("start", "multi-user");
    expect(sh.state("sshd")).toBe("active/listening");
    expect(sh.of("spawn")).toEqual([]);
    expect(sh.watching.has("sshd/0")).toBe(true);

    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 7, source: "10.0.0.1", ends: "10.0.0.2:22-10.0.0.1:5000" });
    expect(sh.state(FIRST)).toBe("active/running");
    expect(sh.engine.instanceOf(FIRST)).toEqual({ template: "sshd", socket: { unit: "sshd", index: 0 }, connection: 7, source: "10.0.0.1" });
    expect(sh.engine.graph.get("shutdown")!.conflicts.has(FIRST)).toBe(true);
    expect(sh.of("spawn").map((s) => s.unit)).toEqual([FIRST]);
    expect(sh.of("console").filter((c) => c.unit === FIRST)).toEqual([]); // not one line per connection
    expect(sh.of("log").some((l) => l.unit === FIRST && l.text.startsWith("Started"))).toBe(true);

    sh.exit(FIRST, 0);
    expect(sh.engine.units.has(FIRST)).toBe(false);
    expect(sh.engine.graph.has(FIRST)).toBe(false);
    expect(sh.engine.graph.get("shutdown")!.conflicts.has(FIRST)).toBe(false);
    expect(sh.of("instance-removed")).toEqual([{ type: "instance-removed", unit: FIRST, connection: 7 }]);
    expect(sh.engine.activation.acceptedCount("sshd")).toBe(1);
  });

  test("stopping the unit pauses the accepting, starting it resumes; instances go on", () => {
    const sh = new Shell(sshd());
    sh.opened(["sshd"]);
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 3, source: "a", ends: "x" });
    sh.request("stop", "sshd");
    expect(sh.state("sshd")).toBe("inactive/dead");
    expect(sh.watching.size).toBe(0);
    expect(sh.state("sshd@0-x")).toBe("active/running");
    sh.request("start", "sshd");
    expect(sh.watching.has("sshd/0")).toBe(true);
  });

  test("failed instances are removed too", () => {
    const sh = new Shell(sshd());
    sh.opened(["sshd"]);
    sh.failSpawns = true;
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 9, source: "a", ends: "x" });
    expect(sh.engine.units.has("sshd@0-x")).toBe(false);
    expect(sh.of("instance-removed").map((e) => e.connection)).toEqual([9]);
  });

  test("max_connections pauses accepting; max_connections_per_source refuses", () => {
    const sh = new Shell(sshd());
    sh.opened(["sshd"]);
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 10, source: "a", ends: "x" });
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 11, source: "a", ends: "x" });
    expect(sh.of("close-connection")).toEqual([{ type: "close-connection", unit: "sshd", connection: 11 }]);
    expect(sh.watching.has("sshd/0")).toBe(true);
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 12, source: "b", ends: "x" });
    expect(sh.watching.has("sshd/0")).toBe(false); // two running: clients wait in the backlog
    sh.exit("sshd@0-x", 0);
    expect(sh.watching.has("sshd/0")).toBe(true);
    expect([...sh.engine.units.keys()].filter((n) => n.startsWith("sshd@"))).toEqual(["sshd@1-x"]); // a refused connection makes no instance (nor counts)
  });

  test("stopping an instance by hand ends it like any service", () => {
    const sh = new Shell(sshd());
    sh.opened(["sshd"]);
    sh.send({ type: "connection", unit: "sshd", index: 0, connection: 5, source: "a", ends: "x" });
    sh.request("stop", "sshd@0-x");
    expect(sh.state("sshd@0-x")).toBe("deactivating/stop-sigterm");
    sh.exit("sshd@0-x", 0);
    expect(sh.engine.units.has("sshd@0-x")).toBe(false);
  });
});

describe("a socket whose service is not there (service = a unit that does not exist)", () => {
  test("the socket is watched; its first trigger fails it, naming the unit; a start by hand watches it again", () => {
    const sh = new Shell(withSockets(target("web-socket"), socket({ service: "ghost" })));
    sh.opened(["web-socket"]);
    expect([...sh.watching]).toEqual(["web-socket/0"]);
    sh.trigger("web-socket");
    expect(sh.watching.size).toBe(0);
    expect(sh.of("spawn")).toEqual([]);
    expect(sh.of("log").map((l) => `${l.unit} ${l.level}: ${l.text}`)).toContain(
      "web-socket err: socket[0] activates 'ghost', which is not loaded (unit ghost has errors and is not loaded): activation refused, the socket is no longer watched",
    );
    sh.send({ type: "request", job: "start", unit: "web-socket", requestId: 7 });
    expect([...sh.watching]).toEqual(["web-socket/0"]);
  });

  test("accept = true: the first connection is closed and the socket fails", () => {
    const sh = new Shell(withSockets(target("echo-socket"), socket({ service: "ghost@", accept: true })));
    sh.opened(["echo-socket"]);
    expect([...sh.watching]).toEqual(["echo-socket/0"]);
    sh.send({ type: "connection", unit: "echo-socket", index: 0, connection: 42, source: "local", ends: "1-2" });
    expect(sh.of("close-connection")).toEqual([{ type: "close-connection", unit: "echo-socket", connection: 42 }]);
    expect(sh.watching.size).toBe(0);
    expect(sh.of("console").map((c) => c.text)).toEqual(["Failed to activate ghost@ for echo-socket: unit ghost@ has errors and is not loaded"]);
  });
});
