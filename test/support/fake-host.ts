// A host for the manager with no processes, fds or timers of its own (src/manager/host.ts):
// spawns hand out pids, kills end them (unless they ignore the signal), cgroups are sets,
// timers fire when the test advances the clock, and every act is written to `trace`.
import type { KmsgPort, SyslogPort } from "../../src/manager/system-logs.ts";
import type { PrivateTmp } from "../../src/exec/private-tmp.ts";
import type { KernelSupport } from "../../src/exec/kernel-support.ts";
import type { UnitConfig } from "../../src/config/types.ts";
import type { EngineEvent, ExitStatus } from "../../src/engine/types.ts";
import type { ReapedChild } from "../../src/exec/reaper.ts";
import type { SpawnRequest } from "../../src/exec/spawner.ts";
import type { NotifyArrival } from "../../src/notify/server.ts";
import type { NotifyMessage } from "../../src/engine/notify-message.ts";
import type { BusWatcherPort, CgroupPort, DeviceWatcherPort, FdStorePort, ManagerHost, NotifyPort, SocketPort } from "../../src/manager/host.ts";
import type { ActivatorOptions, Passed } from "../../src/sockets/activator.ts";
import type { ProcessEntry } from "../../src/manager/procfs.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import type { ConditionFacts } from "../../src/engine/conditions.ts";
import type { UnitDirectory } from "../../src/manager/unit-directories.ts";

const SIGKILL = 9;

/** Conditions on the fake host: the paths of `paths` exist (files, or directories above them); nothing else does. */
export function fakeConditionFacts(paths: Set<string>): ConditionFacts {
  const isDir = (p: string) => p === "/" || [...paths].some((q) => q.startsWith(`${p}/`));
  return {
    stat: (p) => isDir(p) ? { kind: "dir", size: 0, mode: 0o755, mtimeMs: 0 } : paths.has(p) ? { kind: "file", size: 1, mode: 0o644, mtimeMs: 0 } : null,
    list: (dir) => [...new Set([...paths].filter((q) => q.startsWith(dir === "/" ? "/" : `${dir}/`)).map((q) => q.slice(dir === "/" ? 1 : dir.length + 1).split("/")[0]!))],
    read: () => null,
    realpath: (p) => p,
    uname: () => ({ release: "6.1.0", machine: "x86_64", nodename: "fake" }),
    processArch: "x64",
    env: () => undefined,
    cpus: () => 1,
  };
}

export interface FakeProcess {
  pid: number;
  ppid: number;
  sid: number;
  name: string;
  cgroup: string | null; // the unit whose cgroup holds it
  ignores: Set<number>; // signals it ignores (never SIGKILL)
  alive: boolean;
  argv: string[];
}

export class FakeHost implements ManagerHost {
  readonly pid = 4242; // the manager's own pid
  clock = 1000;
  readonly trace: string[] = [];
  readonly procs = new Map<number, FakeProcess>();
  readonly cgroupDirs = new Set<string>();
  readonly closedConnections: number[] = [];
  readonly watched = new Set<string>(); // "unit/index" sockets
  private nextPid = 100;
  private nextFd = 100;
  private readonly cgroupFds = new Map<number, string>();
  private readonly zombies: ReapedChild[] = [];
  private childExit: () => void = () => {};
  private readonly timerList: { at: number; fn: () => void; id: number }[] = [];
  private nextTimer = 1;
  private notifyDeliver: (m: NotifyArrival) => void = () => {};

  constructor(readonly withCgroups = true) {}

  // ---- the clock and files
  now() { return this.clock; }
  wallNow() { return 1_700_000_000_000 + this.clock; }
  mkdir() {}
  readFile(path: string): string { throw new Error(`ENOENT: ${path}`); }
  /** Paths that exist for conditions (a directory is a path some other one is under). */
  readonly paths = new Set<string>();
  readonly conditionFacts: ConditionFacts = fakeConditionFacts(this.paths);
  /** The unit directories that exist, by path, with their mode. */
  readonly dirs = new Map<string, number>();
  makeUnitDirectory(d: UnitDirectory): string[] {
    const path = `${d.base}/${d.relative}`;
    this.dirs.set(path, d.mode);
    this.trace.push(`mkdir ${path} ${d.mode.toString(8)}${d.owner ? ` ${d.owner.uid}:${d.owner.gid}` : ""}`);
    return [];
  }
  removeUnitDirectory(base: string, relative: string) {
    this.dirs.delete(`${base}/${relative}`);
    this.trace.push(`rm ${base}/${relative}`);
  }
  makePrivateTmp(unit: string): PrivateTmp {
    const root = `/tmp/hearth-private-${unit}-0`;
    this.trace.push(`private-tmp ${root}`);
    return { tmp: `${root}/tmp`, varTmp: null, roots: [root] };
  }
  openNamespace(): number | null {
    return null;
  }
  kernelSupport(): KernelSupport {
    return { seccompFilter: true, namespaces: new Set(["mnt", "net", "ipc", "uts", "user", "pid", "cgroup"]) };
  }
  removePrivateTmp(dirs: PrivateTmp) {
    this.trace.push(`rm-private-tmp ${dirs.roots.join(" ")}`);
  }

  // ---- processes
  becomeSubreaper() {}
  onChildExit(fn: () => void) { this.childExit = fn; }
  reap(): ReapedChild[] { return this.zombies.splice(0); }

  /** Every spawn request, in order (its fds: what the child would get). */
  readonly requests: SpawnRequest[] = [];

  spawn(req: SpawnRequest) {
    this.requests.push(req);
    const pid = this.nextPid++;
    const cgroup = req.cgroupFd === undefined ? null : this.cgroupFds.get(req.cgroupFd) ?? null;
    this.procs.set(pid, { pid, ppid: 1, sid: pid, name: req.argv[0]!, cgroup, ignores: new Set(), alive: true, argv: req.argv });
    this.trace.push(`spawn ${req.argv.join(" ")} -> ${pid}`);
    return { ok: true as const, pid };
  }

  /** A process forks a child that stays in its session and cgroup. */
  fork(parent: number, name: string, ignores: number[] = []): number {
    const p = this.procs.get(parent)!;
    const pid = this.nextPid++;
    this.procs.set(pid, { ...p, pid, ppid: parent, name, ignores: new Set(ignores), alive: true, argv: [name] });
    return pid;
  }

  kill(pid: number, signal: number): boolean {
    this.trace.push(`kill ${pid} ${signal}`);
    const targets = pid < 0 ? [...this.procs.values()].filter((p) => p.sid === -pid) : [this.procs.get(pid)].filter((p) => !!p);
    const live = targets.filter((p) => p.alive);
    for (const p of live) this.signal(p, signal);
    return live.length > 0;
  }

  private signal(p: FakeProcess, signal: number) {
    if (signal !== SIGKILL && p.ignores.has(signal)) return;
    if (signal === 18) return; // SIGCONT ends no one
    this.end(p.pid, { kind: "killed", signal, coreDumped: false });
  }

  /** The process ends; the manager hears of it at the next deliver(). */
  end(pid: number, status: ExitStatus = { kind: "exited", code: 0 }) {
    const p = this.procs.get(pid);
    if (!p?.alive) return;
    p.alive = false;
    this.zombies.push({ pid, status }); // ours, or an orphan re-parented to the subreaper
  }

  /** SIGCHLD: the manager reaps what ended. */
  deliver() {
    if (this.zombies.length > 0) this.childExit();
  }

  alive(pid: number): boolean {
    return this.procs.get(pid)?.alive ?? false;
  }

  processIds(pid: number) {
    const p = this.procs.get(pid);
    return p?.alive ? { ppid: p.ppid, pgid: p.sid, sid: p.sid } : null;
  }

  processes(): ProcessEntry[] {
    return [...this.procs.values()].filter((p) => p.alive).map((p) => ({ pid: p.pid, ppid: p.ppid, sid: p.sid, name: p.name, start: "1" }));
  }

  userDatabase(): never { throw new Error("no user database on the fake host"); }

  // ---- fds
  readonly reactor: Reactor = { watch: () => {}, unwatch: () => {}, size: 0, staleEventsDropped: 0 };
  pipe() { return { read: this.nextFd++, write: this.nextFd++ }; }
  read(): "again" { return "again"; }
  /** fds closed through the host (pipes, files, readiness fds), in order. */
  readonly closed: number[] = [];
  close(fd: number) { this.closed.push(fd); }
  devNull() { return this.nextFd++; }
  openConsole() { return this.nextFd++; }
  /** Output files opened, by fd: "append:/var/log/x 644". A path in `unopenable` fails with its reason. */
  readonly files = new Map<number, string>();
  readonly unopenable = new Map<string, string>();
  openOutput(path: string, open: string, mode: number): number {
    const why = this.unopenable.get(path);
    if (why !== undefined) throw new Error(why);
    const fd = this.nextFd++;
    this.files.set(fd, `${open}:${path} ${mode.toString(8)}`);
    return fd;
  }

  // ---- timers
  setTimer(ms: number, fn: () => void): unknown {
    const t = { at: this.clock + ms, fn, id: this.nextTimer++ };
    this.timerList.push(t);
    return t.id;
  }
  clearTimer(handle: unknown) {
    const i = this.timerList.findIndex((t) => t.id === handle);
    if (i >= 0) this.timerList.splice(i, 1);
  }
  /** Moves the clock on, firing due timers in order (and reaping between them). */
  advance(ms: number) {
    const end = this.clock + ms;
    for (;;) {
      this.timerList.sort((a, b) => a.at - b.at);
      const t = this.timerList[0];
      if (!t || t.at > end) break;
      this.timerList.shift();
      this.clock = t.at;
      t.fn();
      this.deliver();
    }
    this.clock = end;
  }

  // ---- cgroups
  cgroups(): CgroupPort | { unavailable: string } {
    if (!this.withCgroups) return { unavailable: "the fake host has none" };
    const host = this;
    const members = (unit: string) => [...host.procs.values()].filter((p) => p.alive && p.cgroup === unit);
    return {
      dir: "/fake/cgroup",
      ensureUnit(unit: string) {
        host.cgroupDirs.add(unit);
        const fd = host.nextFd++;
        host.cgroupFds.set(fd, unit);
        return { cgroupFd: fd, join: false, warnings: [] };
      },
      delegate(unit: string) {
        host.trace.push(`delegate cgroup ${unit}`);
        return [];
      },
      pids: (unit: string) => members(unit).map((p) => p.pid),
      kill(unit: string, signal: number) {
        host.trace.push(`kill cgroup ${unit} ${signal}`);
        const live = members(unit);
        for (const p of live) host.signal(p, signal);
        return live.length;
      },
      isEmpty: (unit: string) => members(unit).length === 0,
      removeUnit(unit: string) {
        if (members(unit).length > 0) return false;
        host.trace.push(`rmdir cgroup ${unit}`);
        return host.cgroupDirs.delete(unit);
      },
      unitOfPid: (pid: number) => host.procs.get(pid)?.cgroup ?? null,
      close() {},
    };
  }

  // ---- notify, sockets, fd store
  notifyServer(path: string, _log: unknown, deliver: (m: NotifyArrival) => void): NotifyPort {
    this.notifyDeliver = deliver;
    return { fd: -1, path, drain: () => {}, refused: (_sender, why) => void this.trace.push(`notify refused: ${why}`), close: () => {} };
  }

  /** A datagram on the notify socket from `pid`. */
  notify(pid: number, msg: Partial<NotifyMessage>) {
    const full: NotifyMessage = { ready: false, reloading: false, stopping: false, fdStore: false, fdStoreRemove: false, barrier: false, unknown: [], warnings: [], ...msg };
    this.notifyDeliver({ pid, uid: 0, gid: 0, msg: full, fds: [] });
  }

  sockets(units: Iterable<UnitConfig>, _opts: ActivatorOptions): SocketPort {
    const withSockets = [...units].filter((u) => u.sockets.length > 0).map((u) => u.name);
    const host = this;
    return {
      open: (only?: string[]) => ({ type: "sockets-opened", units: only ?? withSockets, failed: [] }) as Extract<EngineEvent, { type: "sockets-opened" }>,
      setWatching(unit: string, index: number, on: boolean) {
        if (on) host.watched.add(`${unit}/${index}`);
        else host.watched.delete(`${unit}/${index}`);
      },
      closeConnection(id: number) { host.closedConnections.push(id); },
      // A connection is fd 1000 + its number: at fd 3, or on stdio (inetd).
      passedTo: (_unit: string, connection: number | null, inetd?: boolean): Passed =>
        connection !== null && inetd ? { fds: [], names: [], stdio: 1000 + connection, env: {} }
          : ({ fds: connection === null ? [] : [1000 + connection], names: connection === null ? [] : ["connection"], stdio: null, env: {} }),
      status: () => [],
      peerOf: () => null,
      close() {},
      replaceUnit() {},
      handover: () => ({ listening: [], connections: [], nextConnection: 1 }),
      adopt: () => [],
    };
  }

  fdStore(): FdStorePort {
    return { entries: () => [], add: () => {}, remove: () => {}, release: () => {}, closeAll: () => {}, handover: () => [], adopt: () => [] };
  }

  syslogServer(path: string): SyslogPort {
    return { path, drain: () => {}, close: () => {} };
  }

  kmsgReader(): KmsgPort {
    return { close: () => {} };
  }

  announceSystemd() {}

  busWatcher(): BusWatcherPort {
    return { kick() {}, close() {} };
  }

  deviceWatcher(): DeviceWatcherPort {
    return { start: () => ({ plugged: [], unplugged: [] }), close() {} };
  }

  fileLimits() {
    return { soft: 1024, hard: 524288 };
  }

  removeIpc(owner: { uid: number | null; gid: number | null }) {
    this.trace.push(`remove ipc of uid ${owner.uid} gid ${owner.gid}`);
    return { removed: 0, failed: [] };
  }
}
