// Which target PID 1 boots, and why it falls back to rescue. Pure.
//
// A board must come up even with a bad configuration: a unit with errors is left out
// and the others start (the loader sees to that), but when there is no configuration at
// all, when system.toml cannot be parsed, or when the target to boot does not exist,
// PID 1 boots `rescue` and says why on the console, instead of dying (a kernel panic).

import type { Diagnostic, LoadedConfig } from "../config/types.ts";
import { formatDiagnostic } from "../config/diagnostics.ts";

export interface BootChoice {
  target: string;
  /** Why the boot goes to rescue against the configuration's wish; null when it does not. */
  rescueReason: string | null;
}

export interface BootInput {
  confDir: string;
  confDirReadable: boolean;
  config: LoadedConfig;
  /** hearth.target= / systemd.unit= / "single", already merged into config.system by applyCmdline. */
  target: string;
}

export function chooseBootTarget(input: BootInput): BootChoice {
  const rescue = (reason: string): BootChoice => ({ target: "rescue", rescueReason: reason });
  if (!input.confDirReadable) return rescue(`no configuration: ${input.confDir} is missing or unreadable`);
  const syntax = input.config.diagnostics.find((d) => isSystemFile(d, input.confDir) && d.message.startsWith("TOML syntax error"));
  if (syntax) return rescue(`${formatDiagnostic(syntax)}`);
  if (!input.config.units.has(input.target)) {
    return rescue(`the target '${input.target}' is not loaded (unknown, or its file has errors)`);
  }
  return { target: input.target, rescueReason: null };
}

function isSystemFile(d: Diagnostic, confDir: string): boolean {
  return d.file === `${confDir.replace(/\/+$/, "")}/system.toml`;
}
