// The paths of one path unit, watched with its own inotify fd (systemd's path_spec_watch).
// A path that does not exist yet is watched through its nearest existing parent, and the
// watches move down as the directories appear. Any event rebuilds the unit's watches (a
// unit has a few paths) and decides: a change of a path_changed/path_modified path, or a
// state (path_exists, path_exists_glob, directory_not_empty) that holds, is reported once
// per wake-up. Bounded: one 16 KiB read per wake-up; an overflowed queue is a re-check.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { IN } from "../../ffi/constants.ts";
import { addWatch, inotifyFd, readInotify, removeWatch } from "../../ffi/timerfd.ts";
import { close } from "../../ffi/fd.ts";
import type { Reactor } from "../../ffi/reactor.ts";
import type { ConditionFacts } from "../engine/conditions.ts";
import { testCondition } from "../engine/conditions.ts";
import type { Logger } from "../log/manager-log.ts";
import { PATH_KINDS, type PathKind, type PathSection } from "./types.ts";

const READ_BYTES = 16 * 1024;
const PARENT_MASK = IN.CREATE | IN.MOVED_TO | IN.MOVED_FROM | IN.DELETE | IN.DELETE_SELF | IN.MOVE_SELF | IN.ATTRIB;
const SELF_MASK: Record<PathKind, number> = {
  path_exists: IN.DELETE_SELF | IN.MOVE_SELF | IN.ATTRIB,
  path_exists_glob: IN.CREATE | IN.MOVED_TO | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF,
  path_changed: IN.CLOSE_WRITE | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF | IN.CREATE | IN.MOVED_TO | IN.DELETE | IN.MOVED_FROM,
  path_modified: IN.CLOSE_WRITE | IN.MODIFY | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF | IN.CREATE | IN.MOVED_TO | IN.DELETE | IN.MOVED_FROM,
  directory_not_empty: IN.CREATE | IN.MOVED_TO | IN.DELETE_SELF | IN.MOVE_SELF,
};

interface Spec { kind: PathKind; path: string; exists: boolean }
interface WatchRole { spec: Spec; self: boolean } // self: the path itself; else a parent directory

export interface PathWatchDeps {
  reactor: Reactor;
  facts: ConditionFacts;
  log: Logger;
  report(reason: string): void;
}

export class PathWatch {
  private fd = -1;
  private readonly specs: Spec[] = [];
  private roles = new Map<number, WatchRole[]>(); // wd -> what it watches
  private readonly buf = new Uint8Array(READ_BYTES);

  constructor(readonly unit: string, readonly id: number, private readonly cfg: PathSection, private readonly deps: PathWatchDeps) {
    for (const kind of PATH_KINDS) for (const path of cfg[kind]) this.specs.push({ kind, path, exists: false });
  }

  /** Make the directories asked for, watch, and (check) report a state that holds now. */
  start(check: boolean) {
    if (this.cfg.make_directory) {
      for (const s of this.specs) {
        if (s.kind === "path_exists" || s.kind === "path_exists_glob") continue; // as systemd: those are awaited, not made
        try {
          mkdirSync(s.path, { recursive: true, mode: this.cfg.directory_mode });
        } catch (e) {
          this.deps.log.warning(`${this.unit}: cannot make ${s.path}: ${(e as Error).message}`);
        }
      }
    }
    try {
      this.fd = inotifyFd();
    } catch (e) {
      this.deps.log.err(`${this.unit}: cannot watch paths: ${(e as Error).message}`);
      return;
    }
    this.deps.reactor.watch(this.fd, { read: true }, () => this.onReady());
    this.rewatch();
    for (const s of this.specs) s.exists = this.exists(s.path);
    if (check) this.decide(new Set());
  }

  close() {
    if (this.fd < 0) return;
    this.deps.reactor.unwatch(this.fd);
    close(this.fd);
    this.fd = -1;
    this.roles.clear();
  }

  private onReady() {
    if (this.fd < 0) return;
    this.deps.reactor.watch(this.fd, { read: true }, () => this.onReady()); // EPOLLONESHOT: re-armed
    let events: ReturnType<typeof readInotify>;
    try {
      events = readInotify(this.fd, this.buf);
    } catch (e) {
      this.deps.log.warning(`${this.unit}: reading inotify: ${(e as Error).message}`);
      return;
    }
    if (events === "again") return;
    const changed = new Set<Spec>();
    for (const ev of events) {
      if (ev.mask & IN.Q_OVERFLOW) {
        for (const s of this.specs) if (s.kind === "path_changed" || s.kind === "path_modified") changed.add(s);
        continue;
      }
      for (const role of this.roles.get(ev.wd) ?? []) {
        const s = role.spec;
        if (s.kind !== "path_changed" && s.kind !== "path_modified") continue;
        const aboutIt = role.self ? true : ev.name === basename(s.path);
        if (!aboutIt) continue;
        if (ev.mask & IN.IGNORED) continue;
        if (ev.mask & (role.self ? SELF_MASK[s.kind] : PARENT_MASK)) changed.add(s);
      }
    }
    this.rewatch();
    for (const s of this.specs) {
      const now = this.exists(s.path);
      if (now !== s.exists && (s.kind === "path_changed" || s.kind === "path_modified")) changed.add(s);
      s.exists = now;
    }
    this.decide(changed);
  }

  /** Report the first spec that fires: a change seen, or a state that holds. */
  private decide(changed: Set<Spec>) {
    for (const s of this.specs) {
      if (changed.has(s)) return this.deps.report(`${s.kind} ${s.path}`);
      if ((s.kind === "path_exists" || s.kind === "path_exists_glob" || s.kind === "directory_not_empty") && this.holds(s as Spec & { kind: typeof s.kind })) {
        return this.deps.report(`${s.kind} ${s.path}`);
      }
    }
  }

  private holds(s: Spec & { kind: "path_exists" | "path_exists_glob" | "directory_not_empty" }): boolean {
    return testCondition({ check: s.kind, param: s.path, negate: false, trigger: false, assert: false }, this.deps.facts);
  }

  private exists(path: string): boolean {
    return this.deps.facts.stat(path, true) !== null;
  }

  /** Watch each path, or its nearest existing parent; a glob through the directory before its first wildcard. */
  private rewatch() {
    for (const wd of this.roles.keys()) removeWatch(this.fd, wd);
    this.roles = new Map();
    for (const s of this.specs) {
      const path = s.kind === "path_exists_glob" ? globDirectory(s.path) : s.path;
      const selfKind = s.kind === "path_exists_glob" ? SELF_MASK.path_exists_glob : SELF_MASK[s.kind];
      const wd = path === s.path || s.kind === "path_exists_glob" ? addWatch(this.fd, path, selfKind | IN.MASK_ADD) : { errno: 0 };
      if (typeof wd === "number") {
        this.role(wd, { spec: s, self: true });
        if (s.kind !== "path_exists_glob") this.watchParent(dirname(path), s, false); // it may go, or be replaced
        continue;
      }
      this.watchParent(dirname(path), s, true);
    }
  }

  /** The nearest existing directory at or above `dir`; `nearest`: the path is not there. */
  private watchParent(dir: string, s: Spec, nearest: boolean) {
    for (let d = dir; ; d = dirname(d)) {
      const wd = addWatch(this.fd, d, PARENT_MASK | IN.MASK_ADD);
      if (typeof wd === "number") {
        this.role(wd, { spec: s, self: false });
        return;
      }
      if (!nearest || d === "/") return;
    }
  }

  private role(wd: number, role: WatchRole) {
    const list = this.roles.get(wd) ?? [];
    list.push(role);
    this.roles.set(wd, list);
  }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The directory a glob's matches appear in: the part before the first wildcard. */
function globDirectory(pattern: string): string {
  const wild = pattern.search(/[*?[]/);
  if (wild < 0) return dirname(pattern);
  return dirname(pattern.slice(0, wild) + "x");
}
