// Small readers of /proc used to match processes to units without cgroups.
import { readdirSync, readFileSync } from "node:fs";
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

/** A process as /proc/PID/stat shows it: enough to walk the tree and tell a pid reused. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  sid: number;
  name: string; // comm
  start: string; // starttime (field 22): a pid reused later has another
}

/** Every process, from /proc (those that vanish while it is read are left out). */
export function listProcesses(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "latin1");
      const ids = parseStat(text);
      if (!ids) continue;
      const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      out.push({ pid: Number(entry), ppid: ids.ppid, sid: ids.sid, name, start: statField(text, 22) ?? "" });
    } catch { /* gone */ }
  }
  return out;
}

/** The processes below `pid` in the tree (children, their children...), not `pid` itself. */
export function descendantsOf(pid: number, table: ProcessEntry[]): ProcessEntry[] {
  const byParent = new Map<number, ProcessEntry[]>();
  for (const p of table) {
    const siblings = byParent.get(p.ppid);
    if (siblings) siblings.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const out: ProcessEntry[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const child of byParent.get(stack.pop()!) ?? []) {
      if (out.length >= 4096) return out; // bounded: a fork bomb is not ours to list
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}
