// The real-library test peers (test/peers/) build and run. The end-to-end
// checks against hearth's notify socket live with the integration tests; here
// the peers run without NOTIFY_SOCKET, which sd_notify treats as "not under a
// manager" (it returns 0 and sends nothing).
//
// Needs libsystemd-dev, pkg-config, gcc and python3-systemd: test/setup-deps.sh.

import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const peers = join(root, "test", "peers");
const built = join(root, "build", "peers");

const cleanEnv = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(NOTIFY_SOCKET|WATCHDOG_|LISTEN_|TARGET_NOTIFY_SOCKET)/.test(k)) env[k] = v;
  }
  return env;
};

beforeAll(() => {
  const r = Bun.spawnSync(["sh", join(peers, "build.sh")], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new Error(`test/peers/build.sh failed (run test/setup-deps.sh as root first):\n${r.stderr.toString()}`);
  }
});

async function runUntilTick(cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const proc = Bun.spawn(cmd, { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  const reader = proc.stdout.getReader();
  let stdout = "";
  const deadline = Date.now() + 5000;
  while (!stdout.includes("tick 1\n") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  proc.kill("SIGTERM");
  const exitCode = await proc.exited;
  return { stdout, stderr: await new Response(proc.stderr).text(), exitCode };
}

describe("test peers", () => {
  test("the C peers are built", () => {
    for (const name of ["notify-libsystemd", "echo-libsystemd"]) expect(existsSync(join(built, name))).toBe(true);
  });

  test("every peer answers --help", () => {
    for (const cmd of [
      [join(built, "notify-libsystemd"), "--help"],
      [join(built, "echo-libsystemd"), "--help"],
      [join(peers, "notify-python.py"), "--help"],
      [join(peers, "forge-ready.py"), "--help"],
      [join(peers, "sockopt-probe.py"), "--help"],
    ]) {
      const r = Bun.spawnSync(cmd, { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
      expect({ cmd: cmd[0], exitCode: r.exitCode }).toEqual({ cmd: cmd[0], exitCode: 0 });
      expect(r.stdout.toString()).toMatch(/^usage:/i);
    }
  });

  test("the python peer's interpreter has python3-systemd", () => {
    const r = Bun.spawnSync(["/usr/bin/python3", "-c", "from systemd import daemon; print(daemon.notify('READY=1'))"], {
      env: cleanEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe("False"); // no NOTIFY_SOCKET: nothing sent
  });

  for (const [label, cmd] of [
    ["notify-libsystemd", [join(built, "notify-libsystemd")]],
    ["notify-python", [join(peers, "notify-python.py")]],
  ] as const) {
    test(`${label} runs without a manager, ticks, and exits 0 on SIGTERM`, async () => {
      const r = await runUntilTick([...cmd]);
      expect(r.stdout).toContain("tick 1\n");
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toContain("not sent");
      expect(r.stderr).toContain("STOPPING=1");
    });
  }

  test("echo-libsystemd refuses to run without passed sockets", () => {
    const r = Bun.spawnSync([join(built, "echo-libsystemd")], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("no usable socket");
  });

  test("forge-ready needs TARGET_NOTIFY_SOCKET", () => {
    const r = Bun.spawnSync([join(peers, "forge-ready.py")], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("TARGET_NOTIFY_SOCKET");
  });
});
