// The engine without processes: a virtual clock and pids handed out by the test.
import { describe, expect, test } from "bun:test";
import type { ExitStatus } from "../../src/engine/types.ts";
import { EngineSim as Sim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

const ok: ExitStatus = { kind: "exited", code: 0 };

describe("parallel start by ordering", () => {
  test("units with no ordering start together; an ordered unit waits for readiness", () => {
    const sim = new Sim(
      target("multi-user", { wants: [] }),
      service("db", { type: "notify" }, { wanted_by: ["multi-user"] }),
      service("web", {}, { wanted_by: ["multi-user"], requires: ["db"], after: ["db"] }),
      service("cron", {}, { wanted_by: ["multi-user"] }),
    );
    sim.start("multi-user");
    expect(sim.spawnOrder().sort()).toEqual(["cron", "db"]);
    expect(sim.state("db")).toBe("activating");
    expect(sim.state("multi-user")).toBe("inactive");
    sim.now = 300;
    sim.notify("db", { ready: true });
    expect(sim.spawnOrder()).toContain("web");
    expect(sim.state("multi-user")).toBe("active");
    expect(sim.jobResults("multi-user")).toEqual(["done"]);
  });

  test("a failed requirement fails its dependents with the reason; wants does not", () => {
    const sim = new Sim(
      target("multi-user"),
      service("db", { type: "notify" }, { wanted_by: ["multi-user"] }),
      service("web", {}, { wanted_by: ["multi-user"], requires: ["db"], after: ["db"] }),
      service("stats", {}, { wanted_by: ["multi-user"], wants: ["db"], after: ["db"] }),
    );
    sim.start("multi-user");
    sim.exit("db", { kind: "exited", code: 1 });
    expect(sim.state("db")).toBe("failed");
    expect(sim.state("web")).toBe("inactive");
    expect(sim.state("stats")).toBe("active");
    const web = sim.effects.find((e) => e.type === "job-finished" && e.unit === "web") as { result: string; reason: string };
    expect(web.result).toBe("dependency");
    expect(web.reason).toContain("db");
    expect(sim.state("multi-user")).toBe("active");
  });

  test("spawn failure is a start failure", () => {
    const sim = new Sim(service("x", { type: "exec" }));
    sim.failSpawn.add("x");
    sim.start("x");
    expect(sim.state("x")).toBe("failed");
    expect(sim.engine.units.get("x")!.service!.result).toBe("exec");
  });

  test("stop runs in reverse order", () => {
    const sim = new Sim(
      service("db"),
      service("web", {}, { requires: ["db"], after: ["db"] }),
    );
    sim.start("web");
    expect(sim.state("web")).toBe("active");
    sim.stop("db");
    // web is stopped first: db gets no signal until web is gone.
    expect(sim.kills("web").length).toBeGreaterThan(0);
    expect(sim.kills("db").length).toBe(0);
    sim.exit("web", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.kills("db").length).toBeGreaterThan(0);
    sim.exit("db", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.state("db")).toBe("inactive");
    expect(sim.state("web")).toBe("inactive");
    expect(sim.jobResults("db")).toEqual(["done", "done"]);
  });

  test("remove_ipc: asked for once the last running unit of the same user is down, not before, and only by a unit that has it", () => {
    const sim = new Sim(
      service("a", { user: "daemon", remove_ipc: true }),
      service("b", { user: "daemon" }),
      service("c", { user: "other", remove_ipc: true }),
    );
    sim.start("a"); sim.start("b");
    sim.request("restart", "a");
    sim.exit("a", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.of("remove-ipc")).toEqual([]); // b runs as daemon
    sim.stop("a");
    sim.exit("a", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.of("remove-ipc")).toEqual([]); // b still runs as daemon
    sim.stop("b");
    sim.exit("b", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.of("remove-ipc")).toEqual([]); // b does not ask for it, and a went first
    sim.start("c"); sim.stop("c");
    sim.exit("c", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.of("remove-ipc")).toEqual([{ type: "remove-ipc", unit: "c", user: "other", group: null }]);
  });

  test("a restart job stops with restart_kill_signal, a stop with kill_signal (systemd's RestartKillSignal=)", () => {
    const sim = new Sim(service("web", { kill_signal: 15, restart_kill_signal: 10 }));
    sim.start("web");
    sim.request("restart", "web");
    expect(sim.kills("web").map((k) => k.signal)).toContain(10);
    expect(sim.kills("web").map((k) => k.signal)).not.toContain(15);
    sim.exit("web", { kind: "killed", signal: 10, coreDumped: false });
    expect(sim.state("web")).toBe("active"); // started again
    const before = sim.kills("web").length;
    sim.stop("web");
    expect(sim.kills("web").slice(before).map((k) => k.signal)).toContain(15);
    expect(sim.kills("web").slice(before).map((k) => k.signal)).not.toContain(10);
  });
});

describe("service types", () => {
  test("oneshot is done when it exits 0; remain_after_exit keeps it active", () => {
    const sim = new Sim(service("a", { type: "oneshot" }), service("b", { type: "oneshot", remain_after_exit: true }));
    sim.start("a");
    sim.start("b");
    expect(sim.state("a")).toBe("activating");
    sim.exit("a", ok);
    sim.exit("b", ok);
    expect(sim.state("a")).toBe("inactive");
    expect(sim.jobResults("a")).toEqual(["done"]);
    expect(sim.state("b")).toBe("active");
  });

  test("notify: timeout_start_sec kills and fails", () => {
    const sim = new Sim(service("n", { type: "notify", timeout_start_sec: 2 }));
    sim.start("n");
    sim.advance(2000);
    expect(sim.kills("n")[0]!.signal).toBe(15);
    sim.exit("n", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.state("n")).toBe("failed");
    expect(sim.engine.units.get("n")!.service!.result).toBe("timeout");
  });

  test("notify: READY from a process that is not the main pid is rejected", () => {
    const sim = new Sim(service("n", { type: "notify" }));
    sim.start("n");
    sim.notify("n", { ready: true }, 4242);
    expect(sim.state("n")).toBe("activating");
    const refused = sim.of("notify-refused");
    expect(refused).toMatchObject([{ unit: "n", pid: 4242 }]);
    expect(refused[0]!.reason).toContain("4242");
  });

  test("forking: ready when the parent exits, main pid from the pid file", () => {
    const sim = new Sim(service("f", { type: "forking", pid_file: "/run/f.pid" }));
    sim.start("f");
    sim.exit("f", ok);
    const read = sim.effects.find((e) => e.type === "read-pid-file");
    expect(read).toBeDefined();
    sim.send({ type: "pid-file", unit: "f", pid: 777 });
    expect(sim.state("f")).toBe("active");
    expect(sim.mainPid("f")).toBe(777);
  });

  test("pre and post commands run in order around the main process", () => {
    const sim = new Sim(service("p", {
      exec_start_pre: [{ argv: ["/bin/pre"], ignoreFailure: false }],
      exec_start_post: [{ argv: ["/bin/post"], ignoreFailure: false }],
    }));
    sim.start("p");
    expect(sim.spawned.map((s) => s.argv[0])).toEqual(["/bin/pre"]);
    sim.send({ type: "exited", pid: sim.spawned[0]!.pid, status: ok });
    expect(sim.spawned.map((s) => s.argv[0])).toEqual(["/bin/pre", "/bin/true", "/bin/post"]);
    expect(sim.state("p")).toBe("activating");
    sim.send({ type: "exited", pid: sim.spawned[2]!.pid, status: ok });
    expect(sim.state("p")).toBe("active");
  });

  test("readiness fd: ready on the newline, not at spawn", () => {
    const sim = new Sim(service("s6", { notification_fd: 3 }));
    sim.start("s6");
    expect(sim.state("s6")).toBe("activating");
    sim.send({ type: "readiness-fd", unit: "s6" });
    expect(sim.state("s6")).toBe("active");
  });
});

describe("restart and stop", () => {
  test("on-failure restarts after restart_sec; an operator stop never restarts", () => {
    const sim = new Sim(service("r", { restart: "on-failure", restart_sec: 0.5 }));
    sim.start("r");
    sim.exit("r", { kind: "exited", code: 3 });
    expect(sim.engine.subState("r")).toBe("auto-restart");
    sim.advance(499);
    expect(sim.spawnOrder()).toEqual(["r"]);
    sim.advance(1);
    expect(sim.spawnOrder()).toEqual(["r", "r"]);
    sim.stop("r");
    sim.exit("r", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.state("r")).toBe("inactive");
    sim.advance(10_000);
    expect(sim.spawnOrder()).toEqual(["r", "r"]);
  });

  test("start limit: too many automatic restarts fail the unit and run the action", () => {
    const sim = new Sim(service("loop", { restart: "always", restart_sec: 0.1, start_limit_burst: 3, start_limit_interval_sec: 10, start_limit_action: "exit" }));
    sim.start("loop");
    for (let i = 0; i < 4; i++) {
      sim.exit("loop", { kind: "exited", code: 1 });
      sim.advance(100);
    }
    expect(sim.state("loop")).toBe("failed");
    expect(sim.engine.units.get("loop")!.service!.result).toBe("start-limit-hit");
    expect(sim.effects.some((e) => e.type === "emergency-action" && e.action === "exit")).toBe(true);
    sim.send({ type: "reset-failed", unit: "loop" });
    sim.start("loop");
    expect(sim.state("loop")).toBe("active");
  });

  test("a service ignoring SIGTERM gets SIGKILL at timeout_stop_sec", () => {
    const sim = new Sim(service("stubborn", { timeout_stop_sec: 3 }));
    sim.start("stubborn");
    sim.stop("stubborn");
    sim.advance(2999);
    expect(sim.kills("stubborn").map((k) => k.signal)).toEqual([15, 18]);
    sim.advance(1);
    expect(sim.kills("stubborn").map((k) => k.signal)).toEqual([15, 18, 9]);
    sim.exit("stubborn", { kind: "killed", signal: 9, coreDumped: false });
    expect(sim.state("stubborn")).toBe("inactive");
  });

  test("service watchdog: no ping within watchdog_sec => SIGABRT, then restart with cause watchdog", () => {
    const sim = new Sim(service("wd", { type: "notify", watchdog_sec: 1, restart: "on-watchdog" }));
    sim.start("wd");
    sim.notify("wd", { ready: true });
    sim.advance(900);
    sim.notify("wd", { watchdog: "ping" });
    sim.advance(900);
    expect(sim.kills("wd")).toEqual([]);
    sim.advance(100);
    expect(sim.kills("wd")[0]!.signal).toBe(6);
    sim.exit("wd", { kind: "killed", signal: 6, coreDumped: true });
    expect(sim.engine.subState("wd")).toBe("auto-restart");
    expect(sim.engine.units.get("wd")!.service!.result).toBe("watchdog");
  });

  test("binds_to: the bound unit stops when its peer stops", () => {
    const sim = new Sim(service("dev"), service("user", {}, { binds_to: ["dev"], after: ["dev"] }));
    sim.start("user");
    expect(sim.state("user")).toBe("active");
    sim.exit("dev", { kind: "exited", code: 0 });
    expect(sim.kills("user").length).toBeGreaterThan(0);
  });

  test("restart request stops then starts, and answers once", () => {
    const sim = new Sim(service("r"));
    sim.start("r", 1);
    sim.send({ type: "request", job: "restart", unit: "r", requestId: 7 });
    sim.exit("r", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.spawnOrder()).toEqual(["r", "r"]);
    const answers = sim.effects.filter((e) => e.type === "job-finished" && e.requestId === 7);
    expect(answers).toHaveLength(1);
    expect((answers[0] as { job: string }).job).toBe("restart");
  });
});

import { expandCommand, parseEnvironmentFile } from "../../src/manager/exec-context.ts";

describe("command expansion and environment files (systemd's rules)", () => {
  test("$NAME alone splits into words, ${NAME} inside a word is literal, $$ is $", () => {
    const env = { MAINPID: "42", OPTS: "-a  -b", EMPTY: "" };
    expect(expandCommand(["/bin/kill", "-HUP", "$MAINPID"], env)).toEqual(["/bin/kill", "-HUP", "42"]);
    expect(expandCommand(["/d", "$OPTS", "--pid=${MAINPID}", "$EMPTY", "$UNSET", "cost$$"], env))
      .toEqual(["/d", "-a", "-b", "--pid=42", "cost$"]);
  });

  test("environment files: comments, export, quotes", () => {
    expect(parseEnvironmentFile("# c\nA=1\nexport B=\"x y\"\nC='z'\n bad line\n")).toEqual({ A: "1", B: "x y", C: "z" });
  });
});
