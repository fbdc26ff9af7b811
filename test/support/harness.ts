// Runs a real `hearth run` (the compiled binary when built, else the sources) and talks
// to it through `hearth ctl`, the way a user would.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
const BIN = join(ROOT, "dist/hearth");

/** The command that runs hearth: the built binary if present (as CI has it), else the sources. */
export function hearthCommand(): string[] {
  if (process.env.HEARTH_FROM_SOURCE !== "1" && existsSync(BIN)) return [BIN];
  return [process.execPath, join(ROOT, "src/main.ts")];
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hearth-${prefix}-`));
}

export class RunningManager {
  readonly output: string[] = [];
  private buffered = "";
  constructor(readonly proc: Subprocess<"ignore", "pipe", "pipe">, readonly runDir: string, readonly startedAt: number) {
    void this.pump(proc.stdout);
    void this.pump(proc.stderr);
  }

  private async pump(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        this.output.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
    }
  }

  text(): string {
    return this.output.join("\n");
  }

  async waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const hit = this.output.find((l) => re.test(l));
      if (hit) return hit;
      await Bun.sleep(20);
    }
    throw new Error(`no output line matching ${re} within ${timeoutMs} ms; output:\n${this.text()}`);
  }

  async ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = Bun.spawn([...hearthCommand(), "ctl", "-r", this.runDir, ...args], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  async ctlJson<T = Record<string, unknown>>(...args: string[]): Promise<T & { code: number }> {
    const r = await this.ctl(...args, "--json");
    const last = r.stdout.trim().split("\n").pop() ?? "";
    try {
      return { ...(JSON.parse(last) as T), code: r.code };
    } catch {
      throw new Error(`ctl ${args.join(" ")} printed no JSON (exit ${r.code}): ${r.stdout} ${r.stderr}`);
    }
  }

  async unit(name: string): Promise<Record<string, any>> {
    const r = await this.ctlJson<{ units: Record<string, any>[] }>("status", name);
    return r.units[0]!;
  }

  async waitForState(name: string, active: string, timeoutMs = 10_000): Promise<Record<string, any>> {
    const end = Date.now() + timeoutMs;
    let last: Record<string, any> = {};
    while (Date.now() < end) {
      last = await this.unit(name);
      if (last.active === active) return last;
      await Bun.sleep(50);
    }
    throw new Error(`${name} not ${active} within ${timeoutMs} ms (is ${last.active}/${last.sub}); output:\n${this.text()}`);
  }

  /** Stop the manager with SIGTERM and wait for it; returns its exit code. */
  async stop(): Promise<number> {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    this.proc.kill("SIGTERM");
    const timeout = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
    const code = await this.proc.exited;
    clearTimeout(timeout);
    return code;
  }

  /** Children of the manager still alive or zombie, from /proc. */
  children(): { pid: number; state: string }[] {
    return childrenOf(this.proc.pid);
  }
}

export function childrenOf(ppid: number): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push({ pid: Number(entry), state: fields[0]! });
    } catch { /* gone */ }
  }
  return out;
}

/** Start `hearth run` on a configuration directory and wait for its control socket. */
export async function startManager(confDir: string, extra: string[] = []): Promise<RunningManager> {
  const runDir = tempDir("run");
  const startedAt = performance.now();
  const proc = Bun.spawn([...hearthCommand(), "run", "-c", confDir, "-r", runDir, ...extra], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const m = new RunningManager(proc, runDir, startedAt);
  const end = Date.now() + 10_000;
  while (!existsSync(join(runDir, "control.sock"))) {
    if (proc.exitCode !== null || Date.now() > end) {
      await Bun.sleep(50);
      throw new Error(`hearth run did not come up (exit ${proc.exitCode}):\n${m.text()}`);
    }
    await Bun.sleep(10);
  }
  return m;
}

export function cleanup(m: RunningManager | null, ...dirs: string[]) {
  for (const d of [m?.runDir, ...dirs]) if (d) rmSync(d, { recursive: true, force: true });
}

/** Write a configuration directory: units given as file name -> TOML text. */
export function writeConf(units: Record<string, string>, system?: string): string {
  const dir = tempDir("conf");
  const { mkdirSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
  mkdirSync(join(dir, "units"));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, "units", `${name}.toml`), text);
  if (system !== undefined) writeFileSync(join(dir, "system.toml"), system);
  return dir;
}

export const PEERS = join(ROOT, "build/peers");
export const PEER_SOURCES = join(ROOT, "test/peers");

/** Open fds of a process, from /proc/PID/fd. */
export function openFds(pid: number): string[] {
  const { readdirSync, readlinkSync } = require("node:fs") as typeof import("node:fs");
  return readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try { return `${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return `${fd} -> ?`; }
  });
}
