// Device unit names, as systemd makes them: a path escaped by unit_name_path_escape
// (`systemd-escape --path`) with ".device" after it. "/dev/ttyUSB0" is
// "dev-ttyUSB0.device", "/dev/disk/by-label/my-data" is "dev-disk-by\x2dlabel-my\x2ddata.device".

export const DEVICE_SUFFIX = ".device";

/**
 * systemd's path escaping: duplicate and trailing slashes dropped, the leading one too,
 * "/" itself is "-"; then "/" becomes "-", and every byte that is not [A-Za-z0-9:_.] —
 * and a "." that starts the name — becomes \xNN.
 */
export function escapePath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) return "-";
  const bytes = Buffer.from(parts.join("/"), "utf8");
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const c = String.fromCharCode(b);
    if (c === "/") out += "-";
    else if (/[A-Za-z0-9:_]/.test(c) || (c === "." && i > 0)) out += c;
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The device unit of a path: "/dev/ttyUSB0" → "dev-ttyUSB0.device". */
export function deviceUnitName(path: string): string {
  return escapePath(path) + DEVICE_SUFFIX;
}

export function isDeviceUnitName(name: string): boolean {
  return name.endsWith(DEVICE_SUFFIX) && name.length > DEVICE_SUFFIX.length;
}

/**
 * Why `name` cannot be a device unit systemd would make, or null: what unescapes and
 * escapes back to itself under /dev or /sys (the only places device units are named from).
 */
export function deviceUnitNameProblem(name: string): string | null {
  if (!isDeviceUnitName(name)) return `does not end in ${DEVICE_SUFFIX}`;
  const escaped = name.slice(0, -DEVICE_SUFFIX.length);
  const path = unescapePath(escaped);
  if (path === null || escapePath(path) !== escaped) return "is not a path escaped as systemd-escape --path does it";
  if (!path.startsWith("/dev/") && !path.startsWith("/sys/")) return "names no path under /dev or /sys";
  return null;
}

/** The path an escaped name stands for, or null if it is not well formed. */
export function unescapePath(escaped: string): string | null {
  if (escaped === "-") return "/";
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]!;
    if (c === "-") bytes.push(0x2f);
    else if (c === "\\") {
      const hex = /^\\x([0-9a-f]{2})/.exec(escaped.slice(i));
      if (!hex) return null;
      bytes.push(parseInt(hex[1]!, 16));
      i += 3;
    } else bytes.push(c.charCodeAt(0));
  }
  const text = Buffer.from(bytes).toString("utf8");
  return text.includes("\0") ? null : `/${text}`;
}
