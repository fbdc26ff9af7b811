// Where a process's stdin, stdout and stderr go, from [service]'s standard_* keys, decided
// as systemd's executor does (setup_input / setup_output in src/core/exec-invoke.c). Pure:
// the shell opens what the plan names (./stdio-open.ts) and never decides it.

import type { ServiceSection } from "../config/types.ts";
import { outputTarget, type OutputTarget } from "../config/standard-output.ts";
import type { NativeTerminal } from "../../ffi/spawn.ts";

export type StdioSource =
  | { kind: "null" } // /dev/null
  | { kind: "tty" } // /dev/console in system mode; the manager's own stdin / stdout under `hearth run`
  | { kind: "terminal" } // the terminal the child opens itself (StdioPlan.terminal)
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
  /** tty_path and the tty_* keys: the terminal the child opens, resets, acquires; absent: none. */
  terminal?: NativeTerminal;
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
  const terminal = ownTerminal(cfg);
  // The terminal: the child's own (tty_path and friends), else the console the manager holds.
  const tty: StdioSource = terminal ? { kind: "terminal" } : { kind: "tty" };
  const stdin: StdioSource = input.startsWith("tty") ? tty : input === "socket" ? { kind: "connection" } : { kind: "null" };
  const stdout = outputSource(outputTarget(cfg.standard_output ?? "journal"), stdin, facts, tty);
  const errorTarget = outputTarget(cfg.standard_error ?? "inherit");
  const ownStderr = errorTarget.kind === "inherit" ? null : outputSource(errorTarget, stdin, facts, tty);
  // stderr shares stdout's fd when it inherits or names the same thing (a file: the same path, opened the same way).
  const stderr: StdioSource = ownStderr === null || sameSource(ownStderr, stdout) ? { kind: "stdout" } : ownStderr;
  const connection = [stdin, stdout, stderr].some((s) => s.kind === "connection");
  return { stdin, stdout, stderr, connection, ...(terminal ? { terminal } : {}) };
}

/**
 * The terminal the child opens itself (systemd's TTYPath= and its TTY* keys): when
 * tty_path, tty-force/tty-fail or a tty_* key is given; else null, and "tty" stays the
 * console the manager opened, as before. "tty" and "tty-fail" make it the controlling
 * terminal if no other session has it, "tty-force" takes it anyway.
 */
function ownTerminal(cfg: ServiceSection): NativeTerminal | null {
  const input = cfg.standard_input ?? "null";
  const wanted = (cfg.tty_path ?? null) !== null || input === "tty-force" || input === "tty-fail"
    || cfg.tty_reset === true || cfg.tty_vhangup === true || cfg.tty_vt_disallocate === true;
  if (!wanted) return null;
  return {
    path: cfg.tty_path ?? "/dev/console",
    reset: cfg.tty_reset ?? false,
    vhangup: cfg.tty_vhangup ?? false,
    vtDisallocate: cfg.tty_vt_disallocate ?? false,
    controlling: input === "tty-force" ? "force" : input.startsWith("tty") ? "take" : "no",
  };
}

function outputSource(target: OutputTarget, stdin: StdioSource, facts: StdioFacts, tty: StdioSource): StdioSource {
  switch (target.kind) {
    case "inherit":
      // stdin's terminal or connection; else /dev/null as PID 1, the manager's stdout in run mode.
      if (stdin.kind !== "null") return stdin;
      return facts.systemMode ? { kind: "null" } : { kind: "tty" };
    case "null": return { kind: "null" };
    case "tty": return tty;
    case "journal": case "syslog": case "kmsg":
    case "journal+console": case "syslog+console": case "kmsg+console": return { kind: "log" }; // the console: ./unit-output.ts
    case "socket": return facts.hasConnection ? { kind: "connection" } : outputSource({ kind: "inherit" }, stdin, facts, tty);
    case "file": case "append": case "truncate": return { kind: "file", path: target.path, open: target.kind };
  }
}

function sameSource(a: StdioSource, b: StdioSource): boolean {
  if (a.kind === "file" && b.kind === "file") return a.path === b.path && a.open === b.open;
  return a.kind === b.kind;
}
