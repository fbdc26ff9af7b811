// hearth as PID 1: early boot, then the same Manager as `hearth run`, in system mode.
//
// PID 1 must never die (the kernel panics when it does): every step of early boot is
// tried on its own, uncaught exceptions and unhandled rejections are logged and
// contained, and a configuration that cannot be used boots the rescue target (with a
// shell on the console when the rootfs has one) instead.

import { accessSync, constants, existsSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { applyCmdline, CMDLINE_FILE, parseCmdline, type CmdlineOverrides } from "../config/cmdline.ts";
import { logDiagnostic } from "../config/diagnostics.ts";
import { loadConfig } from "../config/load.ts";
import { layerDirs, SYSTEM_LAYERS } from "../config/layers.ts";
import { makeReloader } from "../control/daemon-reload.ts";
import { gatherSpecifierFacts } from "./specifier-facts.ts";
import type { Diagnostic, LoadedConfig } from "../config/types.ts";
import { ControlServer } from "../control/server.ts";
import { createLogger, formatManagerLine, LOG_LEVEL_PRIORITY, ringSink, type LogLevelName, type Logger } from "../log/manager-log.ts";
import { Manager } from "../manager/manager.ts";
import { PERSISTENT_LOG_DIR, PersistentLog } from "../log/persistent.ts";
import { parseMountinfo } from "../boot/mountinfo.ts";
import { chooseBootTarget } from "../boot/boot-target.ts";
import { applyHostname, loopbackUp, raiseDatagramQueue, mountApiFilesystems, openConsole, shareMounts, type EarlyReport } from "../boot/early.ts";
import { loadKernelModules } from "../boot/kmod.ts";
import { systemMounter } from "../boot/mounter.ts";
import { withMountUnits } from "../boot/mount-units.ts";
import { rescueShellUnit, withRescueShell, type ShellFound } from "../boot/rescue.ts";
import { Shutdown } from "../boot/shutdown.ts";
import { emergencyPowerRequest, POWER_SIGNALS, type PowerRequest } from "../engine/power.ts";
import { formatStartupFinished } from "../control/startup-phases.ts";
import { bootOffsetMs, markPhase, startupMarks } from "../boot/phase-marks.ts";
import type { EmergencyAction } from "../config/types.ts";
import { HardwareWatchdog } from "../watchdog/hardware.ts";
import { healthVerdict, type UnitHealth } from "../watchdog/policy.ts";
import { readTimeoutRange, readWatchdogSysfs } from "../watchdog/sysfs.ts";
import { setCtrlAltDelReboots } from "../../ffi/system.ts";
import { WatchdogFd } from "../../ffi/watchdog.ts";
import { onSignal } from "../../ffi/signal-forward.ts";
import { signalNumber } from "../../ffi/signals.ts";
import { reapChildren } from "../exec/reaper.ts";
import pkg from "../../package.json" with { type: "json" };

/** daemon-reexec (src/manager/reexec.ts), loaded when asked for or taken over from (require: a chunk of its own). */
const reexecModule = (): typeof import("../manager/reexec.ts") => require("../manager/reexec.ts");

export const SYSTEM_CONF_DIR = "/etc/hearth";
export const SYSTEM_RUN_DIR = "/run/hearth";

/** Writes a line to the console (fd 1 is /dev/console once early boot has run). Never throws. */
function writeConsole(line: string): void {
  try {
    writeSync(1, `${line}\n`);
  } catch {
    // no console: nothing to tell anyone
  }
}

export async function systemMain(argv: string[]): Promise<number> {
  if (process.pid !== 1) {
    console.error("hearth: the system manager runs as PID 1 only; to try it, use `hearth run`");
    return 1;
  }
  let log: Logger | null = null;
  const contain = (what: string) => (e: unknown) => {
    const text = `${what}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
    if (log) log.err(text);
    else writeConsole(`hearth: ${text}`);
  };
  process.on("uncaughtException", contain("uncaught exception (contained)"));
  process.on("unhandledRejection", contain("unhandled rejection (contained)"));
  try {
    await boot((l) => (log = l), argv);
  } catch (e) {
    // Nothing is left to run, but PID 1 must not exit: say so, and keep reaping.
    writeConsole(`hearth: boot failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    writeConsole("hearth: staying up without a manager; power the board off by hand");
    setInterval(() => { try { reapChildren(); } catch { /* nothing to reap */ } }, 1000);
  }
  return new Promise<number>(() => {}); // PID 1 never returns
}

async function boot(setLogger: (log: Logger) => void, argv: string[]): Promise<void> {
  // The start-up phases, on CLOCK_BOOTTIME; the handover is read from /dev/kmsg, so after /dev is mounted.
  const codeLoaded = performance.now(), offsetMs = bootOffsetMs();
  // daemon-reexec: the process before handed its state over (src/manager/reexec.ts). Its
  // hardware watchdog is pinged first of all: loading the configuration and the kernel
  // modules again must not outlast its timeout.
  const at = argv.indexOf("--deserialize");
  const handover = at >= 0 ? reexecModule().readHandover(argv[at + 1] ?? "") : null;
  const restore = handover !== null && "handover" in handover ? handover.handover : undefined;
  if (restore?.watchdog) WatchdogFd.adopt(restore.watchdog.fd, restore.watchdog.path).keepalive();
  const early: EarlyReport = { notes: [], consoleFd: null };
  mountApiFilesystems(early);
  shareMounts(early);
  const phases = startupMarks("kernel", offsetMs, codeLoaded);
  openConsole(early);
  writeConsole(`\nhearth ${pkg.version} running as PID 1.`);

  const cmdline = readCmdline();
  const confReadable = isReadableDir(SYSTEM_CONF_DIR);
  const readConfig = (): LoadedConfig => {
    const loaded = loadConfig(SYSTEM_CONF_DIR, { facts: gatherSpecifierFacts(true, "/run"), unitDirs: layerDirs(SYSTEM_LAYERS) });
    return { ...loaded, system: applyCmdline(loaded.system, cmdline.overrides) };
  };
  const config = readConfig();
  markPhase(phases, "config-loaded", offsetMs);
  const choice = chooseBootTarget({ confDir: SYSTEM_CONF_DIR, confDirReadable: confReadable, config, target: config.system.manager.default_target });

  const logger = systemLogger(config.system.manager.log_level, cmdline.overrides.log_level !== undefined);
  setLogger(logger);
  for (const d of [...cmdline.diagnostics, ...config.diagnostics]) logDiagnostic(logger, d);
  if (choice.rescueReason) writeConsole(`[FAILED] Booting the rescue target: ${choice.rescueReason}`);

  const hostname = applyHostname(config.system.manager.hostname, early);
  loopbackUp(early);
  raiseDatagramQueue(early); // before the notify socket exists: the limit is taken at socket creation
  for (const note of early.notes) logger[note.level](note.text);
  if (handover !== null && "error" in handover) logger.err(`Re-exec: ${handover.error}: starting afresh, adopting nothing`);
  try { setCtrlAltDelReboots(false); } catch { /* the kernel then reboots at once on ctrl-alt-del */ }
  for (const m of await loadKernelModules(config.system.manager.kernel_modules)) {
    if (m.result === "failed") logger.err(`kernel module ${m.name}: ${m.error}`);
    else logger.info(`kernel module ${m.name}: ${m.result}`);
  }
  logger.info(`hostname ${hostname}; the kernel handed over ${Math.round(phases.marks[0]!.atMs)} ms after boot (CLOCK_BOOTTIME)`);
  // The hardware watchdog, as soon as its driver is loaded: pinged from this loop from now on.
  const wd = config.system.watchdog;
  const watchdog = new HardwareWatchdog(wd.device, {
    // The device the process before the exec held stays the same open file (never closed, never disarmed).
    open: (path) => (restore?.watchdog?.path === path ? WatchdogFd.adopt(restore.watchdog.fd, path) : WatchdogFd.open(path)),
    log: logger, console: writeConsole,
    now: () => performance.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as Timer),
    timeoutRange: readTimeoutRange,
  });
  watchdog.learn(readWatchdogSysfs(wd.device));
  watchdog.startRuntime(wd.runtime_sec, choice.target, wd.shutdown_sec);

  const unitsOf = (c: LoadedConfig) => withRescueShell(
    withMountUnits(c.units, c.system.mounts, choice.target),
    rescueShellUnit(findShell(), c.units, c.system),
  );
  const units = unitsOf(config);
  let manager!: Manager;
  let control: ControlServer | null = null;
  const plog = openPersistentLog(logger);
  const shutdown = new Shutdown({
    stopAllUnits: () => manager.stopAll(),
    abandonUnits: () => manager.abandon(),
    release: () => control?.close(),
    console: writeConsole,
    log: logger,
    hooks: {
      begin: () => watchdog.armForShutdown(),
      // Each step's lines reach the disk; the log is closed before the root goes read-only.
      step: (what) => { if (what === "unmount") plog?.close(); else plog?.flush(); watchdog.shutdownStep(); },
      end: (action) => watchdog.finish(action),
    },
  });
  const power = (r: PowerRequest, reason: string) => {
    plog?.wayDown(r.action, reason);
    void shutdown.run(r.action, reason, r.mode);
  };
  manager = new Manager({
    config: { ...config, units }, runDir: SYSTEM_RUN_DIR, target: choice.target, logger, systemMode: true,
    console: writeConsole,
    exit: (_code, reason) => power({ action: "poweroff", mode: "orderly" }, reason),
    power: (action, reason, mode) => power({ action, mode }, reason),
    mounter: systemMounter,
    startup: { phases, offsetMs }, restore,
    unitLogTap: plog ? (r) => plog.append(r) : undefined,
    startupFinished: (p, ready) => {
      setTimeout(() => writeConsole(residentMemoryLine()), 0); // after the line below
      return p ? formatStartupFinished(p, ready) : `Startup finished; ${ready} units ready`;
    },
  });
  logRecords = (r) => {
    manager.managerRing.push(r);
    plog?.append(r);
  };
  watchdog.gateOn(wd.critical_units, () => healthVerdict(unitHealth(manager, wd.critical_units), wd.critical_units));
  setInterval(() => {}, 1 << 30); // the loop's wake-ups come from the reactor and timers
  const restoring = manager.restoring;
  // daemon-reload reads the configuration as at boot: the same layers, command line, mounts and rescue shell.
  const reexec = (reason: string): string | null => {
    logger.notice(`Re-executing ${process.execPath.replace(/ \(deleted\)$/, "")} (${reason})`);
    plog?.flush();
    setTimeout(() => reexecModule().reexecInto(manager, SYSTEM_RUN_DIR, [], logger, () => watchdog.handOver()), 0); // after the reply
    return null;
  };
  const reload = makeReloader(() => { const c = readConfig(); return { ...c, units: unitsOf(c) }; }, manager, logger);
  // Before the start: a poweroff signal (BusyBox's poweroff in the rescue shell) sent while
  // the start still runs would be dropped by the kernel, PID 1 ignoring what it has no handler for.
  handleSignals(power, config.system.manager.ctrl_alt_del, logger, reload);
  manager.start();
  Bun.unsafe.setJITPolicy(1); // the start's run-once code is done: the manager's loops run hot from here (src/main.ts)
  try {
    control = new ControlServer(`${SYSTEM_RUN_DIR}/control.sock`, manager, logger, 0,
      { watchdog, debugAllowed: cmdline.overrides.debug === true, layers: SYSTEM_LAYERS, reload, reexec });
  } catch (e) {
    logger.err(`control socket: ${(e as Error).message}`);
  }
  if (!restoring) for (const unit of cmdline.overrides.wants ?? []) void manager.request("start", unit);
}

/**
 * The persistent log (src/log/persistent.ts) when the root is on storage; none when it is
 * in RAM (an initramfs: nothing would survive), or read-only (said once).
 */
function openPersistentLog(log: Logger): PersistentLog | null {
  let rootType = "";
  try {
    rootType = parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8")).findLast((m) => m.mountPoint === "/")?.fstype ?? "";
  } catch { /* unknown: try */ }
  if (rootType === "rootfs" || rootType === "ramfs" || rootType === "tmpfs") return null;
  return PersistentLog.open({
    onError: (e) => log.notice(`persistent log ${PERSISTENT_LOG_DIR} off: ${(e as Error).message ?? e}`),
  });
}

/** The signals to PID 1 that take the way down (src/engine/power.ts), and Ctrl-Alt-Del (SIGINT). */
function handleSignals(power: (r: PowerRequest, reason: string) => void, ctrlAltDel: EmergencyAction, log: Logger, reload: (reason: string) => unknown) {
  for (const [name, request] of Object.entries(POWER_SIGNALS)) {
    const handler = () => power(request, name);
    try {
      // Bun knows no real-time signal: those come through ffi/signal-forward.ts.
      if (name.startsWith("SIGRTMIN")) onSignal(signalNumber(name)!, handler);
      else process.on(name as NodeJS.Signals, handler);
    } catch (e) {
      log.warning(`${name} will be ignored: ${(e as Error).message}`);
    }
  }
  process.on("SIGINT", () => {
    const request = emergencyPowerRequest(ctrlAltDel);
    if (request === null) return log.notice("Ctrl-Alt-Del ignored (ctrl_alt_del = none)");
    power(request, "Ctrl-Alt-Del");
  });
  process.on("SIGHUP", () => void reload("SIGHUP")); // systemd: SIGHUP to PID 1 is daemon-reload
}

/** What health gating looks at (src/watchdog/policy.ts): the critical units' states. */
function unitHealth(manager: Manager, names: string[]): UnitHealth[] {
  return names.map((name) => ({
    name,
    active: manager.unit(name)?.active ?? "inactive",
    result: manager.unit(name)?.result ?? "success",
  }));
}

/**
 * PID 1's resident memory once started (the boot tests look for this line), and its two
 * parts: anonymous (heap, stacks, JIT code: memory PID 1 alone holds) and file pages (the
 * executable's code and read-only data, which the page cache holds anyway; an initramfs's
 * files count as shared memory, RssShmem, a disk's as RssFile).
 */
function residentMemoryLine(): string {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const mib = (n: number) => (n / 1024).toFixed(1);
    const rss = kb("VmRSS");
    if (Number.isFinite(rss)) return `hearth: PID 1 resident memory after start-up: ${mib(rss)} MiB (anonymous ${mib(kb("RssAnon"))}, file pages ${mib(kb("RssFile") + kb("RssShmem"))})`;
  } catch { /* no /proc */ }
  return "hearth: PID 1 resident memory after start-up: unknown (no /proc/self/status)";
}

function readCmdline(): { overrides: CmdlineOverrides; diagnostics: Diagnostic[] } {
  try {
    return parseCmdline(readFileSync(CMDLINE_FILE, "utf8"));
  } catch (e) {
    return { overrides: {}, diagnostics: [{ file: CMDLINE_FILE, line: 0, col: 0, severity: "warning", message: `cannot read: ${(e as Error).message}` }] };
  }
}

function isReadableDir(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

function findShell(): ShellFound | null {
  const shell = ["/bin/sh", "/usr/bin/sh"].find(isExecutable);
  if (!shell) return null;
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find(isExecutable) ?? null;
  return { shell, busybox };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return existsSync(path);
  } catch {
    return false;
  }
}

let logRecords: ((r: Parameters<ReturnType<typeof ringSink>>[0]) => void) | null = null;

/**
 * Every record goes to the manager's ring (hearth ctl logs); the console shows
 * notices and worse, or everything down to the level the kernel command line asked for.
 */
function systemLogger(level: LogLevelName, levelFromCmdline: boolean): Logger {
  const consoleLevel: LogLevelName = levelFromCmdline ? level : "notice";
  return createLogger({
    level,
    sink: (r) => {
      logRecords?.(r);
      if (r.priority <= LOG_LEVEL_PRIORITY[consoleLevel]) writeConsole(formatManagerLine(r));
    },
  });
}
