// /proc/self/mountinfo (proc(5)) read into records, and the order of unmounting on the
// way down. Pure.

export interface MountInfo {
  id: number;
  parent: number;
  mountPoint: string;
  fstype: string;
  source: string;
  options: string; // per-mount options ("rw,nosuid,relatime")
}

/** Octal escapes (\040 for a space) as the kernel writes them. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseMountinfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    mounts.push({
      id: Number(fields[0]), parent: Number(fields[1]), mountPoint: unescape(fields[4]!),
      options: fields[5]!, fstype: fields[dash + 1]!, source: unescape(fields[dash + 2]!),
    });
  }
  return mounts;
}

/** Mount points the kernel's own file systems live under: left mounted to the end, as systemd does. */
const API_ROOTS = ["/proc", "/sys", "/dev", "/run"];

function isApiPath(path: string): boolean {
  return API_ROOTS.some((root) => path === root || path.startsWith(`${root}/`));
}

export interface UnmountPlan {
  /** Deepest first, so nothing is unmounted from under another mount. */
  unmount: string[];
  /** Remounted read-only last (the root cannot be unmounted from under PID 1). */
  remountReadOnly: string[];
}

export function planUnmounts(mounts: MountInfo[]): UnmountPlan {
  const points = [...new Set(mounts.map((m) => m.mountPoint))];
  const unmount = points
    .filter((p) => p !== "/" && !isApiPath(p))
    .sort((a, b) => depth(b) - depth(a) || b.localeCompare(a));
  const root = mounts.filter((m) => m.mountPoint === "/" && !m.options.split(",").includes("ro"));
  return { unmount, remountReadOnly: root.length > 0 ? ["/"] : [] };
}

function depth(path: string): number {
  return path.split("/").filter((s) => s !== "").length;
}
