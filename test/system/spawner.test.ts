// The spawner with real children: every property is checked from inside the child
// (what it prints about itself) or from /proc/PID of the child after its execve.
// Runs as root (CI does): the credential tests switch to uid 65534.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, devNull, listOpenFds, pipe, writeSome } from "../../ffi/fd.ts";
import { E } from "../../ffi/constants.ts";
import { libc } from "../../ffi/libc.ts";
import { spawn } from "../../src/exec/spawner.ts";
import { killProcess } from "../../src/exec/reaper.ts";
import { drain, PATH, sh, statFields, statusField, waitExit, zombieChildren } from "../support/child.ts";
import { poll } from "../support/harness.ts";

const isRoot = libc.geteuid() === 0;

describe("spawn: environment", () => {
  test("pidEnv variables hold the child's own pid; other variables pass as given", async () => {
    const { output, pid } = await sh('echo "$$ $LISTEN_PID $WATCHDOG_PID $LISTEN_FDS $HOME"', {
      env: { PATH, LISTEN_PID: "placeholder", LISTEN_FDS: "2", HOME: "/root dir" },
      pidEnv: ["LISTEN_PID", "WATCHDOG_PID"],
    });
    expect(output.trim()).toBe(`${pid} ${pid} ${pid} 2 /root dir`);
  });

  test("the environment is exactly the one given", async () => {
    const { output } = await sh("env", { env: { PATH, A: "1", EMPTY: "" } });
    const names = output.trim().split("\n").map((line) => line.split("=")[0]).sort();
    // dash adds PWD itself
    expect(names.filter((n) => n !== "PWD")).toEqual(["A", "EMPTY", "PATH"]);
  });

  test("argv reaches the program unchanged, argv[0] included", async () => {
    const { output } = await sh('printf "%s|" "$0" "$@"', {
      argv: ["sh", "-c", 'printf "%s|" "$0" "$@"', "my-name", "two words", ""],
    });
    expect(output).toBe("my-name|two words||");
  });
});

describe("spawn: file descriptors", () => {
  test("fds are placed at 3, 4, ... and carry the data of the fds passed", async () => {
    const a = pipe();
    const b = pipe();
    writeSome(a.write, Buffer.from("through-a"));
    writeSome(b.write, Buffer.from("through-b"));
    close(a.write);
    close(b.write);
    const { output } = await sh('cat <&3; echo; cat <&4', { fds: [a.read, b.read] });
    close(a.read);
    close(b.read);
    expect(output).toBe("through-a\nthrough-b");
  });

  test("overlapping numbers: sources that sit in the target range are not clobbered", async () => {
    // More pipes than this process has fds open, passed in reverse order: targets
    // 3..3+n-1 then cover many of the source numbers, in a different order.
    const count = listOpenFds().length + 8;
    const pipes = Array.from({ length: count }, () => pipe());
    pipes.forEach((p, i) => {
      writeSome(p.write, Buffer.from(`p${i}`));
      close(p.write);
    });
    const sources = pipes.map((p) => p.read).reverse();
    expect(sources.some((fd, i) => fd < 3 + count && fd !== 3 + i)).toBe(true);
    // bash, as dash takes single-digit fds only in redirections
    const script = `for fd in $(seq 3 ${2 + count}); do cat <&$fd; echo; done`;
    const { output } = await sh(script, { path: "/bin/bash", argv: ["bash", "-c", script], fds: sources });
    for (const p of pipes) close(p.read);
    expect(output.trim().split("\n")).toEqual(pipes.map((_, i) => `p${i}`).reverse());
  });

  test("no other fd leaks into the child, even one without O_CLOEXEC", async () => {
    const leaky = libc.dup(devNull()); // dup() clears FD_CLOEXEC
    const passed = pipe();
    const result = spawn({ path: "/bin/sleep", argv: ["sleep", "5"], env: {}, fds: [passed.read] });
    try {
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      // spawn returns once execve has replaced the child's memory (CLONE_VFORK), but the
      // dynamic loader of sleep may still hold a file of its own open (fd 4, ld.so.cache):
      // wait for that to settle. A leaked fd never goes, and fails the poll.
      await poll("sleep's fds are 0-3", () => listOpenFds(result.pid).join() === "0,1,2,3", {
        timeoutMs: 5000, context: () => `fds ${listOpenFds(result.pid).join()}`,
      });
      expect(readlinkSync(`/proc/${result.pid}/fd/0`)).toBe("/dev/null");
      expect(readlinkSync(`/proc/${result.pid}/fd/2`)).toBe("/dev/null");
      expect(readlinkSync(`/proc/${result.pid}/fd/3`)).toBe(readlinkSync(`/proc/self/fd/${passed.read}`));
      killProcess(result.pid, "SIGKILL");
      await waitExit(result.pid);
    } finally {
      close(leaky);
      close(passed.read);
      close(passed.write);
    }
  });

  test("stdin, stdout and stderr can be any fds", async () => {
    const input = pipe();
    writeSome(input.write, Buffer.from("from stdin\n"));
    close(input.write);
    const err = pipe();
    const { output } = await sh("cat; echo to-stderr >&2", { stdin: input.read, stderr: err.write });
    close(input.read);
    close(err.write);
    expect(output).toBe("from stdin\n");
    expect(drain(err.read)).toBe("to-stderr\n");
    close(err.read);
  });

  test("the manager's fds are untouched by a spawn", async () => {
    const before = listOpenFds();
    const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, fds: [devNull(), devNull()] });
    expect(result.ok).toBe(true);
    expect(listOpenFds()).toEqual(before);
    if (result.ok) await waitExit(result.pid);
  });
});

describe("spawn: process attributes", () => {
  test("umask", async () => {
    const { output } = await sh("umask", { umask: 0o027 });
    expect(output.trim()).toBe("0027");
  });

  test("rlimits, by name, with Infinity as unlimited", async () => {
    const { output } = await sh("cat /proc/self/limits", {
      rlimits: [
        { resource: "nofile", soft: 1234, hard: 2345 },
        { resource: "core", soft: Infinity, hard: Infinity },
        { resource: "NPROC", soft: 300, hard: 400 },
      ],
    });
    expect(output).toMatch(/^Max open files\s+1234\s+2345\s+files/m);
    expect(output).toMatch(/^Max core file size\s+unlimited\s+unlimited/m);
    expect(output).toMatch(/^Max processes\s+300\s+400/m);
  });

  test("nice and oom_score_adj", async () => {
    const { output } = await sh("cat /proc/self/stat; cat /proc/self/oom_score_adj", { nice: 7, oomScoreAdj: 321 });
    const [stat, oom] = output.trim().split("\n");
    expect(statFields(stat!)[16]).toBe("7"); // field 19 of stat(5): nice
    expect(oom).toBe("321");
  });

  test("an oom_score_adj refused for want of CAP_SYS_RESOURCE is skipped, as systemd does in a container (dbus.service's -900)", async () => {
    const status = readFileSync("/proc/self/status", "utf8");
    const mayLower = (BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`) & (1n << 24n)) !== 0n;
    const inherited = readFileSync("/proc/self/oom_score_adj", "utf8").trim();
    const { output } = await sh("cat /proc/self/oom_score_adj", { oomScoreAdj: -900 });
    expect(output.trim()).toBe(mayLower ? "-900" : inherited);
  });

  test("no_new_privs on request only", async () => {
    const on = await sh("cat /proc/self/status", { noNewPrivileges: true });
    const off = await sh("cat /proc/self/status");
    expect(statusField(on.output, "NoNewPrivs")).toBe("1");
    expect(statusField(off.output, "NoNewPrivs")).toBe("0");
  });

  test("cwd", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-cwd-"));
    try {
      const { output } = await sh("pwd -P", { cwd: dir });
      expect(output.trim()).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test("signal mask empty and every disposition default, whatever the manager has", async () => {
    process.on("SIGUSR2", () => {}); // a handler in the parent must not survive into the child
    const { output } = await sh("cat /proc/self/status");
    process.removeAllListeners("SIGUSR2");
    expect(statusField(output, "SigBlk")).toBe("0000000000000000");
    expect(statusField(output, "SigIgn")).toBe("0000000000000000");
    expect(statusField(output, "SigCgt")).toBe("0000000000000000");
  });

  test("ignoreSigpipe: SIGPIPE (bit 12) alone is ignored", async () => {
    const { output } = await sh("cat /proc/self/status", { ignoreSigpipe: true });
    expect(statusField(output, "SigIgn")).toBe("0000000000001000");
  });

  test("a new session by default: sid = pgid = pid", async () => {
    const { output, pid } = await sh("cat /proc/self/stat");
    const fields = statFields(output);
    expect(Number(fields[2])).toBe(pid); // pgrp
    expect(Number(fields[3])).toBe(pid); // session
  });

  test("newSession: false keeps the manager's session", async () => {
    const { output } = await sh("cat /proc/self/stat", { newSession: false });
    const ownSession = statFields(readFileSync("/proc/self/stat", "utf8"))[3];
    expect(statFields(output)[3]).toBe(ownSession!);
  });
});

describe.skipIf(!isRoot)("spawn: credentials (as root)", () => {
  test("uid, gid and supplementary groups, in the child", async () => {
    const { output } = await sh("cat /proc/self/status", { uid: 65534, gid: 65534, groups: [65534, 100, 4] });
    expect(statusField(output, "Uid").split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
    expect(statusField(output, "Gid").split(/\s+/)).toEqual(["65534", "65534", "65534", "65534"]);
    expect(statusField(output, "Groups").split(/\s+/).map(Number).sort((a, b) => a - b)).toEqual([4, 100, 65534]);
  });

  test("uid without groups clears the manager's supplementary groups", async () => {
    const { output } = await sh("cat /proc/self/status", { uid: 65534, gid: 65534 });
    expect(statusField(output, "Groups")).toBe("");
  });

  test("chdir happens as the new user", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-private-")); // mode 0700, owned by root
    try {
      const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, uid: 65534, gid: 65534, cwd: dir });
      expect(result).toMatchObject({ ok: false, stage: "chdir", errno: E.EACCES });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("spawn: failures", () => {
  test("missing program: ok false, ENOENT at execve, and no zombie left", () => {
    const result = spawn({ path: "/nonexistent/program", argv: ["program"], env: {} });
    expect(result).toEqual({
      ok: false,
      errno: E.ENOENT,
      stage: "execve",
      message: "execve /nonexistent/program: No such file or directory",
      path: "/nonexistent/program",
    });
    expect(zombieChildren()).toEqual([]);
  });

  test("a program that is not executable: EACCES at execve", () => {
    const result = spawn({ path: "/etc/passwd", argv: ["passwd"], env: {} });
    expect(result).toMatchObject({ ok: false, errno: E.EACCES, stage: "execve" });
  });

  test("a bad fd: EBADF while placing fds", () => {
    const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, fds: [987654] });
    expect(result).toMatchObject({ ok: false, errno: E.EBADF, stage: "fds" });
    expect(zombieChildren()).toEqual([]);
  });

  test("a missing working directory: ENOENT at chdir", () => {
    const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, cwd: "/nonexistent-dir" });
    expect(result).toMatchObject({ ok: false, errno: E.ENOENT, stage: "chdir" });
  });

  test("requests refused before any process exists", () => {
    const base = { path: "/bin/true", argv: ["true"], env: {} };
    expect(spawn({ ...base, path: "bin/true" })).toMatchObject({ ok: false, stage: "request" });
    expect(spawn({ ...base, argv: [] })).toMatchObject({ ok: false, stage: "request" });
    expect(spawn({ ...base, env: { "A=B": "1" } })).toMatchObject({ ok: false, stage: "request" });
    expect(spawn({ ...base, rlimits: [{ resource: "bogus", soft: 1, hard: 1 }] })).toMatchObject({
      ok: false,
      stage: "request",
      message: 'unknown resource limit "bogus"',
    });
    expect(spawn({ ...base, rlimits: [{ resource: "nofile", soft: 9, hard: 8 }] })).toMatchObject({ ok: false });
  });

  test("exit statuses come back through the reaper", async () => {
    expect((await sh("exit 3")).status).toEqual({ kind: "exited", code: 3 });
    expect((await sh("kill -TERM $$")).status).toEqual({ kind: "killed", signal: 15, coreDumped: false });
  });
});

test("many spawns leave no fd and no zombie behind", async () => {
  const before = listOpenFds();
  for (let i = 0; i < 50; i++) {
    const result = spawn({ path: "/bin/true", argv: ["true"], env: {} });
    expect(result.ok).toBe(true);
    if (result.ok) await waitExit(result.pid);
    spawn({ path: "/nonexistent", argv: ["x"], env: {} });
  }
  expect(listOpenFds()).toEqual(before);
  expect(zombieChildren()).toEqual([]);
});
