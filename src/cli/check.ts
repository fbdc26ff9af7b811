// `hearth check [-c CONFDIR]`: validate the whole configuration, print every problem as
// FILE:LINE:COL: severity: message, then a summary; exit 1 if there is any error.

import { loadConfig, formatDiagnostic } from "../config/load.ts";
import type { LoadEnv } from "../config/commands.ts";
import { defaultConfDir } from "./paths.ts";
import { probeKernel, unsupportedDirectives, type KernelSupport } from "../exec/kernel-support.ts";
import { layerDirs, layersFor } from "../config/layers.ts";

const USAGE = "usage: hearth check [-c CONFDIR] [-r RUNDIR] [--vendor-units DIR]";

export interface CheckIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: LoadEnv; // how programs are checked; the real filesystem by default
  kernel?: KernelSupport; // what the sandbox may use; the running kernel's by default
}

const consoleIo: CheckIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

export async function checkMain(argv: string[], io: CheckIo = consoleIo): Promise<number> {
  let confDir = defaultConfDir();
  let runDir: string | null = null, vendor: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-c" || arg === "--conf-dir") {
      if (i + 1 >= argv.length) {
        io.err(`hearth check: ${arg} needs a directory\n${USAGE}`);
        return 2;
      }
      confDir = argv[++i]!;
    } else if (arg.startsWith("--conf-dir=")) confDir = arg.slice("--conf-dir=".length);
    else if ((arg === "-r" || arg === "--run-dir" || arg === "--vendor-units") && i + 1 < argv.length) {
      if (arg === "--vendor-units") vendor = argv[++i]!;
      else runDir = argv[++i]!;
    }
    else if (arg === "-h" || arg === "--help") {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`hearth check: unexpected argument "${arg}"\n${USAGE}`);
      return 2;
    }
  }

  const config = loadConfig(confDir, { env: io.env, unitDirs: layerDirs(layersFor(confDir, runDir, vendor)) });
  for (const diagnostic of config.diagnostics) io.out(formatDiagnostic(diagnostic));
  const kernel = io.kernel ?? probeKernel();
  let kernelWarnings = 0;
  for (const unit of config.units.values()) {
    for (const problem of unit.service ? unsupportedDirectives(unit.service, kernel) : []) {
      io.out(`${unit.file}: warning: ${problem}`);
      kernelWarnings++;
    }
  }
  const errors = config.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = config.diagnostics.length - errors + kernelWarnings;
  io.out(`${count(config.units.size, "unit")}, ${count(errors, "error")}, ${count(warnings, "warning")}`);
  return errors > 0 ? 1 : 0;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
