// daemon-reexec, the shell's half: what the manager hands the binary it execs (the engine's
// state as text, the clock, the log lines, and which fds are what), written to a file
// under RUNDIR whose path the new process gets with --deserialize. The fds themselves
// stay open across execve(2): FD_CLOEXEC is cleared on exactly those (ffi/exec.ts).
//
// Kept: the output pipes (what services write meanwhile waits in them), the listening
// sockets, the accepted connections of accept = true instances, the fd store, the notify
// socket (a watchdog ping sent during the exec waits in it), the namespaces a sandboxed
// unit's first process got (its later processes join them), and as PID 1 the hardware
// watchdog. The private /tmp directories are named too, so that they go at the unit's stop. Made anew, at the same paths: the control and syslog sockets.
import { closeSync, fstatSync, openSync, readSync, unlinkSync, writeFileSync } from "node:fs";
import { constants } from "node:fs";
import { join } from "node:path";
import { execve, keepAcrossExec } from "../../ffi/exec.ts";
import type { Logger } from "../log/manager-log.ts";
import type { SocketsHandover } from "../sockets/activator.ts";
import type { OutputsHandover } from "./unit-output.ts";
import type { PrivateTmp } from "../exec/private-tmp.ts";
import type { JoinableNamespace } from "../../ffi/spawn-layout.ts";

/** A running unit's sandbox: its private /tmp, and the namespaces its later processes join. */
export interface SandboxHandover {
  unit: string;
  privateTmp?: PrivateTmp;
  namespaces?: { sandbox: string; fds: Partial<Record<JoinableNamespace, number>> };
}

/** Bumped whenever the handover's shape changes; the engine's state has its own version. */
export const HANDOVER_VERSION = 1;
const MAX_HANDOVER_BYTES = 256 * 1024 * 1024;

export interface ManagerHandover {
  format: "hearth-reexec";
  version: number;
  engine: string; // src/engine/serialize.ts
  engineNow: number; // the engine clock at the handover…
  monoMs: number; // …and CLOCK_MONOTONIC then: the new process continues the engine clock
  outputs: OutputsHandover;
  sockets: SocketsHandover;
  fdStore: { unit: string; fd: number; name: string; polled: boolean }[];
  /** The notify socket: what services send during the exec waits in it (their watchdog pings too). */
  notify?: number;
  /** PID 1: the hardware watchdog, open and armed (not among handedFds: it is never closed). */
  watchdog?: { fd: number; path: string };
  sandboxes?: SandboxHandover[];
}

/** Every fd the handover names (to keep across the exec, or to close when it cannot be used). */
export function handedFds(h: ManagerHandover): number[] {
  return [
    ...h.outputs.outputs.flatMap((o) => [o.read, o.write]),
    ...h.sockets.listening.map((l) => l.fd),
    ...h.sockets.connections.map((c) => c.fd),
    ...h.fdStore.map((s) => s.fd),
    ...(h.notify === undefined ? [] : [h.notify]),
    ...(h.sandboxes ?? []).flatMap((s) => Object.values(s.namespaces?.fds ?? {})),
  ];
}

export function writeHandover(path: string, h: ManagerHandover): void {
  try { unlinkSync(path); } catch { /* none left over */ }
  writeFileSync(path, JSON.stringify(h), { mode: 0o600, flag: "wx" }); // never through a file (or link) put there
}

const isFd = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) < 1 << 20;

/** The handover at `path` (removed once read), or why it cannot be used. */
export function readHandover(path: string): { handover: ManagerHandover } | { error: string } {
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { error: `${path} is not a regular file` };
      if (st.size > MAX_HANDOVER_BYTES) return { error: `${path} is ${st.size} bytes, more than ${MAX_HANDOVER_BYTES}` };
      const buf = Buffer.alloc(st.size);
      let got = 0;
      while (got < st.size) {
        const n = readSync(fd, buf, got, st.size - got, got);
        if (n === 0) break;
        got += n;
      }
      text = buf.toString("utf8", 0, got);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as Error).message}` };
  } finally {
    try { unlinkSync(path); } catch { /* gone already */ }
  }
  let h: Partial<ManagerHandover>;
  try {
    h = JSON.parse(text) as Partial<ManagerHandover>;
  } catch (e) {
    return { error: `${path} is not readable: ${(e as Error).message}` };
  }
  if (h === null || typeof h !== "object" || h.format !== "hearth-reexec") return { error: `${path} is not a hearth re-exec state` };
  if (h.version !== HANDOVER_VERSION) return { error: `${path} is of version ${String(h.version)}, this hearth reads version ${HANDOVER_VERSION}` };
  if (typeof h.engine !== "string" || typeof h.engineNow !== "number" || typeof h.monoMs !== "number") return { error: `${path} has no engine state` };
  const o = h.outputs, s = h.sockets;
  const ok = o && Array.isArray(o.outputs) && Array.isArray(o.manager) && Array.isArray(o.sources)
    && o.outputs.every((x) => typeof x?.unit === "string" && isFd(x.read) && isFd(x.write) && Array.isArray(x.lines))
    && s && Array.isArray(s.listening) && Array.isArray(s.connections) && Number.isInteger(s.nextConnection)
    && s.listening.every((x) => typeof x?.unit === "string" && Number.isInteger(x.index) && isFd(x.fd))
    && s.connections.every((x) => Number.isInteger(x?.id) && isFd(x.fd))
    && Array.isArray(h.fdStore) && h.fdStore.every((x) => typeof x?.unit === "string" && typeof x.name === "string" && isFd(x.fd));
  const isPath = (p: unknown) => typeof p === "string" && p.startsWith("/");
  const sandboxesOk = h.sandboxes === undefined || (Array.isArray(h.sandboxes) && h.sandboxes.every((x) => typeof x?.unit === "string"
    && (x.privateTmp === undefined || (isPath(x.privateTmp.tmp) && (x.privateTmp.varTmp === null || isPath(x.privateTmp.varTmp))
      && Array.isArray(x.privateTmp.roots) && x.privateTmp.roots.every(isPath)))
    && (x.namespaces === undefined || (typeof x.namespaces.sandbox === "string" && Object.values(x.namespaces.fds ?? {}).every(isFd)))));
  const wd = h.watchdog;
  if (!ok || !sandboxesOk || (wd !== undefined && (!isFd(wd?.fd) || typeof wd.path !== "string")) || (h.notify !== undefined && !isFd(h.notify))) return { error: `${path} names its fds in a malformed way` };
  return { handover: h as ManagerHandover };
}

/** What re-executes: the handover's part of a manager. */
export interface Handing {
  handover(): ManagerHandover;
}

/**
 * Exec the manager's binary again with its arguments (argv: `run …` under hearth run, none
 * as PID 1; an earlier --deserialize left out) and the handover. process.execPath is the path the binary was started
 * from, so a binary replaced there since is the one execed (systemd execs its path too).
 * Returns only if the exec failed: the manager goes on as it was.
 */
export function reexecInto(manager: Handing, runDir: string, argv: string[], log: Logger,
  watchdog: () => { fd: number; path: string } | null = () => null): void {
  const path = join(runDir, "reexec.state");
  let kept: number[] = [];
  try {
    const h = manager.handover();
    const wd = watchdog(); // pinged now: the exec and the next binary's start fit in its timeout
    if (wd !== null) h.watchdog = wd;
    writeHandover(path, h);
    kept = [...handedFds(h), ...(wd === null ? [] : [wd.fd])];
    keepAcrossExec(kept);
    const args: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === "--deserialize") i++;
      else args.push(argv[i]!);
    }
    // Run from its sources, bun runs the script after it; a compiled binary names its own, inside it (/$bunfs/).
    const script = process.argv[1] !== undefined && !process.argv[1].startsWith("/$bunfs/") ? [process.argv[1]] : [];
    // The binary replaced since it started: /proc/self/exe (whence execPath) reads "PATH (deleted)"; the path is the new one.
    const binary = process.execPath.replace(/ \(deleted\)$/, "");
    execve(binary, [binary, ...script, ...args, "--deserialize", path], process.env);
  } catch (e) {
    log.err(`Re-exec failed: ${(e as Error).message}; the manager goes on as it was`);
    try { unlinkSync(path); } catch { /* not written */ }
    try { keepAcrossExec(kept, false); } catch { /* an fd gone meanwhile */ } // spawned processes must not inherit them
  }
}
