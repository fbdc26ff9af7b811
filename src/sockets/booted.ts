// sd_booted(): libsystemd, and daemons such as unbound, take passed sockets and speak
// sd_notify only when /run/systemd/system exists. hearth, as the system manager, speaks
// those protocols, so it makes the directory; `hearth run` does not (the host's own
// init decides what that directory says).
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const SYSTEMD_RUNTIME_DIR = "/run/systemd/system";

/** Creates /run/systemd/system (under `root`, for tests). */
export function announceSystemdProtocols(root: string = "/"): void {
  mkdirSync(join(root, SYSTEMD_RUNTIME_DIR), { recursive: true, mode: 0o755 });
}
