// Runs a real `hearth run` (the compiled binary when built, else the sources) and talks
// to it through `hearth ctl`, the way a user would; and checks, for every test, that the
// manager stayed sound (the invariants at the end of this file).
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import {
  allProcs, cgroupDirs, cgroupPids, clearLeftovers, describeProc, descendantsOf, fdCount, procsWithEnv, rssKiB, stillAlive, type Proc,
} from "./procs.ts";

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

/**
 * A `hearth run` under test. Every manager started through startManager is checked when
 * it stops (see the invariants at the end of this file): no "internal error" logged, no
 * process of the test left once it exited, no cgroup of it left, fds and memory bounded.
 */
export class RunningManager {
  readonly output: string[] = [];
  private buffered = "";
  private readonly pumps: Promise<void>[];
  /** Where the test that started it lives, for messages. */
  readonly origin = testOrigin();
  /** Started inside a test (stopped and checked after it) or in beforeAll (checked when stopped). */
  readonly scope: "test" | "file" = registry().inTest ? "test" : "file";
  /** The manager's fd count and RSS once its control socket is up. */
  baseline: { fds: number; rssKiB: number } | null = null;
  /** Problems seen while it runs (a `hearth ctl` that answered "internal error"). */
  private readonly seen: string[] = [];
  private scannedLines = 0;
  private stopping: Promise<{ code: number; problems: string[] }> | null = null;

  constructor(
    readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly runDir: string,
    readonly startedAt: number,
    /** HEARTH_TEST_ID in the manager's environment, which run mode passes on to every service. */
    readonly testId: string,
  ) {
    this.pumps = [this.pump(proc.stdout), this.pump(proc.stderr)];
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

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The manager's cgroup subtree, from its "Tracking services in cgroups under DIR" line. */
  get cgroupDir(): string | null {
    for (const line of this.output) {
      const hit = /Tracking services in cgroups under (\S+)/.exec(line);
      if (hit) return hit[1]!;
    }
    return null;
  }

  async waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<string> {
    return poll(`an output line matching ${re}`, () => this.output.find((l) => re.test(l)), { timeoutMs, context: () => this.text() });
  }

  async ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = Bun.spawn([...hearthCommand(), "ctl", "-r", this.runDir, ...args], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const internal = `${stdout}\n${stderr}`.split("\n").find((l) => INTERNAL_ERROR.test(l));
    if (internal !== undefined) this.seen.push(`hearth ctl ${args.join(" ")} answered: ${clip(internal)}`);
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
    let last: Record<string, any> = {};
    return poll(`${name} ${active}`, async () => {
      last = await this.unit(name);
      return last.active === active && last;
    }, { timeoutMs, intervalMs: 50, context: () => `(is ${last.active}/${last.sub}); output:\n${this.text()}` });
  }

  /**
   * Stops the manager with SIGTERM, waits for it and checks the invariants; returns its
   * exit code. Called in a test, what the check found fails that test (after it); called
   * from beforeAll/afterAll, it throws here.
   */
  async stop(): Promise<number> {
    const { code } = await this.stopAndCheck();
    if (!registry().inTest) failOn(this.takeProblems());
    return code;
  }

  /** For the harness's own tests: stop, and return what the check found instead of failing. */
  async stopCollecting(): Promise<string[]> {
    await this.stopAndCheck();
    return this.takeProblems();
  }

  /** Children of the manager still alive or zombie, from /proc. */
  children(): { pid: number; state: string }[] {
    return childrenOf(this.proc.pid);
  }

  /** Internal errors logged since the last call, and what ctl saw; once stopped, all that was found. */
  takeProblems(): string[] {
    const problems = this.seen.splice(0);
    if (!this.stopping) problems.push(...this.deathProblems());
    for (; this.scannedLines < this.output.length; this.scannedLines++) {
      const line = this.output[this.scannedLines]!;
      if (INTERNAL_ERROR.test(line)) problems.push(`the manager logged: ${clip(line)}`);
    }
    if (!this.running && this.stopping) registry().managers.delete(this);
    return problems.map((p) => `${this.origin}: manager ${this.proc.pid}: ${p}`);
  }

  private deathReported = false;

  /** A manager never dies of a signal (PID 1 would take the system with it): said once. */
  private deathProblems(): string[] {
    if (this.proc.signalCode === null || this.deathReported) return [];
    this.deathReported = true;
    return [`died of ${this.proc.signalCode}; its last lines:\n${this.tail()}`];
  }

  private tail(): string {
    return this.output.slice(-12).map((l) => `      | ${clip(l)}`).join("\n");
  }

  private stopAndCheck(): Promise<{ code: number; problems: string[] }> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<{ code: number; problems: string[] }> {
    const problems: string[] = [];
    let running: Proc[] = [];
    let killed = false;
    if (this.running) {
      running = descendantsOf(this.proc.pid).filter((p) => p.state !== "Z");
      problems.push(...this.resourceProblems(running.length));
      this.proc.kill("SIGTERM");
      const timeout = setTimeout(() => {
        killed = true;
        this.proc.kill("SIGKILL");
      }, 15_000);
      await this.proc.exited;
      clearTimeout(timeout);
    }
    const code = await this.proc.exited;
    // Output ends when every holder of the pipes is gone: a leftover may hold them.
    await Promise.race([Promise.all(this.pumps), Bun.sleep(2000)]);
    if (killed) problems.push(`did not exit within 15 s of SIGTERM (killed); its last lines:\n${this.tail()}`);
    else problems.push(...this.deathProblems());
    this.seen.push(...problems, ...(await this.leftoverProblems(running)));
    return { code, problems };
  }

  /** The manager's fds and RSS before it stops, against start-up, allowing for what runs. */
  private resourceProblems(processes: number): string[] {
    const fds = fdCount(this.proc.pid);
    const rss = rssKiB(this.proc.pid);
    if (process.env.HEARTH_TEST_STATS === "1") {
      console.error(`[harness] ${this.origin}: fds ${this.baseline?.fds} -> ${fds}, RSS ${this.baseline?.rssKiB} -> ${rss} KiB, ${processes} processes`);
    }
    if (this.baseline === null || fds === null || rss === null) return [];
    const problems: string[] = [];
    const fdLimit = this.baseline.fds + FD_MARGIN + FDS_PER_PROCESS * processes;
    if (fds > fdLimit) {
      problems.push(`holds ${fds} fds at stop, ${this.baseline.fds} after start-up (limit ${fdLimit} with ${processes} processes of its units running): ${summarizeFds(openFds(this.proc.pid))}`);
    }
    const rssLimit = this.baseline.rssKiB + RSS_MARGIN_KIB;
    if (rss > rssLimit) problems.push(`RSS ${rss} KiB at stop, ${this.baseline.rssKiB} KiB after start-up (limit ${rssLimit})`);
    return problems;
  }

  /**
   * Processes of this test still alive once the manager exited — those that were its
   * descendants when it was told to stop, those that carry its HEARTH_TEST_ID, those in
   * its cgroups — and its cgroup subtree if still there. Reports them, then kills and
   * removes them so that the next test starts clean.
   */
  private async leftoverProblems(running: Proc[]): Promise<string[]> {
    const cgroup = this.cgroupDir;
    let left = new Map<number, string[]>();
    let cgroupLeft = false;
    const found = (pid: number, why: string) => left.set(pid, [...(left.get(pid) ?? []), why]);
    // A grace for processes the manager killed just before it exited.
    await poll("leftovers to go", () => {
      left = new Map();
      for (const p of running) if (stillAlive(p)) found(p.pid, "was the manager's descendant when it was stopped");
      for (const pid of procsWithEnv(`HEARTH_TEST_ID=${this.testId}`)) found(pid, "carries the manager's HEARTH_TEST_ID");
      if (cgroup !== null) for (const pid of cgroupPids(cgroup)) found(pid, `is in ${cgroup}`);
      cgroupLeft = cgroup !== null && existsSync(cgroup);
      return left.size === 0 && !cgroupLeft;
    }, { timeoutMs: LEFTOVER_GRACE_MS, intervalMs: 50 }).catch(() => null);
    const problems = [...left].map(([pid, why]) => `left a process behind: ${describeProc(pid)}, which ${why.join(", ")}`);
    if (cgroupLeft) problems.push(`left its cgroup behind: ${cgroupDirs(cgroup!).join(", ")}`);
    await clearLeftovers([...left.keys()], cgroupLeft ? cgroup : null);
    return problems;
  }
}
export function childrenOf(ppid: number): { pid: number; state: string }[] {
  return allProcs().filter((p) => p.ppid === ppid).map(({ pid, state }) => ({ pid, state }));
}

/** For the harness's own tests. */
export interface StartOptions {
  /** Run this instead of hearth (a stand-in manager that misbehaves on purpose). */
  command?: string[];
  /** Give the manager `-r` relative to its working directory, as a user in a shell may. */
  relativeRunDir?: boolean;
  /** A command that execs hearth with the arguments it is given (e.g. in a mount namespace). */
  wrapper?: string[];
  /** More environment for the manager (run mode passes it on to the services). */
  env?: Record<string, string>;
}

/**
 * Start `hearth run` on a configuration directory and wait for its control socket; the
 * harness checks it when its test ends (see the invariants above).
 */
export async function startManager(confDir: string, extra: string[] = [], options: StartOptions = {}): Promise<RunningManager> {
  const state = registry();
  if (!state.hooksInstalled) {
    throw new Error("the harness's checks are not installed: run bun test from the repository root, whose bunfig.toml preloads test/support/preload.ts");
  }
  return launchManager(confDir, extra, options, (m) => state.managers.add(m));
}

/** The same for the benchmarks (bench/), which run outside bun test: nothing checks it. */
export async function launchManager(confDir: string, extra: string[] = [], options: StartOptions = {},
  register: (m: RunningManager) => void = () => {}): Promise<RunningManager> {
  const runDir = tempDir("run");
  const startedAt = performance.now();
  const testId = randomUUID();
  const runArg = options.relativeRunDir ? basename(runDir) : runDir;
  const proc = Bun.spawn([...(options.wrapper ?? []), ...(options.command ?? hearthCommand()), "run", "-c", confDir, "-r", runArg, ...extra], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...options.env, HEARTH_TEST_ID: testId },
    cwd: options.relativeRunDir ? dirname(runDir) : undefined,
  });
  const m = new RunningManager(proc, runDir, startedAt, testId);
  register(m);
  await poll("hearth run to make its control socket", () => existsSync(join(runDir, "control.sock")) || !m.running, {
    timeoutMs: 10_000, intervalMs: 10,
  }).catch(() => null);
  if (!existsSync(join(runDir, "control.sock"))) {
    await Bun.sleep(50);
    throw new Error(`hearth run did not come up (exit ${proc.exitCode}):\n${m.text()}`);
  }
  const fds = fdCount(proc.pid);
  const rss = rssKiB(proc.pid);
  if (fds !== null && rss !== null) m.baseline = { fds, rssKiB: rss };
  return m;
}

/** Polls until probe gives something truthy, and returns it; fails naming what, with context. */
export async function poll<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${opts.context ? `; ${opts.context()}` : ""}`);
    await Bun.sleep(opts.intervalMs ?? 20);
  }
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

// ---------------------------------------------------------------- the invariants
//
// Checked for every manager startManager started, without the test asking: preload.ts
// (bunfig.toml) runs afterEachTest after every test and afterAllTests at the end of the
// run. A manager started in a test and still running after it is stopped then; one
// started in beforeAll is checked when its afterAll stops it (or at the end of the run,
// if none does). Whatever a check finds is reported once, and leftovers are killed after
// being reported, so that one test's leak does not fail the next.

/** Any line with this, from the manager or a `hearth ctl` answer, fails the test. */
const INTERNAL_ERROR = /internal error/i;
/** fds the manager may hold at stop beyond its count at start-up ... */
const FD_MARGIN = 16;
/** ... and per process of its units then running (pidfd, output pipe, cgroup, connection). */
const FDS_PER_PROCESS = 4;
/** RSS growth allowed from start-up to stop (defect #22 grew 1.5 GB; a healthy run a few MB). */
const RSS_MARGIN_KIB = 150 * 1024;
/** How long processes get to vanish after the manager exited (SIGKILLed just before). */
const LEFTOVER_GRACE_MS = 2000;

interface Registry {
  hooksInstalled: boolean;
  inTest: boolean;
  managers: Set<RunningManager>;
}

/** Kept on globalThis: the preload and the tests must see the same one. */
function registry(): Registry {
  const g = globalThis as { __hearthHarness?: Registry };
  g.__hearthHarness ??= { hooksInstalled: false, inTest: false, managers: new Set() };
  return g.__hearthHarness;
}

export function installHooks(): void {
  registry().hooksInstalled = true;
}

export function beforeEachTest(): void {
  registry().inTest = true;
}

/** Stops the managers the test started, and fails it with what any manager's checks found. */
export async function afterEachTest(): Promise<void> {
  const state = registry();
  const problems: string[] = [];
  try {
    for (const m of [...state.managers]) {
      if (m.scope === "test") await m.stopCollecting().then((p) => problems.push(...p));
      else problems.push(...m.takeProblems());
    }
  } finally {
    state.inTest = false;
  }
  failOn(problems);
}

/** Stops every manager still running at the end of the run, and reports what was left unreported. */
export async function afterAllTests(): Promise<void> {
  const problems: string[] = [];
  for (const m of [...registry().managers]) problems.push(...(await m.stopCollecting()));
  failOn(problems);
}

function failOn(problems: string[]): void {
  if (problems.length > 0) throw new Error(`harness invariants broken:\n  ${problems.join("\n  ")}`);
}

/** The test file (FILE:LINE) that called startManager: the first frame outside test/support. */
function testOrigin(): string {
  const line = (new Error().stack ?? "").split("\n").find((l) => l.includes(`${ROOT}/test/`) && !l.includes("/test/support/"));
  const hit = line && /([^\s(]*\.ts):(\d+)/.exec(line);
  return hit ? `${hit[1]!.replace(`${ROOT}/`, "")}:${hit[2]}` : "(unknown test)";
}

function clip(line: string): string {
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** "12 × pipe, 3 × socket, ..." from openFds lines. */
function summarizeFds(fds: string[]): string {
  const kinds = new Map<string, number>();
  for (const fd of fds) {
    const target = fd.split(" -> ")[1] ?? "?";
    const kind = target.replace(/:\[\d+\]$/, "").replace(/^\/.*/, "file");
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} × ${k}`).join(", ");
}
