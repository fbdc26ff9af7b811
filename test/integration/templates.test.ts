// Template units under `hearth run` with real processes: instances started by a
// dependency, by a template's wanted_by with default_instance, by `hearth ctl start`, by
// hearth.wants= on a kernel command line (given with --cmdline), aliases, and accept = true
// sockets whose connections get instances named as systemd names them.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { cleanup, hearthCommand, openFds, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { Session } from "../support/session.ts";
import { freePort } from "../support/clients.ts";

const session = new Session();
afterEach(() => session.end());

type Listed = { units: { name: string; active: string; sub: string; instanceOf?: string }[] };

describe("instances of a template, made when something names them", () => {
  test("by a dependency, by wanted_by with default_instance, by the kernel command line, by hearth ctl; each with its own state", async () => {
    const dir = writeConf({
      "greet@": `[unit]
description = "greeter for %I"
wanted_by = ["multi-user"]
default_instance = "world"

[service]
exec_start = ["/bin/sh", "-c", "echo hello %i from %n on %H; exec sleep 1000"]
`,
      app: `[unit]
wanted_by = ["multi-user"]
requires = ["greet@dep"]
after = ["greet@dep"]

[service]
exec_start = ["sleep", "1000"]
`,
    });
    const cmdline = join(dir, "cmdline");
    writeFileSync(cmdline, "console=ttyAMA0 quiet hearth.wants=greet@boot systemd.wants=greet@sd.service\n");
    let m: RunningManager | null = null;
    try {
      m = await startManager(dir, ["--cmdline", cmdline]);
      const running = m;
      for (const name of ["greet@world", "greet@dep", "app", "greet@boot", "greet@sd"]) await running.waitForState(name, "active");
      const hostname = (await Bun.file("/proc/sys/kernel/hostname").text()).trim();
      expect(await running.ctl("logs", "greet@world").then((r) => r.stdout)).toContain(`hello world from greet@world.service on ${hostname}`);
      expect(await running.unit("greet@dep")).toMatchObject({ description: "greeter for dep", active: "active", sub: "running" });

      // Not named by anything: made by the start, shown by list and status, gone once stopped.
      expect((await running.ctl("start", "greet@by-hand")).code).toBe(0);
      const listed = await running.ctlJson<Listed>("list");
      expect(listed.units.find((u) => u.name === "greet@by-hand")).toMatchObject({ active: "active", sub: "running" });
      const status = await running.ctl("status", "greet@by-hand");
      expect(status.code).toBe(0);
      expect(status.stdout).toContain("greeter for by/hand"); // %I unescapes "-" to "/"
      expect((await running.ctl("stop", "greet@by-hand")).code).toBe(0);
      await poll("the stopped instance to go", async () =>
        !(await running.ctlJson<Listed>("list")).units.some((u) => u.name === "greet@by-hand"), { timeoutMs: 10_000, intervalMs: 25 });
      expect((await running.unit("greet@world")).active).toBe("active"); // the others are left alone
    } finally {
      await m?.stop();
      cleanup(m, dir);
    }
  });

  test("an instance of a template that does not exist is not found, as a missing unit", async () => {
    const m = await session.start({ cron: '[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["sleep", "1000"]\n' });
    await m.waitForState("cron", "active");
    const status = await m.ctl("status", "nope@x");
    expect(status.code).toBe(4);
    expect(status.stderr).toContain("unit nope@x not found");
    const start = await m.ctl("start", "nope@x");
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain("unit nope@x not found");
  });
});

describe("instances made by hearth ctl, many names", () => {
  test("each one's output is kept for hearth ctl logs once it is gone; the manager holds no fd for it", async () => {
    const m = await session.start({
      "job@": '[service]\ntype = "oneshot"\nexec_start = ["/bin/sh", "-c", "echo job %i done"]\n',
    });
    await m.waitForOutput(/Startup finished/);
    const run = async (i: number) => {
      expect((await m.ctl("start", `job@n${i}`)).code).toBe(0);
      await session.until(`job@n${i} to go`, async () => !(await m.ctlJson<Listed>("list")).units.some((u) => u.name === `job@n${i}`));
    };
    await run(0); // the manager's first output pipe and logger are made: the count is taken after
    const fdsBefore = openFds(m.proc.pid).length;
    for (let i = 1; i <= 12; i++) await run(i);
    expect(await session.logs("job@n7")).toContain("job n7 done");
    await session.until("the manager's fds back to their count", async () => openFds(m.proc.pid).length <= fdsBefore);
  });
});

describe("hearth check", () => {
  test("checks a template as an instance of a placeholder, with errors at the template's FILE:LINE:COL", async () => {
    const dir = writeConf({
      "getty@": '[unit]\ndescription = "getty on %I"\n[service]\nexec_start = ["/bin/sh", "-c", "exec agetty %I %y"]\n',
    });
    try {
      const proc = Bun.spawn([...hearthCommand(), "check", "-c", dir], { stdout: "pipe", stderr: "pipe" });
      const out = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(1);
      expect(out.trim().split("\n")).toEqual([
        `${dir}/units/getty@.toml:4:32: error: exec_start[2]: the string "exec agetty %I %y": unknown specifier '%y' (write '%%' for a '%'; known: %i %I %n %N %p %P %j %J %f %H %t %S %C %L %E %h %u %U %g %G %m %b %v %%)`,
        expect.stringMatching(/units, 1 error, 0 warnings$/) as unknown as string,
      ]);
    } finally {
      cleanup(null, dir);
    }
  });
});

describe("aliases", () => {
  test("an alias names its unit in dependencies and for hearth ctl", async () => {
    const m = await session.start({
      sshd: '[unit]\naliases = ["ssh"]\n[service]\nexec_start = ["sleep", "1000"]\n',
      login: '[unit]\nwanted_by = ["multi-user"]\nrequires = ["ssh"]\nafter = ["ssh"]\n[service]\nexec_start = ["sleep", "1000"]\n',
    });
    await m.waitForState("login", "active");
    expect((await m.unit("sshd")).active).toBe("active");
    const status = await m.ctlJson<{ units: { name: string; active: string }[] }>("status", "ssh");
    expect(status.units[0]).toMatchObject({ name: "sshd", active: "active" });
    expect((await m.ctl("stop", "ssh")).code).toBe(0);
    expect((await m.unit("sshd")).active).toBe("inactive");
  });
});

describe("accept = true: a socket template", () => {
  test("two connections at once get an instance each, both listed with their state; both go with their connections, nothing leaks", async () => {
    const port = await freePort();
    const m = await session.start({
      "echo@": `[unit]
description = "echo for %i"

[service]
exec_start = ["/bin/cat"]
standard_input = "socket"

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
`,
    });
    const open = async () => {
      const s = connect({ host: "127.0.0.1", port });
      await new Promise((resolve) => s.on("connect", resolve));
      return s;
    };
    const echo = (s: Socket, text: string) => new Promise<string>((resolve) => {
      s.once("data", (d) => resolve(d.toString()));
      s.write(text);
    });
    // A first connection makes the socket unit's output pipe; the count is taken after it.
    const first = await open();
    expect(await echo(first, "warm\n")).toBe("warm\n");
    first.end();
    await session.until("the first instance to go", async () => (await m.unit("echo")).connected === 0);
    const fdsBefore = openFds(m.proc.pid).length;

    const [a, b] = [await open(), await open()];
    expect(await echo(a, "a\n")).toBe("a\n");
    expect(await echo(b, "b\n")).toBe("b\n");
    const names = [1, 2].map((n, i) => `echo@${n}-127.0.0.1:${port}-127.0.0.1:${[a, b][i]!.localPort}`);
    const listed = (await m.ctlJson<Listed>("list")).units.filter((u) => u.instanceOf === "echo");
    expect(listed.map((u) => u.name).sort()).toEqual([...names].sort());
    for (const u of listed) expect(u).toMatchObject({ active: "active", sub: "running" });
    expect(await m.unit(names[0]!)).toMatchObject({ description: `echo for ${names[0]!.slice("echo@".length)}` });
    expect(await m.unit("echo")).toMatchObject({ active: "active", sub: "listening", accepted: 3, connected: 2 });

    a.end();
    b.end();
    await session.until("both instances to go", async () =>
      !(await m.ctlJson<Listed>("list")).units.some((u) => u.instanceOf === "echo"));
    await session.until("the manager's fds back to their count", async () => openFds(m.proc.pid).length <= fdsBefore);
  });

  test("a unix socket's connection names its instance after the peer's pid and uid, as systemd does", async () => {
    const dir = session.scratch("unix");
    const path = join(dir, "echo.sk");
    const m = await session.start({
      "echo@": `[service]\nexec_start = ["/bin/cat"]\nstandard_input = "socket"\n[[socket]]\nlisten_stream = "${path}"\naccept = true\n`,
    });
    const s = connect({ path });
    await new Promise((resolve) => s.on("connect", resolve));
    const name = `echo@0-${process.pid}-${process.getuid!()}`; // this test process is the peer
    await session.until("the instance in the list", async () =>
      (await m.ctlJson<Listed>("list")).units.find((u) => u.name === name && u.active === "active"));
    s.end();
    await session.until("the instance to go", async () => (await m.unit("echo")).connected === 0);
  });
});
