// Fields of /proc/PID/stat (proc(5)). The name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'. Pure.

/** Field n (1-based, as proc(5) numbers them; n >= 3). */
export function statField(stat: string, n: number): string | undefined {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3];
}

/** Field 4, ppid. */
export function parsePpid(stat: string): number {
  return Number(statField(stat, 4));
}
