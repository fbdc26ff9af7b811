// utmp_identifier / utmp_mode (systemd's UtmpIdentifier= / UtmpMode=): the records a getty's
// login(1) and who(1) expect, written as systemd's exec does — INIT_PROCESS (then
// LOGIN_PROCESS or USER_PROCESS by the mode) when the main process starts, DEAD_PROCESS
// when it exits — into utmp (the slot of the same id, else a new one) and appended to
// wtmp. Plain file I/O on files that already exist: like systemd (and glibc), nothing is
// written where a file is missing, so a system without utmp keeps none.

import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { UTMP_SIZE, UT_TYPE, decodeUtmp, encodeUtmp, type UtmpRecord } from "../../ffi/utmp.ts";
import type { ServiceSection } from "../config/types.ts";
import type { ExitStatus } from "../engine/types.ts";

export interface UtmpFiles {
  utmp: string;
  wtmp: string;
}

/** Where a system keeps them (glibc's _PATH_UTMP, _PATH_WTMP). */
export const SYSTEM_UTMP_FILES: UtmpFiles = { utmp: "/var/run/utmp", wtmp: "/var/log/wtmp" };

/** The slots of utmp looked through: far more than any board has terminals. */
const MAX_SLOTS = 4096;
/** si_code of the exit, as systemd records it in e_termination. */
const CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3;

/** ut_id holds 4 bytes: the last four of a longer id (systemd's sanitize_id: "ttyS0" is "tyS0"). */
export function utmpId(id: string): string {
  return id.length <= 4 ? id : id.slice(-4);
}

/** ut_line: the terminal without "/dev/" ("ttyS0", "pts/0"); none without tty_path. */
export function utmpLine(ttyPath: string | null | undefined): string {
  if (!ttyPath) return "";
  return ttyPath.startsWith("/dev/") ? ttyPath.slice(5) : basename(ttyPath);
}

export class UtmpWriter {
  private readonly live = new Map<number, { id: string; line: string }>();

  constructor(private readonly files: UtmpFiles, private readonly wallNow: () => number,
    private readonly warn: (text: string) => void) {}

  /** A unit's main process started: its records, if the unit has a utmp_identifier. */
  started(unit: string, pid: number, cfg: ServiceSection) {
    if (!cfg.utmp_identifier) return;
    const id = utmpId(cfg.utmp_identifier);
    const line = utmpLine(cfg.tty_path);
    this.live.set(pid, { id, line });
    const base = { pid, id, line, session: pid, timeMs: this.wallNow() };
    this.put(unit, { ...base, type: UT_TYPE.INIT_PROCESS, user: "" });
    const mode = cfg.utmp_mode ?? "init";
    if (mode === "login") this.put(unit, { ...base, type: UT_TYPE.LOGIN_PROCESS, user: "LOGIN" });
    if (mode === "user") this.put(unit, { ...base, type: UT_TYPE.USER_PROCESS, user: cfg.user ?? "root" });
  }

  /** A process exited: DEAD_PROCESS for it if it was one started() recorded. */
  exited(unit: string, pid: number, status: ExitStatus) {
    const rec = this.live.get(pid);
    if (!rec) return;
    this.live.delete(pid);
    const code = status.kind === "exited" ? CLD_EXITED : status.coreDumped ? CLD_DUMPED : CLD_KILLED;
    const value = status.kind === "exited" ? status.code : status.signal;
    this.put(unit, {
      type: UT_TYPE.DEAD_PROCESS, pid, id: rec.id, line: rec.line, user: "", session: 0,
      exitTermination: code, exitStatus: value, timeMs: this.wallNow(),
    });
  }

  private put(unit: string, record: UtmpRecord) {
    const bytes = encodeUtmp(record);
    try {
      this.putUtmp(bytes, record.id);
      this.appendWtmp(bytes);
    } catch (e) {
      this.warn(`${unit}: utmp: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Into the slot with the same id among the process records, else at the end (glibc's pututline). */
  private putUtmp(bytes: Uint8Array, id: string) {
    const fd = openExisting(this.files.utmp, constants.O_RDWR);
    if (fd === null) return;
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${this.files.utmp} is not a regular file`);
      const slot = new Uint8Array(UTMP_SIZE);
      let at = 0;
      for (let i = 0; i < MAX_SLOTS; i++, at += UTMP_SIZE) {
        if (readSync(fd, slot, 0, UTMP_SIZE, at) < UTMP_SIZE) break;
        const old = decodeUtmp(slot);
        const process = old.type >= UT_TYPE.INIT_PROCESS && old.type <= UT_TYPE.DEAD_PROCESS;
        if (process && old.id === id) break;
      }
      writeSync(fd, bytes, 0, UTMP_SIZE, at);
    } finally {
      closeSync(fd);
    }
  }

  private appendWtmp(bytes: Uint8Array) {
    const fd = openExisting(this.files.wtmp, constants.O_WRONLY | constants.O_APPEND);
    if (fd === null) return;
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${this.files.wtmp} is not a regular file`);
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
  }
}

/** The file opened without following a symbolic link and without creating it; null when it is not there (closed at once, before any spawn). */
function openExisting(path: string, flags: number): number | null {
  try {
    return openSync(path, flags | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}
