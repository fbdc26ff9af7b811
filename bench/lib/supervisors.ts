// The supervisors raced in the benchmarks, each set up on the same units (ready probes),
// and the one way every one of them is started, watched and stopped (through launch).
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { BunFile, Subprocess } from "bun";
import type { BenchUnit } from "./graph.ts";
import { HEARTH, LAUNCH, PROBE, pidsRunningProbe, scratchDir } from "./paths.ts";
import { createRecord, waitAllReady } from "./record.ts";
import { childrenOf } from "./proc.ts";

export type Flavour = "hearth" | "hearth-notify" | "s6" | "runit";

export const FLAVOURS: Record<Flavour, string> = {
  "hearth": "hearth run, notification_fd = 3",
  "hearth-notify": "hearth run, type = \"notify\" (sd_notify READY=1)",
  "s6": "s6-svscan + s6-supervise, notification-fd 3",
  "runit": "runsvdir + runsv (no readiness protocol)",
};

export interface Setup {
  flavour: Flavour;
  /** The supervisor's command line (run under launch). */
  argv: string[];
  /** What stops it and everything it supervises. */
  stopSignal: "SIGTERM" | "SIGHUP";
  /** The processes whose CPU is the supervisor's, given the pid of the one started. */
  supervisorPids(main: number): number[];
  /** Where each unit lives (s6/runit service directories), for status queries. */
  serviceDir?: (unit: BenchUnit) => string;
  runDir?: string; // hearth: the control socket's directory
  env?: Record<string, string>; // added to the supervisor's environment
  /**
   * s6 and runit with dependencies: what s6-rc does at boot (and what runit leaves to
   * the user), played by the bench: every service is created down; once every
   * supervisor is up, one command brings them all up, and a unit's run script waits for
   * its dependencies. (Started at once, a run script would find some dependency not yet
   * supervised: s6-svwait and sv then fail, and the service is retried a second later.)
   */
  bringUp?: () => Promise<void>;
}

/**
 * Writes the configuration of `units` for a supervisor under `dir`. Every unit runs
 * PROBE RECORD INDEX DELAY MODE; the supervisor learns readiness the way it knows how.
 * `hearth`: the command that runs hearth (the compiled binary unless told otherwise).
 */
export function prepare(flavour: Flavour, dir: string, units: BenchUnit[], record: string, hearth = [HEARTH]): Setup {
  switch (flavour) {
    case "hearth":
    case "hearth-notify":
      return prepareHearth(flavour, dir, units, record, hearth);
    case "s6":
      return prepareS6(dir, units, record);
    case "runit":
      return prepareRunit(dir, units, record);
  }
}

function probeArgs(u: BenchUnit, record: string, mode: string): string[] {
  return [record, String(u.index), String(u.delayMs), mode];
}

function prepareHearth(flavour: Flavour, dir: string, units: BenchUnit[], record: string, hearth: string[]): Setup {
  const conf = join(dir, "conf"), run = join(dir, "run");
  mkdirSync(join(conf, "units"), { recursive: true });
  const notify = flavour === "hearth-notify";
  for (const u of units) {
    const deps = JSON.stringify(u.deps.map((d) => units[d]!.name));
    const argv = JSON.stringify([PROBE, ...probeArgs(u, record, notify ? "notify" : "fd:3")]);
    writeFileSync(join(conf, "units", `${u.name}.toml`),
      `[unit]\nwanted_by = ["multi-user"]\n` +
      (u.deps.length ? `requires = ${deps}\nafter = ${deps}\n` : "") +
      `[service]\n${notify ? 'type = "notify"' : "notification_fd = 3"}\nexec_start = ${argv}\n`);
  }
  return {
    flavour, argv: [...hearth, "run", "-c", conf, "-r", run], stopSignal: "SIGTERM",
    supervisorPids: (main) => [main], runDir: run,
  };
}

// s6 without s6-rc (not packaged for Debian 12): a unit with dependencies waits for
// them in its run script with s6-svwait -U (up and ready), the s6 way before s6-rc.
function prepareS6(dir: string, units: BenchUnit[], record: string): Setup {
  return prepareServiceDirs(join(dir, "scan"), units, record, {
    flavour: "s6", argv: ["s6-svscan"], stopSignal: "SIGTERM", mode: "fd:3",
    files: { "notification-fd": "3\n" },
    wait: (deps) => `s6-svwait -U ${deps} || exit 1`,
  });
}

// runit has neither readiness nor dependencies. A unit with dependencies starts them in
// its run script with `sv start` (the runit FAQ's idiom), which waits until each is up
// and its ./check script says it is available; ./check is the probe asking the record.
function prepareRunit(dir: string, units: BenchUnit[], record: string): Setup {
  return prepareServiceDirs(join(dir, "service"), units, record, {
    flavour: "runit", argv: ["runsvdir"], stopSignal: "SIGHUP", mode: "none",
    links: { check: PROBE },
    wait: (deps) => `sv -w 60 start ${deps} >/dev/null || exit 1`,
  });
}

interface ServiceDirStyle {
  flavour: Flavour;
  argv: string[]; // the scanner, given the directory as its last argument
  stopSignal: Setup["stopSignal"];
  mode: string; // how the probe tells readiness
  files?: Record<string, string>;
  links?: Record<string, string>;
  wait: (deps: string) => string; // the run script's line that waits for dependencies
}

/** One service directory per unit below `top`, scanned by s6-svscan or runsvdir. */
function prepareServiceDirs(top: string, units: BenchUnit[], record: string, style: ServiceDirStyle): Setup {
  const graph = units.some((u) => u.deps.length > 0);
  mkdirSync(top, { recursive: true });
  for (const u of reversed(units)) {
    const sd = join(top, u.name);
    mkdirSync(sd, { recursive: true });
    for (const [name, text] of Object.entries(style.files ?? {})) writeFileSync(join(sd, name), text);
    for (const [name, target] of Object.entries(style.links ?? {})) symlinkSync(target, join(sd, name));
    if (graph) writeFileSync(join(sd, "down"), "");
    writeRun(sd, u, units, record, style.mode, style.wait);
  }
  // runsvdir leaves a directory alone while its mtime is this very second (it might still
  // be changing): on a board the directory is old; here it was just written.
  const past = new Date(Date.now() - 60_000);
  utimesSync(top, past, past);
  const dirs = units.map((u) => join(top, u.name));
  return {
    flavour: style.flavour, argv: [...style.argv, top], stopSignal: style.stopSignal,
    supervisorPids: (main) => [main, ...childrenOf(main)],
    serviceDir: (u) => join(top, u.name),
    bringUp: graph ? () => bringUpAll(dirs, "supervise/status") : undefined,
  };
}

// Service directories are created last unit first: tmpfs lists a directory newest first,
// so s6-svscan and runsvdir meet the units in dependency order, their best case.
function reversed<T>(items: T[]): T[] {
  return [...items].reverse();
}

/**
 * Waits until every service directory has `marker` (its supervisor is up), then asks each
 * to bring its service up: "u" written into supervise/control, what `s6-svc -u` and
 * `sv up` do (without the cost of 200 of those processes: the supervisors' best case).
 */
async function bringUpAll(dirs: string[], marker: string): Promise<void> {
  let pending = dirs;
  const deadline = performance.now() + 30_000;
  while (pending.length > 0) {
    pending = pending.filter((d) => !existsSync(join(d, marker)));
    if (pending.length === 0) break;
    if (performance.now() > deadline) throw new Error(`${pending.length} services never got a supervisor (${pending[0]})`);
    await Bun.sleep(1);
  }
  for (const d of dirs) {
    const fd = openSync(join(d, "supervise/control"), constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      writeSync(fd, "u");
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * ./run of a service directory: the probe itself (a symlink reading ./params, so no
 * shell runs) for a unit without dependencies; else a shell script that waits for them.
 */
function writeRun(sd: string, u: BenchUnit, units: BenchUnit[], record: string, mode: string, wait: (deps: string) => string) {
  const args = probeArgs(u, record, mode);
  writeFileSync(join(sd, "params"), `${args.join(" ")}\n`);
  if (u.deps.length === 0) {
    symlinkSync(PROBE, join(sd, "run"));
    return;
  }
  const deps = u.deps.map((d) => `../${units[d]!.name}`).join(" ");
  writeFileSync(join(sd, "run"), `#!/bin/sh\n${wait(deps)}\nexec ${PROBE} ${args.join(" ")}\n`, { mode: 0o755 });
}

/** A supervisor started through launch (which stamps the start time and reaps orphans). */
export class Launched {
  private constructor(readonly setup: Setup, readonly proc: Subprocess<"ignore", "pipe", BunFile>, readonly pid: number) {}

  /** Starts the supervisor; `slot` of `record` receives its start time. */
  static async start(setup: Setup, record: string, slot: number, logFile: string): Promise<Launched> {
    const log = Bun.file(logFile);
    const proc = Bun.spawn([LAUNCH, record, String(slot), ...setup.argv], {
      stdin: "ignore", stdout: "pipe", stderr: log, env: { ...process.env, ...setup.env },
    });
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const pid = Number(new TextDecoder().decode(value ?? new Uint8Array()).trim());
    if (!(pid > 0)) throw new Error(`launch ${setup.argv[0]} printed no pid (exit ${await proc.exited}); see ${logFile}`);
    return new Launched(setup, proc, pid);
  }

  supervisorPids(): number[] {
    return this.setup.supervisorPids(this.pid);
  }

  /** Stops the supervisor (launch kills whatever it leaves), then checks nothing is left. */
  async stop(): Promise<void> {
    this.proc.kill(this.setup.stopSignal);
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
    await this.proc.exited;
    clearTimeout(timer);
    const left = pidsRunningProbe();
    if (left.length > 0) {
      console.error(`warning: ${left.length} probes outlived ${this.setup.flavour}: killed`);
      for (const pid of left) process.kill(pid, "SIGKILL");
    }
  }
}

/** A supervisor running `units` from a scratch directory, with the record its probes stamp. */
export class BenchRun {
  private constructor(readonly dir: string, readonly record: string, readonly setup: Setup, readonly sup: Launched) {}

  /** Writes the configuration, starts the supervisor, and (s6, runit with dependencies) brings the units up. */
  static async start(flavour: Flavour, units: BenchUnit[], env?: Record<string, string>, hearth?: string[]):
    Promise<{ run: BenchRun; bringingUp: Promise<void> }> {
    const dir = scratchDir(flavour);
    const record = createRecord(dir, units.length);
    const setup = { ...prepare(flavour, dir, units, record, hearth), env };
    const sup = await Launched.start(setup, record, units.length, join(dir, "log"));
    return { run: new BenchRun(dir, record, setup, sup), bringingUp: setup.bringUp?.() ?? Promise.resolve() };
  }

  /** Starts the supervisor and waits until every unit is ready. */
  static async ready(flavour: Flavour, units: BenchUnit[], timeoutMs = 60_000): Promise<BenchRun> {
    const { run, bringingUp } = await BenchRun.start(flavour, units);
    try {
      await Promise.all([bringingUp, waitAllReady(run.record, units.length, timeoutMs)]);
    } catch (e) {
      await run.fail(e as Error);
    }
    return run;
  }

  /** Stops the run and throws `e` with the end of the supervisor's log. */
  async fail(e: Error): Promise<never> {
    const log = this.logTail();
    await this.stop();
    throw new Error(`${this.setup.flavour}: ${e.message}; log tail:\n${log}`);
  }

  logTail(): string {
    try {
      return readFileSync(join(this.dir, "log"), "utf8").slice(-2000);
    } catch {
      return "";
    }
  }

  async stop(): Promise<void> {
    await this.sup.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
