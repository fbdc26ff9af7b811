// success_action / failure_action (systemd's SuccessAction= / FailureAction=), on_failure and
// requisite in the engine: what a unit's end asks for, and what a start needs running.
import { describe, expect, test } from "bun:test";
import { EngineSim } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const actions = (s: EngineSim) => s.of("emergency-action").map((e) => `${e.unit} ${e.reason} ${e.action}`);

describe("success_action and failure_action", () => {
  test("a oneshot that finishes asks for its success_action (systemd-poweroff.service)", () => {
    const s = EngineSim.from([service("poweroff", { type: "oneshot" }, { success_action: "poweroff-force", failure_action: "reboot" })]);
    s.start("poweroff");
    expect(actions(s)).toEqual([]);
    s.exit("poweroff", { kind: "exited", code: 0 });
    expect(s.state("poweroff")).toBe("inactive");
    expect(actions(s)).toEqual(["poweroff success poweroff-force"]);
  });

  test("a service that fails asks for its failure_action, not its success_action; reset-failed asks for nothing", () => {
    const s = EngineSim.from([service("d", {}, { success_action: "exit", failure_action: "reboot" })]);
    s.start("d");
    expect(s.state("d")).toBe("active");
    s.exit("d", { kind: "exited", code: 3 });
    expect(s.state("d")).toBe("failed");
    s.send({ type: "reset-failed", unit: "d" });
    expect(s.state("d")).toBe("inactive");
    expect(actions(s)).toEqual(["d failure reboot"]);
  });

  test("a service stopped by hand went inactive: its success_action applies, as in systemd", () => {
    const s = EngineSim.from([service("d", {}, { success_action: "reboot" })]);
    s.start("d");
    s.stop("d");
    s.exit("d", { kind: "killed", signal: 15, coreDumped: false });
    expect(actions(s)).toEqual(["d success reboot"]);
  });

  test("without the keys nothing is asked for", () => {
    const s = EngineSim.from([service("d", { type: "oneshot" })]);
    s.start("d");
    s.exit("d", { kind: "exited", code: 1 });
    expect(s.state("d")).toBe("failed");
    expect(actions(s)).toEqual([]);
  });
});

describe("requisite", () => {
  const units = (after: string[] = ["server"]) => [
    service("server", { type: "notify" }),
    service("rotate", { type: "oneshot" }, { requisite: ["server"], after }),
  ];

  test("the start fails at once when the requisite is not active, and it is not started (ntpsec-rotate-stats)", () => {
    const s = EngineSim.from(units());
    s.start("rotate", 7);
    expect(s.state("rotate")).toBe("inactive");
    expect(s.state("server")).toBe("inactive");
    const answer = s.of("job-finished").find((e) => e.requestId === 7)!;
    expect([answer.result, answer.reason]).toEqual(["dependency", "requisite server is not active (inactive)"]);
    expect(s.spawnOrder()).toEqual([]);
  });

  test("with the requisite active the unit starts", () => {
    const s = EngineSim.from(units());
    s.start("server");
    s.notify("server", { ready: true });
    expect(s.state("server")).toBe("active");
    s.start("rotate");
    expect(s.state("rotate")).toBe("activating");
  });

  test("ordered after a requisite that is still activating, the start waits for it; fails if it fails", () => {
    const s = EngineSim.from(units());
    s.start("server");
    expect(s.state("server")).toBe("activating");
    s.start("rotate");
    expect(s.state("rotate")).toBe("inactive");
    s.notify("server", { ready: true });
    expect(s.state("rotate")).toBe("activating");

    const t = EngineSim.from(units());
    t.start("server");
    t.start("rotate", 8);
    t.exit("server", { kind: "exited", code: 1 });
    expect(t.state("server")).toBe("failed");
    expect(t.of("job-finished").find((e) => e.requestId === 8)?.result).toBe("dependency");
    expect(t.spawnOrder()).toEqual(["server"]);
  });

  test("a requisite that is not loaded fails the start", () => {
    const s = EngineSim.from([service("rotate", {}, { requisite: ["nowhere"] })]);
    s.start("rotate", 9);
    expect(s.of("job-finished").find((e) => e.requestId === 9)?.reason).toBe("requisite nowhere is not active (not loaded)");
  });
});

describe("on_failure", () => {
  test("a unit that fails starts its on_failure units (e2scrub@'s e2scrub_fail@); one that succeeds does not", () => {
    const s = EngineSim.from([
      service("scrub", { type: "oneshot" }, { on_failure: ["report"] }),
      service("report", { type: "oneshot" }),
    ]);
    s.start("scrub");
    s.exit("scrub", { kind: "exited", code: 0 });
    expect(s.spawnOrder()).toEqual(["scrub"]);
    s.start("scrub");
    s.exit("scrub", { kind: "exited", code: 1 });
    expect(s.state("scrub")).toBe("failed");
    expect(s.spawnOrder()).toEqual(["scrub", "scrub", "report"]);
    expect(s.state("report")).toBe("activating");
  });

  test("a failure followed by an automatic restart starts them too, as systemd does since 249", () => {
    const s = EngineSim.from([
      service("d", { restart: "on-failure", restart_sec: 1 }, { on_failure: ["report"] }),
      service("report"),
    ]);
    s.start("d");
    s.exit("d", { kind: "exited", code: 1 });
    expect(s.sub("d")).toBe("auto-restart");
    expect(s.state("report")).toBe("active");
  });

  test("\"fail\": not started while a stop of it is queued, and said so", () => {
    const units = () => [
      service("d", {}, { on_failure: ["report"], on_failure_job_mode: "fail" }),
      service("report"),
      service("user", {}, { after: ["report"] }),
    ];
    const s = EngineSim.from(units());
    for (const u of ["report", "user", "d"]) s.start(u);
    s.stop("user"); // deactivating until its process exits
    s.stop("report", 11); // queued: it stops after user, ordered after it
    expect(s.engine.units.get("report")!.job).toMatchObject({ type: "stop", running: false });
    s.exit("d", { kind: "exited", code: 1 });
    expect(s.engine.units.get("report")!.job?.type).toBe("stop");
    expect(s.logs("d", "warning").join("\n")).toContain('report not started: a stop job is queued (on_failure_job_mode = "fail")');
  });

  test("\"replace-irreversibly\": a later stop does not replace the start it queued", () => {
    const s = EngineSim.from([
      service("d", {}, { on_failure: ["rescue-shell"], on_failure_job_mode: "replace-irreversibly" }),
      service("rescue-shell", {}, { after: ["slow"] }),
      service("slow", { type: "notify" }),
    ]);
    s.start("slow");
    s.start("d");
    s.exit("d", { kind: "exited", code: 1 });
    expect(s.engine.units.get("rescue-shell")!.job?.type).toBe("start");
    s.stop("rescue-shell", 12);
    expect(s.of("job-finished").find((e) => e.requestId === 12)).toMatchObject({ result: "failed", reason: "an irreversible start job is queued" });
    s.notify("slow", { ready: true });
    expect(s.state("rescue-shell")).toBe("active");
  });
});

describe("send_sigkill", () => {
  test("false: a stop that times out sends no SIGKILL, leaves the processes running, and the unit goes down", () => {
    const s = EngineSim.from([service("db", { send_sigkill: false, timeout_stop_sec: 5 })]);
    s.start("db");
    s.stop("db");
    expect(s.kills("db").map((k) => k.signal)).toEqual([15, 18]);
    s.advance(5_000);
    expect(s.kills("db").map((k) => k.signal)).toEqual([15, 18]);
    expect(s.state("db")).toBe("inactive");
    expect(s.of("kill-leftovers").filter((e) => e.unit === "db")).toEqual([]);
    // The cgroup goes only once it is empty (the shell waits for that): nothing is killed for it.
    expect(s.of("remove-cgroup").filter((e) => e.unit === "db")).toHaveLength(1);
    expect(s.logs("db", "warning")).toContain("State 'stop-sigterm' timed out. Skipping SIGKILL.");
  });

  test("by default the same stop ends with SIGKILL", () => {
    const s = EngineSim.from([service("db", { timeout_stop_sec: 5 })]);
    s.start("db");
    s.stop("db");
    s.advance(5_000);
    expect(s.kills("db").map((k) => k.signal)).toEqual([15, 18, 9]);
  });
});

describe("kill_mode = none", () => {
  test("a stop runs exec_stop and signals nothing; the unit goes down with its processes left (mdmon@)", () => {
    const s = EngineSim.from([service("mdmon", { kill_mode: "none", exec_stop: [{ argv: ["/bin/stop-it"], ignoreFailure: false }] })]);
    s.start("mdmon");
    s.stop("mdmon");
    const control = s.rt("mdmon").controlPid!;
    s.send({ type: "exited", pid: control, status: { kind: "exited", code: 0 } });
    expect(s.state("mdmon")).toBe("inactive");
    expect(s.kills("mdmon")).toEqual([]);
    expect(s.of("kill-leftovers").filter((e) => e.unit === "mdmon")).toEqual([]);
  });
});

describe("guess_main_pid = false", () => {
  const ok = { kind: "exited", code: 0 } as const;

  test("the one process left is not taken as the main pid: the unit lives while its cgroup is populated (rc-local)", () => {
    const s = new EngineSim(service("rc-local", { type: "forking", guess_main_pid: false }));
    s.cgroup.set("rc-local", { candidates: [555], populated: true });
    s.start("rc-local");
    s.exit("rc-local", ok); // the forking parent
    expect(s.state("rc-local")).toBe("active");
    expect(s.rt("rc-local").mainPid).toBeNull();
    expect(s.watched.has("rc-local")).toBe(true);
    s.send({ type: "exited", pid: 555, status: ok });
    expect(s.state("rc-local")).toBe("active");
    s.cgroupEmptied("rc-local");
    expect(s.state("rc-local")).toBe("inactive");
  });
});

describe("reload_propagated_from", () => {
  const reload = { argv: ["/bin/reload"], ignoreFailure: false };
  test("reloading the named unit reloads the active units that name it, once each, even in a cycle", () => {
    const s = EngineSim.from([
      service("postgresql", { exec_reload: [reload] }, { reload_propagated_from: ["postgresql@15-main"] }),
      service("postgresql@15-main", { exec_reload: [reload] }, { reload_propagated_from: ["postgresql"] }),
      service("idle-one", { exec_reload: [reload] }, { reload_propagated_from: ["postgresql"] }),
    ]);
    s.start("postgresql");
    s.start("postgresql@15-main");
    s.request("reload", "postgresql", 5);
    const reloads = s.effects.filter((e) => e.type === "spawn" && e.role === "control").map((e) => (e as { unit: string }).unit);
    expect(reloads.sort()).toEqual(["postgresql", "postgresql@15-main"]); // idle-one is not active: not reloaded
    expect(s.state("idle-one")).toBe("inactive");
  });
});

describe("refuse_manual_start and refuse_manual_stop", () => {
  test("a start asked for by hand is refused; pulled in by another unit it starts; a manual stop and restart are refused", () => {
    const s = EngineSim.from([
      service("helper", {}, { refuse_manual_start: true, refuse_manual_stop: true }),
      service("app", {}, { requires: ["helper"] }),
    ]);
    s.start("helper", 21);
    expect(s.of("job-finished").find((e) => e.requestId === 21)).toMatchObject({ result: "failed", reason: expect.stringContaining("refuse_manual_start") });
    expect(s.state("helper")).toBe("inactive");
    s.start("app");
    expect(s.state("helper")).toBe("active");
    s.stop("helper", 22);
    s.request("restart", "helper", 23);
    expect(s.of("job-finished").filter((e) => e.requestId === 22 || e.requestId === 23).map((e) => e.result)).toEqual(["failed", "failed"]);
    expect(s.state("helper")).toBe("active");
    s.stop("app");
    expect(s.state("app")).not.toBe("active");
  });
});
