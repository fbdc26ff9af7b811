// The shell's side of device units: the kernel's devices followed (src/devices/) only
// when some unit names a NAME.device, and each device unit's presence sent to the engine
// as a device event — at start, before the target's jobs, and at every change.
import type { UnitConfig } from "../config/types.ts";
import type { PlugChange } from "../devices/registry.ts";
import type { EngineEvent } from "../engine/types.ts";
import type { Logger } from "../log/manager-log.ts";
import type { DeviceWatcherPort, ManagerHost } from "./host.ts";

export function watchDevices(host: ManagerHost, units: Iterable<UnitConfig>, log: Logger,
  dispatch: (e: EngineEvent) => void): DeviceWatcherPort | null {
  const wanted = new Set<string>();
  for (const cfg of units) if (cfg.device) wanted.add(cfg.name);
  if (wanted.size === 0) return null;
  const forward = (change: PlugChange) => {
    for (const unit of change.unplugged) if (wanted.has(unit)) dispatch({ type: "device", unit, plugged: false });
    for (const unit of change.plugged) if (wanted.has(unit)) dispatch({ type: "device", unit, plugged: true });
  };
  const watcher = host.deviceWatcher({ wanted, changed: forward, log: (level, text) => log[level](text) });
  try {
    forward(watcher.start());
  } catch (e) {
    watcher.close();
    log.warning(`cannot follow the kernel's devices: ${(e as Error).message}: device units stay inactive`);
    return null;
  }
  log.info(`Following the kernel's devices for ${wanted.size} device unit(s)`);
  return watcher;
}
