// A oneshot's several exec_start, exec_condition and exec_stop_post in the engine, on a
// virtual clock: what runs in which order, what the unit and its job end as.
import { describe, expect, test } from "bun:test";
import type { ExecCommand, ServiceSection } from "../../src/config/types.ts";
import type { ExitStatus } from "../../src/engine/types.ts";
import { EngineSim } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const cmd = (path: string, ignoreFailure = false): ExecCommand => ({ argv: [path], ignoreFailure });
const EXIT = (code: number): ExitStatus => ({ kind: "exited", code });

function sim(svc: Partial<ServiceSection>) {
  return new EngineSim(service("job", svc));
}

/** The control process exits with `status`. */
function controlExits(s: EngineSim, status: ExitStatus = EXIT(0)) {
  s.send({ type: "exited", pid: s.rt("job").controlPid!, status });
}

const programs = (s: EngineSim) => s.spawned.map((p) => p.argv[0]);
const envOf = (s: EngineSim, program: string) => s.of("spawn").find((e) => e.command.argv[0] === program)?.env;

describe("several exec_start for a oneshot", () => {
  const oneshot = { type: "oneshot" as const, exec_start: cmd("/a"), exec_start_next: [cmd("/b"), cmd("/c")] };

  test("they run in order, each as the main process; the start is done after the last", () => {
    const s = sim(oneshot);
    s.start("job");
    s.exit("job");
    expect(s.state("job")).toBe("activating");
    s.exit("job");
    s.exit("job");
    expect(programs(s)).toEqual(["/a", "/b", "/c"]);
    expect(s.spawned.map((p) => p.role)).toEqual(["main", "main", "main"]);
    expect(s.jobResults("job")).toEqual(["done"]);
    expect(s.state("job")).toBe("inactive");
  });

  test("one failing fails the start; the rest do not run", () => {
    const s = sim(oneshot);
    s.start("job");
    s.exit("job", EXIT(3));
    expect(programs(s)).toEqual(["/a"]);
    expect(s.jobResults("job")).toEqual(["failed"]);
    expect(s.state("job")).toBe("failed");
  });

  test('a "-" command that cannot be executed is passed over too', () => {
    const s = sim({ ...oneshot, exec_start_next: [cmd("/b", true), cmd("/c")] });
    s.failProgram.add("/b");
    s.start("job");
    s.exit("job");
    expect(s.sub("job")).toBe("start");
    s.exit("job");
    expect(s.of("spawn").map((e) => e.command.argv[0])).toEqual(["/a", "/b", "/c"]);
    expect(s.jobResults("job")).toEqual(["done"]);
  });

  test('a "-" command may fail and the next one runs', () => {
    const s = sim({ ...oneshot, exec_start_next: [cmd("/b", true), cmd("/c")] });
    s.start("job");
    s.exit("job");
    s.exit("job", EXIT(1));
    s.exit("job");
    expect(programs(s)).toEqual(["/a", "/b", "/c"]);
    expect(s.jobResults("job")).toEqual(["done"]);
  });
});

describe("exec_stop_post", () => {
  test("runs after a stop, with SERVICE_RESULT success and how the main process ended", () => {
    const s = sim({ exec_stop_post: [cmd("/post")] });
    s.start("job");
    s.stop("job");
    expect(s.sub("job")).toBe("stop-sigterm");
    s.exit("job", { kind: "killed", signal: 15, coreDumped: false });
    expect(s.sub("job")).toBe("stop-post");
    expect(envOf(s, "/post")).toEqual({ SERVICE_RESULT: "success", EXIT_CODE: "killed", EXIT_STATUS: "15" });
    controlExits(s);
    expect(s.state("job")).toBe("inactive");
    expect(s.jobResults("job")).toEqual(["done", "done"]);
  });

  test("runs after the main process failed, before the restart; once per run", () => {
    const s = sim({ exec_stop_post: [cmd("/post")], restart: "on-failure" });
    s.start("job");
    s.exit("job", EXIT(2));
    expect(s.sub("job")).toBe("stop-post");
    expect(envOf(s, "/post")).toEqual({ SERVICE_RESULT: "exit-code", EXIT_CODE: "exited", EXIT_STATUS: "2" });
    controlExits(s);
    expect(s.sub("job")).toBe("auto-restart");
    s.advance(100);
    expect(programs(s)).toEqual(["/bin/true", "/post", "/bin/true"]);
  });

  test("runs even when the start failed in exec_start_pre, with no exit of a main process", () => {
    const s = sim({ exec_start_pre: [cmd("/pre")], exec_stop_post: [cmd("/post")] });
    s.start("job");
    controlExits(s, EXIT(1));
    expect(programs(s)).toEqual(["/pre", "/post"]);
    expect(envOf(s, "/post")).toEqual({ SERVICE_RESULT: "exit-code" });
    controlExits(s);
    expect(s.state("job")).toBe("failed");
    expect(s.jobResults("job")).toEqual(["failed"]);
  });

  test("runs when the program could not be executed", () => {
    const s = sim({ exec_stop_post: [cmd("/post")] });
    s.failSpawn.add("job");
    s.start("job");
    // The spawn of /post fails too (the fake fails every spawn of the unit): the unit still ends.
    expect(s.sub("job")).toBe("failed");
    expect(s.of("spawn").map((e) => e.command.argv[0])).toEqual(["/bin/true", "/post"]);
  });

  test("a stop_post that hangs is killed after timeout_stop_sec and the unit goes down", () => {
    const s = sim({ exec_stop_post: [cmd("/post")], timeout_stop_sec: 5 });
    s.start("job");
    s.exit("job");
    expect(s.sub("job")).toBe("stop-post");
    s.advance(5000);
    expect(s.state("job")).toBe("failed");
    expect(s.rt("job").result).toBe("timeout");
  });
});

describe("exec_condition", () => {
  test("exit 1..254 skips the start as a condition: job done, unit inactive, nothing else runs", () => {
    const s = sim({ exec_condition: [cmd("/check")], exec_start_pre: [cmd("/pre")] });
    s.now = 7;
    s.start("job");
    expect(s.sub("job")).toBe("condition");
    controlExits(s, EXIT(1));
    expect(programs(s)).toEqual(["/check"]);
    expect(s.state("job")).toBe("inactive");
    expect(s.jobResults("job")).toEqual(["done"]);
    expect(s.of("job-finished")[0]!.reason).toBe("skipped: exec_condition /check exited with 1");
    expect(s.engine.snapshot("job")!.unmet).toEqual({ assert: false, text: "exec_condition /check exited with 1", at: 7 });
    expect(s.of("console")).toEqual([]);
  });

  test("exit 0 goes on to exec_start_pre and exec_start; a later start clears the skip", () => {
    const s = sim({ exec_condition: [cmd("/check"), cmd("/check2")], exec_start_pre: [cmd("/pre")] });
    s.start("job");
    controlExits(s, EXIT(254));
    s.start("job");
    controlExits(s);
    controlExits(s);
    controlExits(s);
    expect(programs(s)).toEqual(["/check", "/check", "/check2", "/pre", "/bin/true"]);
    expect(s.state("job")).toBe("active");
    expect(s.engine.snapshot("job")!.unmet).toBeNull();
  });

  test("exit 255 or a signal fails the unit", () => {
    for (const status of [EXIT(255), { kind: "killed", signal: 9, coreDumped: false } as ExitStatus]) {
      const s = sim({ exec_condition: [cmd("/check")] });
      s.start("job");
      controlExits(s, status);
      expect(s.state("job")).toBe("failed");
      expect(s.jobResults("job")).toEqual(["failed"]);
      expect(programs(s)).toEqual(["/check"]);
    }
  });
});
