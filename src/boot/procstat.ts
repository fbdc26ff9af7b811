// Fields of /proc/PID/stat (proc(5)). The name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'. Pure.

/** Field n (1-based, as proc(5) numbers them; n >= 3). */
export function statField(stat: string, n: number): string | undefined {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3];
}

/** Field 22, starttime: clock ticks since boot when the process started. */
export function parseStartTicks(stat: string): number {
  const ticks = Number(statField(stat, 22));
  if (!Number.isInteger(ticks) || ticks < 0) throw new Error(`no start time in stat: ${stat.slice(0, 80)}`);
  return ticks;
}

/** Field 4, ppid. */
export function parsePpid(stat: string): number {
  return Number(statField(stat, 4));
}

/** Field 3, the state letter ("Z" for a zombie). */
export function parseState(stat: string): string {
  return statField(stat, 3) ?? "?";
}
