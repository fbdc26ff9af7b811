import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// A D-Bus bus of a test's own: dbus-daemon behind a socket hearth made (--address=systemd:
// overrides <listen>), where any user may connect, own any name and send anything.
export const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

/**
 * Writes the bus configuration into `dir` and returns the unit that runs dbus-daemon
 * on BUS_CONFIG behind a hearth socket at DIR/bus.sk (started by its first client).
 */
export function busUnit(dir: string): { socket: string; unit: string } {
  chmodSync(dir, 0o755); // daemons that drop root reach the socket too
  writeFileSync(join(dir, "bus.conf"), BUS_CONFIG);
  const socket = join(dir, "bus.sk");
  return {
    socket,
    unit: `
[service]
type = "notify"
exec_start = ["/usr/bin/dbus-daemon", "--config-file=${join(dir, "bus.conf")}", "--nofork", "--nopidfile", "--address=systemd:"]

[[socket]]
listen_stream = "${socket}"
`,
  };
}
