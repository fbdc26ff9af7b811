// Where a process's stdin, stdout and stderr go, from [service]'s standard_* keys, decided
// as systemd's executor does (setup_input / setup_output in src/core/exec-invoke.c). Pure:
// the shell opens what the plan names (./stdio-open.ts) and never decides it.

import type { ServiceSection } from "../config/types.ts";
import { outputTarget, type OutputTarget } from "../config/standard-output.ts";

export type StdioSource =
  | { kind: "null" } // /dev/null
  | { kind: "tty" } // /dev/console in system mode; the manager's own stdin / stdout under `hearth run`
  | { kind: "log" } // the unit's output pipe, read into its log
  | { kind: "connection" } // the accept = true connection
  | { kind: "file"; path: string; open: "file" | "append" | "truncate" }
  | { kind: "stdout" }; // stderr only: the very fd of stdout (one open file, one offset)

export interface StdioPlan {
  stdin: StdioSource;
  stdout: StdioSource;
  stderr: StdioSource;
  /** The connection is used for stdio: it is not passed at fd 3 (systemd passes it one way only). */
  connection: boolean;
}

export interface StdioFacts {
  /** The process has a connection to use (it belongs to an accept = true instance). */
  hasConnection: boolean;
  /** PID 1: an inherited stdout is /dev/null; under `hearth run` it is the manager's own. */
  systemMode: boolean;
}

export function stdioPlan(cfg: ServiceSection, facts: StdioFacts): StdioPlan {
  // As systemd's fixup_input/fixup_output: "socket" without a connection (a control
  // process) is stdin /dev/null, and an output that inherits.
  const wantedInput = cfg.standard_input ?? "null";
  const input = wantedInput === "socket" && !facts.hasConnection ? "null" : wantedInput;
  const stdin: StdioSource = input === "tty" ? { kind: "tty" } : input === "socket" ? { kind: "connection" } : { kind: "null" };
  const stdout = outputSource(outputTarget(cfg.standard_output ?? "journal"), stdin, facts);
  const errorTarget = outputTarget(cfg.standard_error ?? "inherit");
  const ownStderr = errorTarget.kind === "inherit" ? null : outputSource(errorTarget, stdin, facts);
  // stderr shares stdout's fd when it inherits or names the same thing (a file: the same path, opened the same way).
  const stderr: StdioSource = ownStderr === null || sameSource(ownStderr, stdout) ? { kind: "stdout" } : ownStderr;
  const connection = [stdin, stdout, stderr].some((s) => s.kind === "connection");
  return { stdin, stdout, stderr, connection };
}

function outputSource(target: OutputTarget, stdin: StdioSource, facts: StdioFacts): StdioSource {
  switch (target.kind) {
    case "inherit":
      // stdin's terminal or connection; else /dev/null as PID 1, the manager's stdout in run mode.
      if (stdin.kind !== "null") return stdin;
      return facts.systemMode ? { kind: "null" } : { kind: "tty" };
    case "null": return { kind: "null" };
    case "tty": return { kind: "tty" };
    case "journal": case "syslog": case "kmsg": return { kind: "log" };
    case "socket": return facts.hasConnection ? { kind: "connection" } : outputSource({ kind: "inherit" }, stdin, facts);
    case "file": case "append": case "truncate": return { kind: "file", path: target.path, open: target.kind };
  }
}

function sameSource(a: StdioSource, b: StdioSource): boolean {
  if (a.kind === "file" && b.kind === "file") return a.path === b.path && a.open === b.open;
  return a.kind === b.kind;
}
