// Small readers of /proc used to match processes to units without cgroups.
import { readFileSync } from "node:fs";

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

/** Fields after "pid (comm)": state ppid pgrp session ... (proc(5)); comm may hold ')' */
export function parseStat(text: string): { ppid: number; pgid: number; sid: number } | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(" ");
  const ppid = Number(fields[1]), pgid = Number(fields[2]), sid = Number(fields[3]);
  if (!Number.isInteger(ppid) || !Number.isInteger(sid)) return null;
  return { ppid, pgid, sid };
}
