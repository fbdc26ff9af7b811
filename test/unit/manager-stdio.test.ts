// The fds a spawn gets for standard_input/output/error, on the fake host
// (test/support/fake-host.ts): what the manager opens, hands over, and closes after.
import { describe, expect, test } from "bun:test";
import type { LoadedConfig, ServiceSection, SocketSection, UnitConfig } from "../../src/config/types.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { Manager } from "../../src/manager/manager.ts";
import { FakeHost } from "../support/fake-host.ts";
import { acceptTemplates, service, target } from "../support/units.ts";

function managerOn(host: FakeHost, units: UnitConfig[]) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", sink: (r) => void lines.push(`${r.unit}: ${r.text}`) });
  const config = { system: {}, units: new Map(units.map((u) => [u.name, u])), diagnostics: [], catalog: acceptTemplates(units) } as unknown as LoadedConfig;
  const m = new Manager({
    config, runDir: "/fake/run", target: "multi-user", logger, systemMode: true, host,
    console: (line) => void lines.push(line), exit: (code, reason) => void lines.push(`exit ${code}: ${reason}`),
  });
  m.start();
  return { m, lines, internalErrors: () => lines.filter((l) => l.includes("internal error")) };
}

const daemon = (over: Partial<ServiceSection>) => service("daemon", { exec_start: { argv: ["/usr/sbin/daemon"], ignoreFailure: false }, ...over });

describe("a service's stdio on the fake host", () => {
  test("null: stdin, stdout and stderr are the manager's /dev/null, and no file is opened", () => {
    const host = new FakeHost();
    const { internalErrors } = managerOn(host, [target("multi-user", { wants: ["daemon"] }), daemon({ standard_output: "null" })]);
    const [req] = host.requests;
    expect(req!.stdout).toBe(req!.stdin!);
    expect(req!.stderr).toBe(req!.stdin!);
    expect(host.files.size).toBe(0);
    expect(internalErrors()).toEqual([]);
  });

  test("append: a file opened with the unit's umask, on stdout and stderr, closed once the child has it", () => {
    const host = new FakeHost();
    const { internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["daemon"] }),
      daemon({ standard_output: "append:/var/log/daemon.log", umask: 0o027 }),
    ]);
    const [req] = host.requests;
    expect(host.files.get(req!.stdout!)).toBe("append:/var/log/daemon.log 640");
    expect(req!.stderr).toBe(req!.stdout!);
    expect(host.closed).toContain(req!.stdout!);
    expect(internalErrors()).toEqual([]);
  });

  test("stdout to a file, stderr to the log: two fds, and only the file is closed", () => {
    const host = new FakeHost();
    managerOn(host, [
      target("multi-user", { wants: ["daemon"] }),
      daemon({ standard_output: "truncate:/run/daemon.out", standard_error: "journal" }),
    ]);
    const [req] = host.requests;
    expect(host.files.get(req!.stdout!)).toBe("truncate:/run/daemon.out 644");
    expect(host.files.has(req!.stderr!)).toBe(false);
    expect(req!.stderr).not.toBe(req!.stdin!);
    expect(host.closed).toEqual([req!.stdout!]);
  });

  test("a file that cannot be opened fails the start with the path and the reason; nothing is spawned", () => {
    const host = new FakeHost();
    host.unopenable.set("/ro/daemon.log", "open /ro/daemon.log: Read-only file system (EROFS)");
    const { m, lines, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["daemon"] }),
      daemon({ standard_output: "file:/var/log/ok.log", standard_error: "file:/ro/daemon.log" }),
    ]);
    expect(host.requests).toEqual([]);
    expect(m.unit("daemon")!.active).toBe("failed");
    expect(lines).toContain("daemon: Failed to execute main process: standard_error: cannot open /ro/daemon.log: open /ro/daemon.log: Read-only file system (EROFS)");
    const [opened] = host.files.keys();
    expect(host.closed).toContain(opened!); // stdout's file, opened before stderr's failed
    expect(internalErrors()).toEqual([]);
  });

  test("no console for stderr: the start fails with the reason, and stdout's file is closed", () => {
    const host = new FakeHost();
    host.openConsole = () => { throw new Error("open /dev/console: No such device (ENODEV)"); };
    const { m, lines, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["daemon"] }),
      daemon({ standard_output: "file:/var/log/daemon.log", standard_error: "tty" }),
    ]);
    expect(host.requests).toEqual([]);
    expect(m.unit("daemon")!.active).toBe("failed");
    expect(lines).toContain("daemon: Failed to execute main process: standard_error: cannot open the tty: open /dev/console: No such device (ENODEV)");
    expect(host.closed).toEqual([...host.files.keys()]);
    expect(internalErrors()).toEqual([]);
  });

  test("inetd style: the connection on stdin, stdout and stderr of every process of the instance, and not at fd 3", () => {
    const host = new FakeHost();
    const socket = { listen_stream: "/run/echo.sk", accept: true, socket_mode: 0o666, fd_name: null, service: "echo@" } as SocketSection;
    const { m, internalErrors } = managerOn(host, [
      target("multi-user"),
      { ...service("echo", {
        exec_start: { argv: ["/usr/sbin/echod"], ignoreFailure: false }, exec_start_pre: [{ argv: ["/usr/sbin/echo-check"], ignoreFailure: false }],
        type: "exec", standard_input: "socket", standard_output: "inherit",
      }), sockets: [socket] },
    ]);
    m.dispatch({ type: "connection", unit: "echo", index: 0, connection: 7, source: "uid 0", ends: "1-0" });
    const prePid = Number(host.trace.find((t) => t.startsWith("spawn /usr/sbin/echo-check"))!.split(" -> ")[1]);
    host.end(prePid); // exec_start_pre ends well: the main process follows
    host.deliver();
    const [pre, req] = host.requests;
    expect(pre!.argv).toEqual(["/usr/sbin/echo-check"]);
    expect(req!.argv).toEqual(["/usr/sbin/echod"]);
    for (const r of [pre!, req!]) {
      expect([r.stdin, r.stdout, r.stderr]).toEqual([1007, 1007, 1007]);
      expect(r.fds).toEqual([]);
      expect(r.env.LISTEN_FDS).toBeUndefined();
    }
    expect(internalErrors()).toEqual([]);
  });
});
