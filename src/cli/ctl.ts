// `hearth ctl [-r RUNDIR] VERB ...`: the control client.
import type { Socket } from "bun";
import { EXIT } from "../control/protocol.ts";
import { formatList, formatLogs, formatStatus, formatWatchdog } from "../control/format.ts";
import { DurationError, parseTimeSpan } from "../config/duration.ts";
import type { WatchdogState } from "../watchdog/hardware.ts";
import { blame, dot, formatCriticalChain, plot, type Timeline } from "../control/analyze.ts";
import { formatSecurity, type UnitSecurity } from "../control/security-format.ts";
import { formatEntry } from "../log/format.ts";
import { formatPhases, phaseRows } from "../control/startup-phases.ts";
import type { UnitStatus } from "../control/status.ts";
import { defaultRunDirs } from "./paths.ts";
import { formatListTimers } from "../timers/list-timers.ts";

const USAGE = `usage: hearth ctl [-r RUNDIR] [--json] VERB [ARGS]
verbs:
  status [UNIT...]          state of the manager or of units (exit 3 if a unit is not active, 4 if not found)
  list                      every unit and its state
  list-timers [--all]       active timer units (--all: every one): next and last elapse, what they start
  start|stop|restart|reload UNIT...
  isolate UNIT              start UNIT with what it pulls in, stop every other unit (not those
                            with ignore_on_isolate, nor mounts); UNIT needs allow_isolate = true
  reset-failed [UNIT...]    clear the failed state and the start-limit counter
  cat UNIT...               the unit's files in the order they apply (file, then drop-ins), each after "# PATH"
  enable|disable UNIT...    disable: a drop-in in the admin layer resets wanted_by and required_by; enable removes it
  mask|unmask UNIT...       mask: NAME.toml -> /dev/null in the admin layer (the unit cannot be started); unmask removes it
                            (each of these four is followed by a daemon-reload, as systemctl's)
  daemon-reload             read and validate the configuration again (SIGHUP to the manager does the same);
                            with an error, the configuration running is kept and the reply says FILE:LINE:COL
  daemon-reexec             the manager serialises its state and execs its binary again (a new one
                            after an update): services keep running with the same pids
  logs [-f] [-n N] [UNIT]   captured output and syslog lines of a unit (or of everything); root only;
                            UNIT "kernel": the kernel's messages, "syslog": syslog from no unit
  logs --boot -1            the previous boot's persistent log and how that boot ended
  analyze [time|blame|critical-chain [UNIT]|plot|dot|security [UNIT]]
                            where the start-up time went: time (the default) splits hearth's
                            own start into phases (kernel handover, runtime ready, code and
                            configuration loaded, first spawn, target reached; --json: the
                            numbers); blame and critical-chain the units; plot an SVG chart
  poweroff|reboot|halt      stop every unit and take the system down (hearth run: end it)
  watchdog [set-timeout TIME]
                            the hardware watchdog: device, timeout, pings, jitter, last reset;
                            set-timeout changes the runtime timeout ("10s"; 0 or off disarms)
  debug freeze [SECONDS]    busy-wait the manager loop (for good without SECONDS): the hardware
                            watchdog must reset the board; only with hearth.debug=1 at boot
UNIT may be an alias, or NAME@INSTANCE of a template units/NAME@.toml (made when named,
as systemctl does). Any user may look (status, list, list-timers, analyze, watchdog); changes and logs
are root's (or, under hearth run, its own user's)`;

interface CtlArgs {
  /** The run directories to try in turn: the one given with -r, else the defaults. */
  runDirs: string[];
  json: boolean;
  verb: string;
  units: string[];
  lines: number;
  follow: boolean;
  all: boolean; // list-timers --all: inactive timers too
}

/** The parsed arguments, a usage error (string), or the help text the user asked for. */
export function parseCtlArgs(argv: string[]): CtlArgs | string | { help: string } {
  const a: CtlArgs = { runDirs: defaultRunDirs(), json: false, verb: "", units: [], lines: 10, follow: false, all: false };
  let linesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === "-r" || x === "--run-dir") a.runDirs = [argv[++i] ?? ""];
    else if (x === "--json") a.json = true;
    else if (x === "-f" || x === "--follow") a.follow = true;
    else if (x === "-a" || x === "--all") a.all = true;
    else if (x === "-n" || x === "--lines") {
      a.lines = Number(argv[++i]);
      linesGiven = true;
    } else if (x === "-h" || x === "--help") return { help: USAGE };
    else if (x.startsWith("-")) return `unknown option ${x}\n${USAGE}`;
    else if (a.verb === "") a.verb = x;
    else a.units.push(x);
  }
  if (a.verb === "") return USAGE;
  if (!Number.isInteger(a.lines) || a.lines < 0) return "-n needs a non-negative integer";
  if (a.verb === "status" && !linesGiven) a.lines = 10;
  return a;
}

/**
 * Send one request; call onLine for each reply line until the server ends or onLine says stop.
 * Bun.connect rather than node:net: loading node:net costs the client ~10 ms of its start.
 */
export async function request(runDir: string, req: object, onLine: (obj: Record<string, unknown>) => boolean): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  let unsent = Buffer.from(JSON.stringify(req) + "\n");
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const send = (s: Socket) => {
    if (unsent.length > 0) unsent = unsent.subarray(Math.max(0, s.write(unsent)));
  };
  await Bun.connect({
    unix: `${runDir}/control.sock`,
    socket: {
      open: send,
      drain: send,
      data(s, chunk) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let stop: boolean;
          try {
            stop = !onLine(JSON.parse(line));
          } catch (e) {
            s.end();
            return reject(e);
          }
          if (stop) {
            s.end();
            return resolve();
          }
        }
      },
      error: (_s, e) => reject(e),
      close: () => resolve(),
    },
  });
  return promise;
}

// Bun.connect's errors say only "Failed to connect": the code, in words.
const CONNECT_ERRORS: Record<string, string> = {
  ENOENT: "no such socket (is hearth running?)",
  ECONNREFUSED: "connection refused (no manager listening)",
  EACCES: "permission denied",
};

export async function ctlMain(argv: string[]): Promise<number> {
  // The previous boot's log is read from its files, without PID 1 (src/log/previous-boot.ts).
  if (argv[0] === "logs" && argv.includes("--boot")) return (await import("../log/previous-boot.ts")).previousBootMain(argv);
  const args = parseCtlArgs(argv);
  if (typeof args === "object" && "help" in args) {
    console.log(args.help);
    return EXIT.ok;
  }
  if (typeof args === "string") {
    console.error(args);
    return EXIT.usage;
  }
  const verb = args.verb;
  // analyze's first word is its view, not a unit.
  const view = verb === "analyze" ? args.units.shift() ?? "time" : "";
  if (verb === "analyze" && !["time", "blame", "critical-chain", "plot", "dot", "security"].includes(view)) {
    console.error(`hearth ctl: analyze: unknown view ${view}; expected time, blame, critical-chain, plot, dot or security`);
    return EXIT.usage;
  }
  const extra = verbArguments(verb, args.units);
  if (typeof extra === "string") {
    console.error(`hearth ctl: ${extra}`);
    return EXIT.usage;
  }
  const body = { verb, units: verb === "analyze" ? [] : args.units, lines: args.lines, follow: args.follow, ...extra };
  let exit: number = EXIT.failed;
  let answered = false;
  const [runDir, fallback] = args.runDirs as [string, string?];
  const onLine = (obj: Record<string, unknown>) => {
    if ("log" in obj) {
      const e = obj.log as Parameters<typeof formatEntry>[0];
      console.log(args.json ? JSON.stringify(e) : formatEntry(e));
      return true;
    }
    answered = true;
    exit = typeof obj.exit === "number" ? obj.exit : EXIT.failed;
    if (args.json && view === "time" && obj.timeline) console.log(JSON.stringify(phasesJson(obj.timeline as Timeline)));
    else if (args.json) console.log(JSON.stringify(obj));
    else if (verb === "analyze" && view === "security" && obj.security) exit = printSecurity(obj.security as UnitSecurity[], args.units[0]);
    else if (verb === "analyze" && obj.timeline) printAnalysis(view, obj.timeline as Timeline, args.units[0]);
    else print(verb, obj, args.all);
    return false;
  };
  let tried = runDir;
  try {
    await request(runDir, body, onLine).catch((e) => {
      // No system manager (its socket does not exist): the user's `hearth run`.
      if (fallback === undefined || (e as { code?: string }).code !== "ENOENT") throw e;
      tried = fallback;
      return request(fallback, body, onLine);
    });
  } catch (e) {
    const err = e as { code?: string; message: string };
    const why = err.code ? (CONNECT_ERRORS[err.code] ?? err.code) : err.message;
    console.error(`hearth ctl: cannot reach the manager at ${tried}/control.sock: ${why}`);
    return EXIT.failed;
  }
  if (!answered && !args.follow) console.error(`hearth ctl: the manager closed the connection without a reply`);
  return exit;
}

/** The words after watchdog and debug, as request fields (they name no unit); a usage error as a string. */
export function verbArguments(verb: string, words: string[]): Record<string, unknown> | string {
  if (verb !== "watchdog" && verb !== "debug") return {};
  const [what, value, ...rest] = words.splice(0);
  if (rest.length > 0) return `${verb}: too many arguments`;
  if (verb === "watchdog") {
    if (what === undefined) return {};
    if (what !== "set-timeout" || value === undefined) return "watchdog: expected set-timeout TIME (\"10s\", 0 or off)";
    try {
      return { setTimeoutSec: value === "off" ? 0 : parseTimeSpan(value) };
    } catch (e) {
      if (e instanceof DurationError) return `watchdog set-timeout: ${e.message}`;
      throw e;
    }
  }
  if (what !== "freeze") return "debug: expected freeze [SECONDS]";
  if (value === undefined) return { debug: { action: "freeze" } };
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) return "debug freeze: SECONDS must be a non-negative number";
  return { debug: { action: "freeze", seconds } };
}

function print(verb: string, obj: Record<string, unknown>, all = false) {
  if (obj.ok === false && obj.error) console.error(`hearth ctl: ${obj.error}`);
  if (verb === "list-timers") console.log(formatListTimers(obj.units as UnitStatus[], Date.now(), undefined, all));
  else if (verb === "list") console.log(formatList(obj.units as UnitStatus[], (obj.broken ?? []) as { name: string; errors: string[] }[]));
  else if (verb === "status" && Array.isArray(obj.units)) {
    console.log((obj.units as UnitStatus[]).map((u) => formatStatus(u)).join("\n\n"));
    if (typeof obj.hint === "string") console.error(`Hint: ${obj.hint}`);
  }
  else if (verb === "status" && obj.manager) {
    const m = obj.manager as { pid: number; units: number; failed: string[] };
    console.log(`● hearth (PID ${m.pid}): ${m.units} units, ${m.failed.length} failed${m.failed.length ? `: ${m.failed.join(", ")}` : ""}`);
  } else if (verb === "watchdog" && obj.watchdog) {
    console.log(formatWatchdog(obj.watchdog as WatchdogState));
  } else if (typeof obj.text === "string" && obj.text !== "") {
    process.stdout.write(obj.text.endsWith("\n") ? obj.text : obj.text + "\n");
  } else if (verb === "logs" && Array.isArray(obj.logs)) {
    const text = formatLogs(obj.logs as Parameters<typeof formatLogs>[0]);
    if (text) console.log(text);
  }
}

/** `analyze time --json`: each phase with its times in ms (since boot, since the handover, from the phase before). */
function phasesJson(t: Timeline) {
  if (!t.phases) return { target: t.target, phases: null };
  return { target: t.target, origin: t.phases.origin, phases: phaseRows(t.phases) };
}

/** `analyze security [UNIT]`: exit 1 for a unit that is not a service. */
function printSecurity(rows: UnitSecurity[], unit?: string): number {
  if (unit !== undefined && !rows.some((r) => r.unit === unit)) {
    console.error(`hearth ctl: analyze security: ${unit} is not a loaded service`);
    return EXIT.failed;
  }
  console.log(formatSecurity(rows, unit));
  return EXIT.ok;
}

function printAnalysis(view: string, t: Timeline, unit?: string) {
  const time = () => t.phases ? formatPhases(t.phases, t.target) : "the manager did not record its start-up phases";
  const text = view === "time" ? time() : view === "plot" ? plot(t) : view === "dot" ? dot(t) : view === "critical-chain" ? formatCriticalChain(t, unit) : blame(t);
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}
