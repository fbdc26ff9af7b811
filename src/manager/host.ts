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
import { close, devNull, openFile, pipe, readNonBlocking, setNonBlocking, writeSome, type ReadResult } from "../../ffi/fd.ts";
import { connectUnixStreamNow } from "../../ffi/socket.ts";
import type { BusWatcher, BusWatcherOptions } from "../dbus/watcher.ts";
import type { DeviceWatcher, DeviceWatcherOptions } from "../devices/watcher.ts";
import { O } from "../../ffi/constants.ts";
import { getReactor, type Reactor } from "../../ffi/reactor.ts";
import { monotonicMs } from "../../ffi/system.ts";
import { resetTerminal, type TerminalReset } from "../../ffi/terminal.ts";
import { listProcesses, processIds, type ProcessEntry } from "./procfs.ts";
import { realConditionFacts } from "./condition-facts.ts";
import type { ConditionFacts } from "../engine/conditions.ts";
import { makeUnitDirectory, removeUnitDirectory } from "../exec/directories.ts";
import { SyslogServer, type SyslogBatch } from "../log/syslog-server.ts";
import { KmsgReader, type KmsgRecord } from "../log/kmsg.ts";
import type { KmsgPort, SyslogPort } from "./system-logs.ts";
import type { RealtimeTimerPort } from "../timers/shell.ts";
import { armRealtime, readTimerFd, realtimeTimerFd } from "../../ffi/timerfd.ts";
import { makePrivateTmp, removePrivateTmp, type PrivateTmp } from "../exec/private-tmp.ts";
import { probeKernel, type KernelSupport } from "../exec/kernel-support.ts";
import type { JoinableNamespace } from "../../ffi/spawn-layout.ts";
import type { UnitDirectory } from "./unit-directories.ts";
import { raiseOwnFileLimit } from "../../ffi/rlimit.ts";
import type { IpcOwner } from "../exec/ipc-cleanup.ts";

// The D-Bus client and the kernel's device events are loaded only when a unit names a
// bus_name or a device (src/manager/bus-names.ts, devices.ts): each a chunk of its own in
// the executable, read synchronously by require.
const dbusWatcher = (): typeof import("../dbus/watcher.ts") => require("../dbus/watcher.ts");
const deviceWatcher = (): typeof import("../devices/watcher.ts") => require("../devices/watcher.ts");
/** remove_ipc's clean-up, loaded by the first unit that has it (a chunk of its own). */
const ipcCleanup = (): typeof import("../exec/ipc-cleanup.ts") => require("../exec/ipc-cleanup.ts");

/** The cgroup tree as the manager uses it (src/exec/cgroup.ts). */
export type CgroupPort = Pick<CgroupTree, "dir" | "ensureUnit" | "delegate" | "pids" | "kill" | "isEmpty" | "removeUnit" | "unitOfPid" | "close">;
/** The notify socket (src/notify/server.ts). */
export type NotifyPort = Pick<NotifyServer, "fd" | "path" | "drain" | "refused" | "close">;
/** The listening sockets (src/sockets/activator.ts). */
export type SocketPort = Pick<SocketActivator, "open" | "setWatching" | "closeConnection" | "passedTo" | "status" | "peerOf" | "close" | "replaceUnit" | "handover" | "adopt">;
/** The fd store (src/sockets/fd-store.ts). */
export type FdStorePort = Pick<FdStore, "entries" | "add" | "remove" | "release" | "closeAll" | "handover" | "adopt">;

/** The system bus connection that follows bus names (src/dbus/watcher.ts). */
export type BusWatcherPort = Pick<BusWatcher, "kick" | "close">;

/** The kernel's devices (src/devices/watcher.ts). */
export type DeviceWatcherPort = Pick<DeviceWatcher, "start" | "close">;

export type FdStoreLog = (unit: string, level: "info" | "warning", text: string) => void;

export interface ManagerHost {
  /** The manager's own pid (never a unit's main pid, whoever names it). */
  pid: number;
  /** Monotonic milliseconds (the engine's clock). */
  now(): number;
  /** Milliseconds since the epoch. */
  wallNow(): number;
  /** CLOCK_MONOTONIC in ms, the clock of MONOTONIC_USEC in notifications; absent: the same as now(). */
  monotonicNow?(): number;
  /** A unit's terminal after it stopped (ffi/terminal.ts); throws when it cannot be opened. Absent: nothing done. */
  resetTerminal?(t: TerminalReset): void;
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
  /** Timer units: the wall-clock timerfd and CLOCK_MONOTONIC (ms since boot); a fake host may lack them. */
  realtimeTimer?: RealtimeTimerPort;
  sinceBootMs?(): number;

  // the manager's parts that own kernel objects
  cgroups(mode: CgroupMode): CgroupPort | { unavailable: string };
  notifyServer(path: string, log: Logger, deliver: (m: NotifyArrival) => void, adoptedFd?: number): NotifyPort;
  sockets(units: Iterable<UnitConfig>, opts: ActivatorOptions): SocketPort;
  fdStore(log: FdStoreLog): FdStorePort;
  /** The syslog socket at path (src/log/syslog-server.ts); throws when it cannot be made. */
  syslogServer(path: string, deliver: (batch: SyslogBatch) => void): SyslogPort;
  /**
   * /dev/kmsg (src/log/kmsg.ts), each record with the wall time of boot on its clock;
   * throws when it cannot be opened, calls `failed` if reading breaks later.
   */
  kmsgReader(deliver: (record: KmsgRecord, bootWallMs: number) => void, failed: (why: string) => void): KmsgPort;
  /** /run/systemd/system, for sd_booted() (system mode). */
  announceSystemd(): void;
  /** A connection to the system bus following the owners of these names; it connects at kick(). */
  busWatcher(opts: BusWatcherOptions): BusWatcherPort;
  /** The kernel's devices: a uevent socket and a scan of /sys, at start(). */
  deviceWatcher(opts: DeviceWatcherOptions): DeviceWatcherPort;
  /**
   * Raises the manager's own open-file limit (ffi/rlimit.ts) and returns the one a
   * service without limit_nofile starts with (systemd's DefaultLimitNOFILE=1024:HARD).
   */
  fileLimits(): { soft: number; hard: number };
  /** remove_ipc: the System V and POSIX IPC objects the owner owns (src/exec/ipc-cleanup.ts). */
  removeIpc(owner: IpcOwner): { removed: number; failed: string[] };
}

/** The host hearth runs on. */
export function realHost(): ManagerHost {
  const reactor = getReactor();
  return {
    pid: process.pid,
    now: () => performance.now(),
    wallNow: () => Date.now(),
    monotonicNow: monotonicMs,
    resetTerminal,
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
    realtimeTimer: { create: realtimeTimerFd, arm: armRealtime, read: readTimerFd, close },
    sinceBootMs: monotonicMs,
    cgroups: (mode) => discoverCgroups(mode),
    notifyServer: (path, log, deliver, adoptedFd) => new NotifyServer(path, log, deliver, undefined, adoptedFd),
    sockets: (units, opts) => new SocketActivator(units, opts),
    fdStore: (log) => new FdStore(reactor, log),
    syslogServer: (path, deliver) => new SyslogServer(path, deliver),
    kmsgReader: (deliver, failed) => {
      const bootWallMs = Date.now() - monotonicMs(); // the printk clock runs as CLOCK_MONOTONIC
      return new KmsgReader((r) => deliver(r, bootWallMs), failed);
    },
    announceSystemd: announceSystemdProtocols,
    busWatcher: (opts) => new (dbusWatcher().BusWatcher)({
      reactor, read: readNonBlocking, write: writeSome, close,
      connect: (socket) => {
        const fd = connectUnixStreamNow(socket);
        setNonBlocking(fd, true);
        return fd;
      },
      setTimer: (ms, fn) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    }, opts),
    deviceWatcher: (opts) => new (deviceWatcher().DeviceWatcher)(reactor, opts),
    fileLimits: raiseOwnFileLimit,
    removeIpc: (owner) => ipcCleanup().removeIpc(owner),
  };
}
