// Rules about [[socket]] entries that span unit files:
//   - one address is listened on by one entry (a second one would, for a unix path,
//     silently take the file over from the first), and a path is one entry's socket file
//     or one of its symlinks, not two; netlink sockets and special files
//     are not addresses one entry holds: each entry binds (the kernel gives each its own
//     port id, and every member of a multicast group gets every message) or opens its
//     own, as in systemd;
//   - the entries that activate one service agree on accept: the service either gets
//     the listening sockets, or is a template run once per connection.
// The later entry in file order is the one reported, so the first keeps working.
import type { UnitFile } from "./graph.ts";
import { formatAddress, LISTEN_KEYS, parseListen, type ListenKind } from "./socket-address.ts";

export function checkSocketConflicts(files: UnitFile[]): void {
  const addresses = new Map<string, string>(); // address key -> "unit socket[i]"
  const acceptOf = new Map<string, { accept: boolean; where: string }>(); // service -> first entry
  for (const file of files) {
    file.unit?.sockets.forEach((socket, index) => {
      const where = `'${file.name}' socket[${index}]`;
      for (const [key, kind] of Object.entries(LISTEN_KEYS)) {
        const value = socket[key];
        if (typeof value !== "string") continue;
        const address = addressKey(kind, value);
        if (address === null) continue;
        const first = addresses.get(address);
        if (first) file.report.at(`socket[${index}].${key}`).error(`${value} is already listened on by ${first}`);
        else addresses.set(address, where);
      }
      // A link is a name in the file system as a socket file is: one entry holds it.
      (socket.symlinks ?? []).forEach((link, i) => {
        const first = addresses.get(link);
        if (first) file.report.at(`socket[${index}].symlinks[${i}]`).error(`${link} is already taken by ${first}`);
        else addresses.set(link, `${where} (its symlinks)`);
      });
      const service = socket.service ?? file.name;
      const first = acceptOf.get(service);
      if (!first) acceptOf.set(service, { accept: socket.accept, where });
      else if (first.accept !== socket.accept) {
        file.report.at(`socket[${index}].accept`).error(
          `'${service}' is activated with accept = ${first.accept} by ${first.where}: every socket of a service must agree`,
        );
      }
    });
  }
}

/**
 * What two entries must not share: a file path or abstract name (whatever the kind), or
 * an IP address and port of one protocol (TCP for stream, UDP for datagram).
 */
function addressKey(kind: ListenKind, value: string): string | null {
  const spec = parseListen(kind, value);
  if (typeof spec === "string") return null; // reported where the value is read
  if (spec.kind === "netlink" || spec.kind === "special") return null;
  if (spec.kind === "fifo") return spec.path;
  if (spec.address.family === "unix") return spec.address.path;
  return `${spec.kind === "datagram" ? "udp" : "tcp"} ${formatAddress(spec.address)}`;
}
