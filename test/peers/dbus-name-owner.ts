// A D-Bus service in miniature, run with bun by test/integration/dbus-type.test.ts: it
// connects to the bus at argv[2], and takes the name argv[3] once the file argv[4]
// exists; it gives the name up (staying connected and running) once argv[5] exists.
// Written on hearth's own message encoder (src/dbus/message.ts): no D-Bus library.
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { encodeMethodCall } from "../../src/dbus/message.ts";

if (process.argv.length !== 6 || process.argv[2] === "--help") {
  console.log("usage: bun dbus-name-owner.ts SOCKET NAME CLAIM_FILE RELEASE_FILE\n" +
    "Connects to the D-Bus bus at SOCKET; takes NAME once CLAIM_FILE exists, releases it once RELEASE_FILE exists.");
  process.exit(process.argv[2] === "--help" ? 0 : 2);
}
const [socketPath, name, claimFile, releaseFile] = process.argv.slice(2) as [string, string, string, string];
let serial = 0;
const call = (member: string, args: (string | number)[], signature: string) =>
  encodeMethodCall({
    serial: ++serial, destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus", member, signature, args,
  });

const socket = connect(socketPath);
let authed = false;
socket.on("data", (chunk) => {
  if (authed || !chunk.toString("latin1").startsWith("OK ")) return;
  authed = true;
  socket.write("BEGIN\r\n");
  socket.write(call("Hello", [], ""));
  console.log("connected");
  void phases();
});
socket.on("close", () => process.exit(3));
socket.write(Buffer.concat([Buffer.from([0]), Buffer.from(`AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString("hex")}\r\n`)]));
process.on("SIGTERM", () => {
  console.log("SIGTERM");
  process.exit(0);
});

async function phases() {
  while (!existsSync(claimFile)) await Bun.sleep(20);
  socket.write(call("RequestName", [name, 4], "su")); // DBUS_NAME_FLAG_DO_NOT_QUEUE
  console.log(`requested ${name}`);
  while (!existsSync(releaseFile)) await Bun.sleep(20);
  socket.write(call("ReleaseName", [name], "s"));
  console.log(`released ${name}`);
  setInterval(() => {}, 1 << 30);
}
