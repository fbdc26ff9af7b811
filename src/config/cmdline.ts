// The kernel command line (DESIGN §3): parameters that override system.toml for one boot.
// The kernel hands dotted parameters to no one, so PID 1 reads them from /proc/cmdline.

import type { Diagnostic, ManagerSection, SystemConfig } from "./types.ts";
import { DurationError, parseDuration } from "./duration.ts";
import { LOG_LEVELS, MAX_TIMER_SEC } from "./schema.ts";
import { isValidUnitName, tooLongForTimer } from "./values.ts";
import { quote } from "./describe.ts";

export const CMDLINE_FILE = "/proc/cmdline";

export interface CmdlineOverrides {
  watchdog_runtime_sec?: number;
  watchdog_shutdown_sec?: number;
  watchdog_device?: string;
  target?: string;
  log_level?: ManagerSection["log_level"];
  /** Units started at boot besides the target (hearth.wants=, systemd.wants=; may repeat). */
  wants?: string[];
  /** hearth.debug=1: debug logging, and the control socket's debug verbs (hearth ctl debug). */
  debug?: boolean;
}

/** One `name=value` word of the command line; col is 1-based, for diagnostics. */
export interface CmdlineParam { name: string; value: string | null; col: number }

/**
 * Words as the kernel splits them: spaces separate, double quotes group and are
 * removed (`a="b c"` and `"a=b c"` are both a = "b c"). No escapes exist.
 */
export function splitCmdline(text: string): CmdlineParam[] {
  const params: CmdlineParam[] = [];
  let word: string | null = null;
  let start = 0;
  let quoted = false;
  const end = () => {
    if (word !== null) {
      const eq = word.indexOf("=");
      params.push(eq < 0 ? { name: word, value: null, col: start + 1 } : { name: word.slice(0, eq), value: word.slice(eq + 1), col: start + 1 });
    }
    word = null;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!quoted && /\s/.test(c)) { end(); continue; }
    if (word === null) { word = ""; start = i; }
    if (c === '"') quoted = !quoted;
    else word += c;
  }
  end();
  return params;
}

/** Boot-into-rescue words systemd accepts (runlevel 1 and friends). */
const RESCUE_WORDS = new Set(["single", "rescue", "s", "S", "1"]);

/** What a parameter sets, and how its value is read; `systemd.` aliases rank below `hearth.`. */
interface ParamRule {
  rank: 0 | 1; // 1 for hearth.*, 0 for the systemd.* alias
  apply: (value: string | null, overrides: CmdlineOverrides) => string | null; // an error message, or null
}

const RULES: Record<string, ParamRule> = {
  "hearth.watchdog_sec": { rank: 1, apply: (v, o) => setDuration(v, (s) => (o.watchdog_runtime_sec = s)) },
  "systemd.watchdog_sec": {
    rank: 0,
    // systemd's parameter sets the runtime and the reboot timeouts at once.
    apply: (v, o) => setDuration(v, (s) => { o.watchdog_runtime_sec = s; o.watchdog_shutdown_sec = s; }),
  },
  "hearth.shutdown_watchdog_sec": { rank: 1, apply: (v, o) => setDuration(v, (s) => (o.watchdog_shutdown_sec = s)) },
  "hearth.watchdog_device": { rank: 1, apply: (v, o) => setDevice(v, o) },
  "systemd.watchdog_device": { rank: 0, apply: (v, o) => setDevice(v, o) },
  "hearth.target": { rank: 1, apply: (v, o) => setTarget(v, o) },
  "systemd.unit": {
    rank: 0,
    apply: (v, o) => v !== null && v.endsWith(".target") ? setTarget(v.slice(0, -".target".length), o) : "expects NAME.target",
  },
  "hearth.log_level": { rank: 1, apply: (v, o) => setLogLevel(v, o) },
  "hearth.wants": { rank: 1, apply: (v, o) => addWants(v, o) },
  "systemd.wants": { rank: 0, apply: (v, o) => addWants(v?.replace(/\.(service|target)$/, "") ?? null, o) },
  "hearth.debug": { rank: 1, apply: (v, o) => setDebug(v, o) },
};

function setDuration(value: string | null, set: (seconds: number) => void): string | null {
  if (value === null) return "needs a value";
  if (value === "default") return '"default" (keep the driver\'s timeout) is not supported: give a time';
  try {
    const seconds = value === "off" ? 0 : parseDuration(value);
    if (seconds > MAX_TIMER_SEC) return tooLongForTimer(quote(value)); // as [watchdog] refuses it
    set(seconds);
    return null;
  } catch (e) {
    if (e instanceof DurationError) return e.message;
    throw e;
  }
}

function setDevice(value: string | null, o: CmdlineOverrides): string | null {
  if (value === null || !value.startsWith("/")) return "expects an absolute path";
  o.watchdog_device = value;
  return null;
}

function setTarget(value: string | null, o: CmdlineOverrides): string | null {
  if (value === null || !isValidUnitName(value)) return "expects a unit name";
  o.target = value;
  return null;
}

function addWants(value: string | null, o: CmdlineOverrides): string | null {
  if (value === null || !isValidUnitName(value)) return "expects a unit name";
  o.wants = [...(o.wants ?? []), value];
  return null;
}

function setLogLevel(value: string | null, o: CmdlineOverrides): string | null {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) return `expects one of ${LOG_LEVELS.join(", ")}`;
  o.log_level = level;
  return null;
}

function setDebug(value: string | null, o: CmdlineOverrides): string | null {
  if (value !== null && value !== "1" && value !== "true") return "takes no value";
  o.log_level = "debug";
  o.debug = true;
  return null;
}

/** The overrides in /proc/cmdline text, and a Diagnostic for each value that is not valid. */
export function parseCmdline(text: string): { overrides: CmdlineOverrides; diagnostics: Diagnostic[] } {
  const params = splitCmdline(text);
  const diagnostics: Diagnostic[] = [];
  const ranked: CmdlineOverrides[] = [{}, {}]; // by rank: the systemd.* aliases, then hearth.*
  for (const { name, value, col } of params) {
    if (RESCUE_WORDS.has(name) && value === null) ranked[0]!.target = "rescue";
    const rule = RULES[name];
    if (rule === undefined) continue; // the command line belongs to everyone: ignore the rest
    const problem = rule.apply(value, ranked[rule.rank]!);
    if (problem !== null) {
      diagnostics.push({ file: CMDLINE_FILE, line: 1, col, severity: "error", message: `${name}: ${problem}; ignored` });
    }
  }
  const wants = [...(ranked[0]!.wants ?? []), ...(ranked[1]!.wants ?? [])];
  return { overrides: { ...ranked[0], ...ranked[1], ...(wants.length > 0 ? { wants } : {}) }, diagnostics };
}

/** system.toml's settings with the command line's on top. */
export function applyCmdline(system: SystemConfig, overrides: CmdlineOverrides): SystemConfig {
  const watchdog = { ...system.watchdog };
  if (overrides.watchdog_runtime_sec !== undefined) watchdog.runtime_sec = overrides.watchdog_runtime_sec;
  if (overrides.watchdog_shutdown_sec !== undefined) watchdog.shutdown_sec = overrides.watchdog_shutdown_sec;
  if (overrides.watchdog_device !== undefined) watchdog.device = overrides.watchdog_device;
  const manager = { ...system.manager };
  if (overrides.target !== undefined) manager.default_target = overrides.target;
  if (overrides.log_level !== undefined) manager.log_level = overrides.log_level;
  return { ...system, manager, watchdog };
}
