// The fds of a stdio plan (./stdio.ts), opened through the host port for one spawn. Files
// are opened here, per spawn, and closed by the caller right after it (`opened`); the
// console, /dev/null, the log pipe and the connection are the manager's and stay open.

import type { ManagerHost } from "./host.ts";
import type { StdioPlan, StdioSource } from "./stdio.ts";
import { TTY_FD } from "../exec/spawner.ts";
import type { NativeTerminal } from "../../ffi/spawn.ts";

export interface StdioEnds {
  devNull: number;
  /** The terminal: /dev/console in system mode, the manager's own stdin and stdout in run mode. */
  tty: () => { input: number; output: number };
  /** The write end of the unit's log pipe (made at first use). */
  log: () => number;
  /** The connection, when the plan uses it. */
  connection: number | null;
  /** File creation mode: 0666 less the unit's umask, as systemd creates them. */
  fileMode: number;
}

export interface StdioFds {
  stdin: number;
  stdout: number;
  stderr: number;
  /** The terminal the child opens (TTY_FD above stands for it); spread into the SpawnRequest. */
  tty?: NativeTerminal;
}

export type OpenedStdio = { fds: StdioFds; opened: number[] } | { error: string };

export function openStdio(plan: StdioPlan, host: Pick<ManagerHost, "openOutput" | "close">, ends: StdioEnds): OpenedStdio {
  const opened: number[] = [];
  const open = (source: StdioSource, key: string, input: boolean): number | { error: string } => {
    try {
      switch (source.kind) {
        case "null": return ends.devNull;
        case "tty": return input ? ends.tty().input : ends.tty().output;
        case "terminal": return TTY_FD; // opened by the child itself
        case "log": return ends.log();
        case "connection": return ends.connection ?? { error: `${key}: no connection to use` };
        case "file": {
          const fd = host.openOutput(source.path, source.open, ends.fileMode);
          opened.push(fd);
          return fd;
        }
        case "stdout": return { error: `${key}: only stderr can follow stdout` };
      }
    } catch (e) {
      // A file that cannot be opened, or no console: that start fails, and what was opened for it is closed.
      return { error: `${key}: cannot open ${source.kind === "file" ? source.path : `the ${source.kind}`}: ${why(e)}` };
    }
  };
  const stdin = open(plan.stdin, "standard_input", true);
  const stdout = typeof stdin === "number" ? open(plan.stdout, "standard_output", false) : stdin;
  const stderr = typeof stdout !== "number" ? stdout : plan.stderr.kind === "stdout" ? stdout : open(plan.stderr, "standard_error", false);
  if (typeof stdin === "number" && typeof stdout === "number" && typeof stderr === "number") {
    return { fds: { stdin, stdout, stderr, ...(plan.terminal ? { tty: plan.terminal } : {}) }, opened };
  }
  for (const fd of opened) host.close(fd);
  const failed = [stdin, stdout, stderr].find((r): r is { error: string } => typeof r !== "number")!;
  return failed;
}

/** ENXIO on open is a FIFO nobody reads, a socket no one listens on, or a device that is not there: say so. */
function why(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.includes("(ENXIO)") ? `${text}: a FIFO with no reader, a socket no one listens on, or a device that is not there` : text;
}
