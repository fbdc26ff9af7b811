// One UDP request to a daemon on 127.0.0.1 and its first reply (DNS, NTP): what the
// integration tests of real daemons ask them.
import { createSocket } from "node:dgram";

/** Sends `request` to 127.0.0.1:port; resolves with `read(reply)`, or null when no reply came within a second. */
export function askUdp<T>(request: Uint8Array, port: number, read: (reply: Buffer) => T | null): Promise<T | null> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => { socket.close(); resolve(null); }, 1000);
    socket.on("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(read(reply));
    });
    socket.send(request, port, "127.0.0.1");
  });
}
