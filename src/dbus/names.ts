// D-Bus well-known bus names and addresses (the D-Bus specification, "Bus names" and
// "Server addresses"): the only two kinds of text hearth takes from its configuration
// and environment for the bus.

/** The longest name the specification allows. */
export const MAX_NAME_LENGTH = 255;

/**
 * Why `name` is not a well-known bus name, or null: two or more dot-separated elements of
 * [A-Za-z0-9_-], none empty nor starting with a digit, at most 255 bytes, not unique
 * (":1.42": those are given by the bus, never taken).
 */
export function busNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return `must be 1 to ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith(":")) return "is a unique connection name: a service takes a well-known one (org.example.Name)";
  const elements = name.split(".");
  if (elements.length < 2) return "needs at least two elements separated by dots (org.example.Name)";
  for (const e of elements) {
    if (!/^[A-Za-z_-][A-Za-z0-9_-]*$/.test(e)) return "has an element that is empty, starts with a digit, or holds a character other than A-Z a-z 0-9 _ -";
  }
  return null;
}

/** The system bus when nothing says otherwise (the specification's default). */
export const DEFAULT_SYSTEM_BUS_ADDRESS = "unix:path=/run/dbus/system_bus_socket";

/**
 * The socket of a D-Bus address ("unix:path=/run/x" or "unix:abstract=x", several
 * separated by ";", values %-escaped): the first unix one, as "/path" or "@abstract";
 * null with the reason when there is none hearth can use (tcp:, launchd: …).
 */
export function unixSocketOfAddress(address: string): { socket: string } | { problem: string } {
  for (const entry of address.split(";")) {
    const colon = entry.indexOf(":");
    if (colon < 0 || entry.slice(0, colon) !== "unix") continue;
    for (const pair of entry.slice(colon + 1).split(",")) {
      const eq = pair.indexOf("=");
      const key = pair.slice(0, eq);
      let value: string;
      try {
        value = decodeURIComponent(pair.slice(eq + 1));
      } catch {
        return { problem: `bad %-escape in ${JSON.stringify(pair)}` };
      }
      if (eq < 0 || value === "" || value.includes("\0")) continue;
      if (key === "path" && value.startsWith("/")) return { socket: value };
      if (key === "abstract") return { socket: `@${value}` };
    }
  }
  return { problem: `no unix:path= or unix:abstract= in ${JSON.stringify(address.slice(0, 200))}` };
}
