// The manager's host port (dinit's bp_sys seam): every system call the shell makes —
// spawn, kill, reap, watching fds, timers, pipes, file reads, cgroups, the clock — goes
// through one interface, so the manager runs on the real host in hearth and on a fake
// one in tests (test/support/fake-host.ts), with no processes.
import { mkdirSync } from "node:fs";
import { readConfigFile } from "../config/read-file.ts";
import type { UnitConfig } from "../config/types.ts";
import { discoverCgroups, type CgroupMode, type CgroupTree } from "../exec/cgroup.ts";
import { becomeSubreaper, killProcess, reapChildren, type ReapedChild } from "../exec/reaper.ts";
import { spawn, type SpawnRequest, type SpawnResult } from "../exec/spawner.ts";
import { openOutputFile, type OutputOpen } from "../exec/output-file.ts";
import { readUserDatabase, type UserDatabase } from "../exec/users.ts";
import type { Logger } from "../log/manager-log.ts";
import { NotifyServer, type NotifyArrival } from "../notify/server.ts";
import { SocketActivator, type ActivatorOptions } from "../sockets/activator.ts";
import { announceSystemdProtocols } from "../sockets/booted.ts";
import { FdStore } from "../sockets/fd-store.ts";
import { close, devNull, openFile, pipe, readNonBlocking, type ReadResult } from "../../ffi/fd.ts";
import { O } from "../../ffi/constants.ts";
import { getReactor, type Reactor } from "../../ffi/reactor.ts";
import { listProcesses, processIds, type ProcessEntry } from "./procfs.ts";
import { realConditionFacts } from "./condition-facts.ts";
import type { ConditionFacts } from "../engine/conditions.ts";
import { makeUnitDirectory, removeUnitDirectory } from "../exec/directories.ts";
import { makePrivateTmp, removePrivateTmp, type PrivateTmp } from "../exec/private-tmp.ts";
import { probeKernel, type KernelSupport } from "../exec/kernel-support.ts";
import type { JoinableNamespace } from "../../ffi/spawn-layout.ts";
import type { UnitDirectory } from "./unit-directories.ts";

/** The cgroup tree as the manager uses it (src/exec/cgroup.ts). */
export type CgroupPort = Pick<CgroupTree, "dir" | "ensureUnit" | "pids" | "kill" | "isEmpty" | "removeUnit" | "unitOfPid" | "close">;
/** The notify socket (src/notify/server.ts). */
export type NotifyPort = Pick<NotifyServer, "path" | "drain" | "refused" | "close">;
/** The listening sockets (src/sockets/activator.ts). */
export type SocketPort = Pick<SocketActivator, "open" | "setWatching" | "closeConnection" | "passedTo" | "status" | "peerOf" | "close">;
/** The fd store (src/sockets/fd-store.ts). */
export type FdStorePort = Pick<FdStore, "entries" | "add" | "remove" | "release" | "closeAll">;

export type FdStoreLog = (unit: string, level: "info" | "warning", text: string) => void;

export interface ManagerHost {
  /** The manager's own pid (never a unit's main pid, whoever names it). */
  pid: number;
  /** Monotonic milliseconds (the engine's clock). */
  now(): number;
  /** Milliseconds since the epoch. */
  wallNow(): number;
  mkdir(path: string): void;
  /** A regular file's text (bounded, never blocking on a FIFO); throws when it cannot be read. */
  readFile(path: string): string;
  /** What conditions and asserts are tested against (src/manager/condition-facts.ts). */
  conditionFacts: ConditionFacts;
  /** A unit's runtime_directory or the like, with its mode and owner (src/exec/directories.ts); returns warnings, throws why not. */
  makeUnitDirectory(dir: UnitDirectory): string[];
  /** Remove base/relative, a runtime directory, never through a symlink nor outside base; throws why not. */
  removeUnitDirectory(base: string, relative: string): void;
  /** A unit's private /tmp and /var/tmp (src/exec/private-tmp.ts); throws why not. */
  makePrivateTmp(unit: string): PrivateTmp;
  removePrivateTmp(dirs: PrivateTmp): void;
  /** An fd on a process's namespace (/proc/PID/ns/TYPE); null when it is gone. */
  openNamespace(pid: number, type: JoinableNamespace): number | null;
  /** What the running kernel can do of the sandbox (src/exec/kernel-support.ts). */
  kernelSupport(): KernelSupport;

  // processes
  becomeSubreaper(): void;
  /** Calls fn whenever a child may have exited (SIGCHLD). */
  onChildExit(fn: () => void): void;
  reap(): ReapedChild[];
  spawn(request: SpawnRequest): SpawnResult;
  /** kill(2): a negative pid is a process group; false when there is no such process. */
  kill(pid: number, signal: number): boolean;
  processIds(pid: number): { ppid: number; pgid: number; sid: number } | null;
  processes(): ProcessEntry[];
  userDatabase(): UserDatabase;

  // fds
  reactor: Reactor;
  pipe(): { read: number; write: number };
  read(fd: number, buf: Uint8Array): ReadResult;
  close(fd: number): void;
  devNull(): number;
  openConsole(): number;
  /** A file for a service's stdout or stderr (src/exec/output-file.ts); the caller closes it. Throws. */
  openOutput(path: string, open: OutputOpen, mode: number): number;

  // timers
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;

  // the manager's parts that own kernel objects
  cgroups(mode: CgroupMode): CgroupPort | { unavailable: string };
  notifyServer(path: string, log: Logger, deliver: (m: NotifyArrival) => void): NotifyPort;
  sockets(units: Iterable<UnitConfig>, opts: ActivatorOptions): SocketPort;
  fdStore(log: FdStoreLog): FdStorePort;
  /** /run/systemd/system, for sd_booted() (system mode). */
  announceSystemd(): void;
}

/** The host hearth runs on. */
export function realHost(): ManagerHost {
  const reactor = getReactor();
  return {
    pid: process.pid,
    now: () => performance.now(),
    wallNow: () => Date.now(),
    mkdir: (path) => void mkdirSync(path, { recursive: true, mode: 0o755 }),
    readFile: (path) => {
      const read = readConfigFile(path);
      if ("text" in read) return read.text;
      throw new Error("missing" in read ? `${path}: no such file` : read.problem);
    },
    conditionFacts: realConditionFacts(),
    makeUnitDirectory,
    removeUnitDirectory,
    makePrivateTmp,
    removePrivateTmp,
    kernelSupport: probeKernel,
    openNamespace: (pid, type) => {
      try {
        return openFile(`/proc/${pid}/ns/${type}`, O.RDONLY);
      } catch {
        return null;
      }
    },
    becomeSubreaper,
    onChildExit: (fn) => void process.on("SIGCHLD", fn),
    reap: reapChildren,
    spawn,
    kill: killProcess,
    processIds,
    processes: listProcesses,
    userDatabase: readUserDatabase,
    reactor,
    pipe,
    read: readNonBlocking,
    close,
    devNull,
    openConsole: () => openFile("/dev/console", O.RDWR | O.NOCTTY),
    openOutput: openOutputFile,
    setTimer: (ms, fn) => setTimeout(fn, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    cgroups: (mode) => discoverCgroups(mode),
    notifyServer: (path, log, deliver) => new NotifyServer(path, log, deliver),
    sockets: (units, opts) => new SocketActivator(units, opts),
    fdStore: (log) => new FdStore(reactor, log),
    announceSystemd: announceSystemdProtocols,
  };
}
