// Small readers of /proc used to match processes to units without cgroups.
import { readFileSync } from "node:fs";
import { statField } from "../boot/procstat.ts";

/** Session id and parent pid of a process, from /proc/PID/stat; null if it is gone. */
export function processIds(pid: number): { ppid: number; pgid: number; sid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  return parseStat(text);
}

/** ppid, pgrp and session: fields 4, 5 and 6 of proc(5)'s list (comm may hold ')'). */
export function parseStat(text: string): { ppid: number; pgid: number; sid: number } | null {
  if (text.lastIndexOf(")") < 0) return null;
  const ppid = Number(statField(text, 4)), pgid = Number(statField(text, 5)), sid = Number(statField(text, 6));
  if (!Number.isInteger(ppid) || !Number.isInteger(sid)) return null;
  return { ppid, pgid, sid };
}
