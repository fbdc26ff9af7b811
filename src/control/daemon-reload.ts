// daemon-reload, the shell's half: read and validate the whole configuration again; if
// it has an error, keep the one running and say why (FILE:LINE:COL, in the reply and the
// log); else hand it to the engine, which decides what changes (src/engine/reload.ts).
//
// systemd loads what it can and marks the units it cannot ("bad-setting"); hearth refuses
// the whole new configuration instead, so that one typo never stops a running unit.
// Reloads are serialised by construction: one runs to its end in one turn of the loop
// (reading the files included), so a second (SIGHUP, another client) waits its turn.

import { formatDiagnostic, logDiagnostic } from "../config/diagnostics.ts";
import type { LoadedConfig } from "../config/types.ts";
import type { Logger } from "../log/manager-log.ts";

export type ReloadOutcome = { ok: true; text: string; warnings: string[] } | { ok: false; error: string; errors: string[] };

export interface ReloadTarget {
  replaceConfiguration(config: LoadedConfig): void;
}

/** The reload of a manager: `load` reads the configuration as at start (the same layers, the same adjustments). */
export function makeReloader(load: () => LoadedConfig, manager: ReloadTarget, log: Logger): (reason: string) => ReloadOutcome {
  return (reason) => {
    log.notice(`Reloading the configuration (${reason})`);
    let config: LoadedConfig;
    try {
      config = load();
    } catch (e) {
      const error = `reading the configuration failed: ${e instanceof Error ? e.message : String(e)}`;
      log.err(`Reload refused: ${error}; the configuration running is kept`);
      return { ok: false, error, errors: [error] };
    }
    const errors = config.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
    const warnings = config.diagnostics.filter((d) => d.severity !== "error" && !d.quiet).map(formatDiagnostic);
    if (errors.length > 0) {
      for (const e of errors) log.err(e);
      log.err(`Reload refused: ${errors.length} error${errors.length === 1 ? "" : "s"} in the configuration; the configuration running is kept`);
      return { ok: false, error: `the configuration has errors; the one running is kept:\n${errors.join("\n")}`, errors };
    }
    for (const d of config.diagnostics) if (d.severity !== "error") logDiagnostic(log, d);
    manager.replaceConfiguration(config);
    return { ok: true, text: `Reloaded: ${config.units.size} units`, warnings };
  };
}
