// The manager on a fake host (test/support/fake-host.ts): no processes, fds or timers,
// only what it asks the host to do, in order.
import { describe, expect, test } from "bun:test";
import type { LoadedConfig, SocketSection, UnitConfig } from "../../src/config/types.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { Manager, type ManagerOptions } from "../../src/manager/manager.ts";
import { timeline } from "../../src/control/status.ts";
import { plot } from "../../src/control/analyze.ts";
import { FakeHost } from "../support/fake-host.ts";
import { acceptTemplates, service, target } from "../support/units.ts";

function managerOn(host: FakeHost, units: UnitConfig[], startup?: ManagerOptions["startup"]) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", sink: (r) => void lines.push(`${r.unit}: ${r.text}`) });
  const config = { system: {}, units: new Map(units.map((u) => [u.name, u])), diagnostics: [], catalog: acceptTemplates(units) } as unknown as LoadedConfig;
  const m = new Manager({
    config, runDir: "/fake/run", target: "multi-user", logger, systemMode: false, host,
    console: (line) => void lines.push(line), exit: (code, reason) => void lines.push(`exit ${code}: ${reason}`),
    ...(startup ? { startup } : {}),
  });
  m.start();
  return { m, lines, internalErrors: () => lines.filter((l) => l.includes("internal error")) };
}

const sh = (script: string) => ({ exec_start: { argv: ["sh", "-c", script], ignoreFailure: false } });
const SIGTERM = 15;

describe("the manager on a fake host", () => {
  test("a READY=1 datagram from db leads to the spawn of web, ordered after it", () => {
    const host = new FakeHost();
    const { m, lines, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["db", "web"] }),
      service("db", { type: "notify", ...sh("db") }),
      service("web", sh("web"), { requires: ["db"], after: ["db"] }),
    ]);
    expect(host.trace.filter((t) => t.startsWith("spawn"))).toEqual(["spawn sh -c db -> 100"]);
    host.notify(100, { ready: true });
    expect(host.trace.filter((t) => t.startsWith("spawn"))).toEqual(["spawn sh -c db -> 100", "spawn sh -c web -> 101"]);
    expect(m.unit("web")!.active).toBe("active");
    expect(lines.filter((l) => l.includes("Startup finished")).length).toBe(1);
    expect(internalErrors()).toEqual([]);
  });

  test("an accept = true instance that ends: its leftover is killed, its cgroup removed, its connection closed", () => {
    const host = new FakeHost();
    const socket = { listen_stream: "/run/echo.sk", accept: true, socket_mode: 0o666, fd_name: null, service: "echo@" } as SocketSection;
    const { m, internalErrors } = managerOn(host, [
      target("multi-user"),
      { ...service("echo", sh("echo hello; sleep 300 &")), sockets: [socket] },
    ]);
    expect(host.watched.has("echo/0")).toBe(true);
    m.dispatch({ type: "connection", unit: "echo", index: 0, connection: 1, source: "uid 0", ends: "1-0" });
    const instance = m.unit("echo@0-1-0")!.mainPid!;
    const leftover = host.fork(instance, "sleep");
    host.end(instance);
    host.deliver();
    expect(m.unit("echo@0-1-0")).toBeNull();
    expect(host.alive(leftover)).toBe(false);
    host.deliver(); // the leftover's own exit
    expect(host.cgroupDirs.has("echo@0-1-0")).toBe(false);
    expect(host.closedConnections).toEqual([1]);
    expect(internalErrors()).toEqual([]);
  });

  test("restart: the old run's leftover that ignores SIGTERM is killed before the new run is spawned", () => {
    const host = new FakeHost();
    const { m, internalErrors } = managerOn(host, [target("multi-user", { wants: ["web"] }), service("web", sh("web"))]);
    const first = m.unit("web")!.mainPid!;
    const stubborn = host.fork(first, "stubborn", [SIGTERM]);
    void m.request("restart", "web");
    host.deliver();
    expect(host.alive(stubborn)).toBe(false);
    const killed = host.trace.indexOf("kill cgroup web 9");
    const respawned = host.trace.findIndex((t) => t.startsWith("spawn sh -c web -> ") && !t.endsWith(` ${first}`));
    expect(killed).toBeGreaterThan(-1);
    expect(respawned).toBeGreaterThan(killed);
    expect(m.unit("web")!.active).toBe("active");
    expect(internalErrors()).toEqual([]);
  });

  test("startup finished is reported once, however often the target is started again", () => {
    const host = new FakeHost();
    const { m, lines } = managerOn(host, [target("multi-user", { wants: ["a"] }), service("a", sh("a"))]);
    void m.request("restart", "multi-user");
    void m.request("start", "multi-user");
    expect(lines.filter((l) => l.includes("Startup finished")).map((l) => l.replace(/\d+ ms/, "N ms"))).toEqual([
      "          Startup finished in N ms (userspace); 2 units active",
    ]);
  });

  test("without cgroups, the leftovers are found through the process group of the first main process", () => {
    const host = new FakeHost(false);
    const { m, lines } = managerOn(host, [target("multi-user", { wants: ["web"] }), service("web", sh("web"))]);
    const main = m.unit("web")!.mainPid!;
    const child = host.fork(main, "child", [SIGTERM]);
    const away = host.fork(main, "away");
    host.procs.get(away)!.sid = away; // setsid: out of the group
    void m.request("stop", "web");
    host.deliver();
    expect(host.alive(child)).toBe(false);
    expect(host.trace).toContain(`kill -${main} 9`);
    expect(host.alive(away)).toBe(true);
    expect(lines.some((l) => l.includes("[ WARN ]") && l.includes(`${away} (away)`))).toBe(true);
  });

  test("without cgroups, a unit with device_policy or ip_address_deny fails to start instead of running unconfined; private_devices alone starts, warned", () => {
    const host = new FakeHost(false);
    const { m, lines, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["fenced", "devices", "private"] }),
      service("fenced", { ...sh("fenced"), ip_address_deny: ["any"] }),
      service("devices", { ...sh("devices"), device_policy: "closed" }),
      service("private", { ...sh("private"), private_devices: true }),
    ]);
    expect(m.unit("fenced")!.active).toBe("failed");
    expect(m.unit("devices")!.active).toBe("failed");
    expect(m.unit("private")!.active).toBe("active");
    expect(host.trace.filter((t) => t.startsWith("spawn"))).toEqual(["spawn sh -c private -> 100"]);
    expect(lines.some((l) => l.includes("need the unit's cgroup: cgroup v2 is not usable"))).toBe(true);
    expect(lines.some((l) => l.includes("private: private_devices: no device program on the cgroup"))).toBe(true);
    expect(internalErrors()).toEqual([]);
  });

  test("a spawn that throws fails its unit instead of leaving it activating", () => {
    const host = new FakeHost();
    host.spawn = () => {
      throw new Error("no more pids");
    };
    const { m, internalErrors } = managerOn(host, [target("multi-user", { wants: ["web"] }), service("web", sh("web"))]);
    expect(m.unit("web")!.active).toBe("failed");
    expect(internalErrors()[0]).toContain("internal error performing spawn for web: Error: no more pids");
  });

  test("as PID 1 the boot chart starts with the kernel's part, and hearth's own start-up follows it", () => {
    const host = new FakeHost();
    host.clock = 500; // the manager starts 500 ms after the handover: runtime and configuration
    // CLOCK_BOOTTIME = manager clock + 1200: the kernel handed over at 1200 ms since boot.
    const phases = { origin: "kernel" as const, marks: [{ phase: "handover" as const, atMs: 1200 }, { phase: "config-loaded" as const, atMs: 1650 }] };
    const { m } = managerOn(host, [target("multi-user", { wants: ["web"] }), service("web", sh("web"))], { phases, offsetMs: 1200 });
    const t = timeline(m);
    expect(t.kernelMs).toBe(1200);
    expect(t.units.find((u) => u.name === "web")!.activatingAt! - t.startedAt).toBeCloseTo(500, 3);
    expect(plot(t)).toContain("kernel (1.2");
  });

  test("conditions are tested on the host's facts at the start: a missing path skips the unit, the rest comes up", () => {
    const host = new FakeHost();
    host.paths.add("/etc/web.conf");
    const { m, lines, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["web", "opt"] }),
      { ...service("web", sh("web")), conditions: [{ check: "path_exists", assert: false, trigger: false, negate: false, param: "/etc/web.conf" }] },
      { ...service("opt", sh("opt")), conditions: [{ check: "path_exists", assert: false, trigger: false, negate: false, param: "/nonexistent" }] },
    ]);
    expect(host.trace.filter((t) => t.startsWith("spawn"))).toEqual(["spawn sh -c web -> 100"]);
    expect(m.unit("web")!.active).toBe("active");
    expect(m.unit("opt")!.active).toBe("inactive");
    expect(m.unit("opt")!.unmet?.text).toBe("condition_path_exists=/nonexistent");
    expect(lines).toContain("opt: Condition check resulted in opt being skipped: condition_path_exists=/nonexistent");
    expect(internalErrors()).toEqual([]);
  });
});
