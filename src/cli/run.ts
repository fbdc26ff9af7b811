// `hearth run [-c CONFDIR] [-r RUNDIR] [--target T]`: the manager in the foreground, as a
// subreaper rather than PID 1. Used by tests, benchmarks, and anyone trying hearth out.
import { loadConfig } from "../config/load.ts";
import { formatDiagnostic, logDiagnostic } from "../config/diagnostics.ts";
import { ControlServer } from "../control/server.ts";
import { createLogger, parseLogLevel, ringSink, stderrSink, teeSink, type LogLevelName } from "../log/manager-log.ts";
import { Manager } from "../manager/manager.ts";
import { absoluteDir, userConfDir, userRunDir } from "./paths.ts";
import { bootOffsetMs, markPhase, startupMarks } from "../boot/phase-marks.ts";
import { gatherSpecifierFacts } from "./specifier-facts.ts";
import { parseCmdline } from "../config/cmdline.ts";
import { readConfigFile } from "../config/read-file.ts";
import { layerDirs, layersFor } from "../config/layers.ts";
import { makeReloader } from "../control/daemon-reload.ts";
import type { ManagerHandover } from "../manager/reexec.ts";

/** daemon-reexec (src/manager/reexec.ts), loaded when asked for or taken over from (require: a chunk of its own). */
const reexecModule = (): typeof import("../manager/reexec.ts") => require("../manager/reexec.ts");

// --cmdline FILE: a kernel command line whose hearth.wants= units start with the target
// (PID 1 reads /proc/cmdline; hearth run reads none unless given one).
// --vendor-units DIR: a vendor layer under CONFDIR/units (/usr/lib/hearth/units in system mode).
const USAGE = "usage: hearth run [-c CONFDIR] [-r RUNDIR] [--vendor-units DIR] [--target T] [--log-level LEVEL] [--read-kmsg] [--cmdline FILE] [--deserialize STATE]";

export async function runMain(argv: string[]): Promise<number> {
  const offsetMs = bootOffsetMs();
  const phases = startupMarks("process", offsetMs);
  let confDir = userConfDir(), runDir = userRunDir(), target: string | null = null;
  let level: LogLevelName | null = null;
  let readKmsg = false; // the kernel's log is the system's: read under `hearth run` only when asked (journald's ReadKMsg=)
  let cmdlineFile: string | null = null;
  let vendor: string | null = null;
  let deserialize: string | null = null; // daemon-reexec: the state the process before the exec handed over
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const value = () => argv[++i] ?? "";
    if (x === "-c" || x === "--conf-dir" || x === "-r" || x === "--run-dir") {
      const dir = value();
      if (dir === "") { console.error(`hearth run: ${x} needs a directory\n${USAGE}`); return 2; }
      if (x === "-c" || x === "--conf-dir") confDir = absoluteDir(dir);
      else runDir = absoluteDir(dir);
    } else if (x === "--target") target = value();
    else if (x === "--cmdline") cmdlineFile = value();
    else if (x === "--vendor-units") vendor = absoluteDir(value());
    else if (x === "--log-level") {
      level = parseLogLevel(value()) ?? null;
      if (!level) { console.error(`hearth run: bad log level\n${USAGE}`); return 2; }
    } else if (x === "--read-kmsg") readKmsg = true;
    else if (x === "--deserialize") deserialize = value();
    else if (x === "-h" || x === "--help") { console.log(USAGE); return 0; }
    else { console.error(`hearth run: unknown argument ${x}\n${USAGE}`); return 2; }
  }

  const layers = layersFor(confDir, runDir, vendor);
  const load = () => loadConfig(confDir, { facts: gatherSpecifierFacts(false, runDir), unitDirs: layerDirs(layers) });
  const config = load();
  let wants: string[] = [];
  if (cmdlineFile !== null) {
    const read = readConfigFile(cmdlineFile);
    if (!("text" in read)) { console.error(`hearth run: --cmdline ${cmdlineFile}: ${"problem" in read ? read.problem : "not found"}`); return 2; }
    const cmdline = parseCmdline(read.text);
    for (const d of cmdline.diagnostics) console.error(formatDiagnostic({ ...d, file: cmdlineFile }));
    wants = cmdline.overrides.wants ?? [];
  }
  markPhase(phases, "config-loaded", offsetMs);
  const logLevel = level ?? config.system.manager.log_level;
  let manager: Manager | null = null;
  const logger = createLogger({
    level: logLevel,
    sink: (r) => (manager ? teeSink(ringSink(manager.managerRing), stderrSink())(r) : stderrSink()(r)),
  });
  for (const d of config.diagnostics) {
    if (d.quiet) logDiagnostic(logger, d); // at info, as under PID 1
    else console.error(formatDiagnostic(d));
  }
  target ??= config.system.manager.default_target;
  if (!config.units.has(target)) {
    console.error(`hearth run: target ${target} not found`);
    return 1;
  }

  let finishing = false;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const exit = async (code: number, reason: string) => {
    if (finishing) return;
    finishing = true;
    logger.notice(`Stopping all units: ${reason}`);
    await manager!.stopAll();
    control.close();
    manager!.close();
    resolveExit(code);
  };

  let restore: ManagerHandover | undefined;
  if (deserialize !== null) {
    const read = reexecModule().readHandover(deserialize);
    if ("error" in read) logger.err(`Re-exec: ${read.error}: starting afresh, adopting nothing`);
    else restore = read.handover;
  }
  manager = new Manager({
    config, runDir, target, logger, systemMode: false, readKmsg, startup: { phases, offsetMs }, restore,
    console: (line) => console.log(line),
    exit: (code, reason) => void exit(code, reason),
  });
  // Keep the event loop alive: all other wake-ups come from the reactor thread.
  const keepAlive = setInterval(() => {}, 1 << 30);
  // Before anything can be seen (a service, the control socket): a SIGTERM from then on
  // stops the units instead of killing the manager with its services left running. The
  // handlers run from the event loop, so after the control server below exists.
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => void exit(0, `${sig} received`));
  }
  const reload = makeReloader(load, manager, logger);
  process.on("SIGHUP", () => { if (!finishing) reload("SIGHUP"); }); // systemd: SIGHUP to the manager is daemon-reload
  const reexec = (reason: string): string | null => {
    if (finishing) return "the manager is stopping";
    logger.notice(`Re-executing ${process.execPath} (${reason})`);
    setTimeout(() => reexecModule().reexecInto(manager!, runDir, ["run", ...argv], logger), 0); // after this turn: the reply is out first
    return null;
  };
  const restoring = manager.restoring;
  manager.start();
  if (!restoring) for (const unit of wants) void manager.request("start", unit);
  Bun.unsafe.setJITPolicy(1); // the start's run-once code is done: the manager's loops run hot from here (src/main.ts)
  const control = new ControlServer(`${runDir}/control.sock`, manager, logger, process.getuid?.() ?? 0,
    { watchdog: null, debugAllowed: false, layers, reload, reexec });
  const code = await exited;
  clearInterval(keepAlive);
  return code;
}
