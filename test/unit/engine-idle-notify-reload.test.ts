// type = "idle" (the program waits for the other jobs, 5 s at most) and type = "notify-reload"
// (reload by a signal, answered by RELOADING=1 with MONOTONIC_USEC, then READY=1), on a virtual clock.
import { describe, expect, test } from "bun:test";
import { EngineSim } from "../support/engine-sim.ts";
import { service, target } from "../support/units.ts";

describe('type = "idle"', () => {
  test("alone, it runs at once and is active", () => {
    const s = new EngineSim(service("getty", { type: "idle" }));
    s.start("getty");
    expect(s.spawnOrder()).toEqual(["getty"]);
    expect(s.sub("getty")).toBe("running");
    expect(s.jobResults("getty")).toEqual(["done"]);
  });

  test("its job is done at once, the program waits until no other job is left", () => {
    const s = new EngineSim(
      service("slow", { type: "notify" }),
      service("getty", { type: "idle" }),
      target("multi-user", { wants: ["slow", "getty"] }),
    );
    s.start("multi-user");
    expect(s.spawnOrder()).toEqual(["slow"]);
    expect(s.state("getty")).toBe("active");
    expect(s.jobResults("getty")).toEqual(["done"]);
    s.advance(1000);
    s.notify("slow", { ready: true });
    expect(s.spawnOrder()).toEqual(["slow", "getty"]);
    expect(s.sub("getty")).toBe("running");
  });

  test("it waits 5 s at most", () => {
    const s = new EngineSim(service("slow", { type: "notify" }), service("getty", { type: "idle" }));
    s.start("slow");
    s.start("getty");
    s.advance(4999);
    expect(s.spawnOrder()).toEqual(["slow"]);
    s.advance(1);
    expect(s.spawnOrder()).toEqual(["slow", "getty"]);
    expect(s.logs("getty", "info")).toContain('Other jobs still running after 5s: starting anyway (type = "idle")');
  });

  test("stopped while it waits, it never runs", () => {
    const s = new EngineSim(service("slow", { type: "notify" }), service("getty", { type: "idle" }));
    s.start("slow");
    s.start("getty");
    s.stop("getty");
    expect(s.state("getty")).toBe("inactive");
    s.notify("slow", { ready: true });
    s.advance(10_000);
    expect(s.spawnOrder()).toEqual(["slow"]);
  });
});

describe('type = "notify-reload"', () => {
  function running(over = {}) {
    const s = new EngineSim(service("d", { type: "notify-reload", ...over }));
    s.start("d");
    s.notify("d", { ready: true });
    expect(s.state("d")).toBe("active");
    s.advance(1000);
    return s;
  }

  test("reload sends SIGHUP to the main process, then waits for RELOADING=1 and READY=1", () => {
    const s = running();
    const from = s.effects.length;
    s.request("reload", "d");
    expect(s.of("kill", from)).toEqual([{ type: "kill", unit: "d", pid: s.mainPid("d"), signal: 1, scope: "process" }]);
    expect(s.sub("d")).toBe("reload-signal");
    expect(s.state("d")).toBe("reloading");
    s.notify("d", { reloading: true, monotonicUsec: s.now * 1000 + 10 });
    expect(s.sub("d")).toBe("reload-notify");
    s.notify("d", { ready: true });
    expect(s.sub("d")).toBe("running");
    expect(s.jobResults("d")).toEqual(["done", "done"]);
  });

  test("reload_signal picks the signal", () => {
    const s = running({ reload_signal: 12 });
    const from = s.effects.length;
    s.request("reload", "d");
    expect(s.of("kill", from)[0]!.signal).toBe(12);
  });

  test("a RELOADING=1 from before the signal, or without MONOTONIC_USEC, and an early READY=1 do not end it", () => {
    const s = running();
    s.request("reload", "d");
    s.notify("d", { reloading: true, monotonicUsec: (s.now - 500) * 1000 });
    s.notify("d", { reloading: true });
    s.notify("d", { ready: true });
    expect(s.sub("d")).toBe("reload-signal");
    expect(s.jobResults("d")).toEqual(["done"]);
  });

  test("no answer: the reload job fails at timeout_start_sec, the service keeps running", () => {
    const s = running({ timeout_start_sec: 3 });
    s.request("reload", "d");
    s.advance(3000);
    expect(s.sub("d")).toBe("running");
    expect(s.jobResults("d")).toEqual(["done", "failed"]);
    expect(s.of("job-finished").at(-1)!.reason).toBe("no RELOADING=1 after reload_signal (timeout)");
  });

  test("READY=1 starts it, as notify", () => {
    const s = new EngineSim(service("d", { type: "notify-reload" }));
    s.start("d");
    expect(s.state("d")).toBe("activating");
    s.notify("d", { ready: true });
    expect(s.state("d")).toBe("active");
  });
});
