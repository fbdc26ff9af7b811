// The main process of a service, on the virtual clock: what its exit means ("-" prefix,
// remain_after_exit), finding it when it forked away (type = "forking" without a pid
// file), who may name it (MAINPID=), and what the notify messages about it log.
import { describe, expect, test } from "bun:test";
import { EngineSim, MANAGER_PID } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

const ok = { kind: "exited", code: 0 } as const;
const killed = (signal: number) => ({ kind: "killed", signal, coreDumped: false }) as const;

describe('exec_start with the "-" prefix (Debian\'s ssh@.service: ExecStart=-/usr/sbin/sshd -i)', () => {
  test("a main process exiting 255 ends the unit inactive with result success, and restart = on-failure does not restart it", () => {
    const sim = new EngineSim(service("sshd", { exec_start: { argv: ["/usr/sbin/sshd", "-i"], ignoreFailure: true }, restart: "on-failure" }));
    sim.start("sshd");
    expect(sim.state("sshd")).toBe("active");
    sim.exit("sshd", { kind: "exited", code: 255 });
    expect(sim.sub("sshd")).toBe("dead");
    expect(sim.rt("sshd").result).toBe("success");
    sim.advance(10_000);
    expect(sim.spawnOrder()).toEqual(["sshd"]);
    // The exit is still told, as an ignored failure.
    expect(sim.logs("sshd").some((l) => l.includes("code=255") && l.includes("ignored"))).toBe(true);
  });

  test("a oneshot whose '-' command fails finishes its start job as done", () => {
    const sim = new EngineSim(service("o", { type: "oneshot", exec_start: { argv: ["/bin/false"], ignoreFailure: true } }));
    sim.start("o");
    sim.exit("o", { kind: "exited", code: 1 });
    expect(sim.state("o")).toBe("inactive");
    expect(sim.jobResults("o")).toEqual(["done"]);
  });

  test("without the prefix the same exit fails the unit", () => {
    const sim = new EngineSim(service("sshd", { restart: "no" }));
    sim.start("sshd");
    sim.exit("sshd", { kind: "exited", code: 255 });
    expect(sim.state("sshd")).toBe("failed");
  });
});

describe("remain_after_exit for every service type", () => {
  test("a simple service whose main process exits 0 stays active (exited); stop ends it inactive", () => {
    const sim = new EngineSim(service("s", { remain_after_exit: true }));
    sim.start("s");
    sim.exit("s", ok);
    expect(`${sim.state("s")}/${sim.sub("s")}`).toBe("active/exited");
    sim.stop("s");
    expect(sim.state("s")).toBe("inactive");
  });

  test("a failing exit still fails the unit", () => {
    const sim = new EngineSim(service("s", { remain_after_exit: true }));
    sim.start("s");
    sim.exit("s", { kind: "exited", code: 2 });
    expect(sim.state("s")).toBe("failed");
  });

  test("a notify service after READY=1, and a forking daemon, stay active (exited) too", () => {
    const sim = new EngineSim(
      service("n", { type: "notify", remain_after_exit: true }),
      service("f", { type: "forking", pid_file: "/run/f.pid", remain_after_exit: true }),
    );
    sim.start("n");
    sim.notify("n", { ready: true });
    sim.exit("n", ok);
    expect(sim.sub("n")).toBe("exited");
    sim.start("f");
    sim.exit("f", ok);
    sim.send({ type: "pid-file", unit: "f", pid: 777 });
    sim.exit("f", killed(15));
    expect(sim.sub("f")).toBe("exited");
  });
});

describe('type = "forking" without pid_file: the main pid is guessed from the unit\'s cgroup', () => {
  test("the one process left after the parent exits becomes the main pid; its death ends the unit; restart works", () => {
    const sim = new EngineSim(service("d", { type: "forking", restart: "no" }));
    sim.cgroup.set("d", { candidates: [555], populated: true });
    sim.start("d");
    expect(sim.state("d")).toBe("activating");
    sim.exit("d", ok); // the parent
    expect(sim.effects.some((e) => e.type === "find-main-pid" && e.unit === "d")).toBe(true);
    expect(sim.state("d")).toBe("active");
    expect(sim.mainPid("d")).toBe(555);
    sim.send({ type: "exited", pid: 555, status: killed(9) });
    expect(sim.state("d")).toBe("failed");
    sim.cgroup.set("d", { candidates: [601], populated: true });
    sim.request("restart", "d");
    sim.exit("d", ok);
    expect(sim.state("d")).toBe("active");
    expect(sim.mainPid("d")).toBe(601);
  });

  test("with several candidates no main pid is set: the unit lives while its cgroup is populated", () => {
    const sim = new EngineSim(service("d", { type: "forking" }));
    sim.cgroup.set("d", { candidates: [555, 556], populated: true });
    sim.start("d");
    sim.exit("d", ok);
    expect(sim.state("d")).toBe("active");
    expect(sim.rt("d").mainPid).toBeNull();
    expect(sim.watched.has("d")).toBe(true);
    sim.cgroupEmptied("d");
    expect(sim.state("d")).toBe("inactive");
  });

  test("a stop without a main pid signals the whole cgroup and waits for it to empty", () => {
    const sim = new EngineSim(service("d", { type: "forking", timeout_stop_sec: 5 }));
    sim.cgroup.set("d", { candidates: [], populated: true });
    sim.start("d");
    sim.exit("d", ok);
    sim.stop("d");
    expect(sim.kills("d").map((k) => `${k.signal}/${k.scope}`)).toEqual(["15/unit", "18/unit"]);
    expect(sim.state("d")).toBe("deactivating");
    sim.cgroupEmptied("d");
    expect(sim.state("d")).toBe("inactive");
    expect(sim.jobResults("d")).toEqual(["done", "done"]);
  });

  test("a stop whose cgroup never empties gets SIGKILL at timeout_stop_sec, then gives up", () => {
    const sim = new EngineSim(service("d", { type: "forking", timeout_stop_sec: 5 }));
    sim.cgroup.set("d", { candidates: [], populated: true });
    sim.start("d");
    sim.exit("d", ok);
    sim.stop("d");
    sim.advance(5000);
    expect(sim.kills("d").map((k) => `${k.signal}/${k.scope}`)).toEqual(["15/unit", "18/unit", "9/unit"]);
    sim.advance(5000);
    expect(sim.state("d")).toBe("inactive");
  });

  test("a daemon already gone when the parent exits leaves the unit inactive, not active without processes", () => {
    const sim = new EngineSim(service("d", { type: "forking" }));
    sim.start("d");
    sim.exit("d", ok);
    expect(sim.state("d")).toBe("inactive");
  });

  test("an unreadable pid file falls back to the guess", () => {
    const sim = new EngineSim(service("d", { type: "forking", pid_file: "/run/d.pid" }));
    sim.cgroup.set("d", { candidates: [555], populated: true });
    sim.start("d");
    sim.exit("d", ok);
    sim.send({ type: "pid-file", unit: "d", pid: null, error: "ENOENT" });
    expect(sim.mainPid("d")).toBe(555);
  });
});

describe("MAINPID= authorisation", () => {
  const notifyUnit = () => service("n", { type: "notify", notify_access: "all" });

  test("even root may not name PID 1 or the manager: a later stop signals neither", () => {
    const sim = new EngineSim(notifyUnit());
    sim.start("n");
    const own = sim.mainPid("n");
    sim.notify("n", { ready: true, mainPid: MANAGER_PID }, own, { uid: 0 });
    sim.notify("n", { mainPid: 1 }, own, { uid: 0 });
    expect(sim.mainPid("n")).toBe(own);
    expect(sim.logs("n", "warning").filter((l) => l.includes("refused")).length).toBe(2);
    sim.stop("n");
    expect(sim.kills("n").every((k) => k.pid === own)).toBe(true);
  });

  test("a pid that does not exist is refused, even from root: a stop would wait for it until it times out", () => {
    const sim = new EngineSim(notifyUnit());
    sim.start("n");
    const own = sim.mainPid("n");
    sim.notify("n", { ready: true, mainPid: 2147483647 }, own, { uid: 0, alive: false });
    expect(sim.mainPid("n")).toBe(own);
    expect(sim.logs("n", "warning").some((l) => l.includes("MAINPID=2147483647") && l.includes("no such process"))).toBe(true);
  });

  test("pids <= 0 and the control process are refused", () => {
    const sim = new EngineSim(service("n", { type: "notify", notify_access: "all", exec_reload: [{ argv: ["/bin/reload"], ignoreFailure: false }] }));
    sim.start("n");
    sim.notify("n", { ready: true });
    const own = sim.mainPid("n");
    sim.notify("n", { mainPid: 0 }, own, { uid: 0 });
    sim.notify("n", { mainPid: -5 }, own, { uid: 0 });
    sim.request("reload", "n");
    const control = sim.rt("n").controlPid!;
    sim.notify("n", { mainPid: control }, own, { uid: 0, inUnit: true });
    expect(sim.mainPid("n")).toBe(own);
  });

  test("a non-root sender may name only a process of the unit; root may name any other", () => {
    const sim = new EngineSim(notifyUnit());
    sim.start("n");
    const own = sim.mainPid("n");
    sim.notify("n", { mainPid: 9000 }, own, { uid: 1000, inUnit: false });
    expect(sim.mainPid("n")).toBe(own);
    sim.notify("n", { mainPid: 9001 }, own, { uid: 1000, inUnit: true });
    expect(sim.mainPid("n")).toBe(9001);
    sim.notify("n", { mainPid: 9002 }, 9001, { uid: 0, inUnit: false });
    expect(sim.mainPid("n")).toBe(9002);
  });
});

describe("notify messages are logged at debug", () => {
  test("each accepted message is logged with its assignments; a refused one with why", () => {
    const sim = new EngineSim(service("n", { type: "notify" }));
    sim.start("n");
    const pid = sim.mainPid("n");
    sim.notify("n", { ready: true, status: "Serving", extendTimeoutUsec: 5_000_000, watchdogUsec: 2_000_000 });
    sim.notify("n", { reloading: true });
    sim.notify("n", { ready: true });
    sim.notify("n", { stopping: true }, 4242);
    const debug = sim.logs("n", "debug").join("\n");
    expect(debug).toContain(`PID ${pid}`);
    for (const s of ["READY=1", "STATUS=Serving", "EXTEND_TIMEOUT_USEC=5000000", "WATCHDOG_USEC=2000000", "RELOADING=1"]) {
      expect(debug).toContain(s);
    }
    // Refusals go to the shell, which logs them within the sender's rate limit.
    const refused = sim.of("notify-refused").map((e) => e.reason).find((l) => l.includes("4242"))!;
    expect(refused).toContain("STOPPING=1");
    expect(refused).toContain("only permitted for main PID");
  });
});
