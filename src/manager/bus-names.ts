// The shell's side of type = "dbus": one connection to the system bus, made only when a
// unit names a bus_name, whose every report of an owner goes to the engine as an event.
// The bus is found where D-Bus clients look: $DBUS_SYSTEM_BUS_ADDRESS in the manager's
// environment (so `hearth run` follows a bus of its own, and passes the same address to
// its services), else /run/dbus/system_bus_socket.
import type { UnitConfig } from "../config/types.ts";
import { DEFAULT_SYSTEM_BUS_ADDRESS, unixSocketOfAddress } from "../dbus/names.ts";
import type { EngineEvent } from "../engine/types.ts";
import type { Logger } from "../log/manager-log.ts";
import type { BusWatcherPort, ManagerHost } from "./host.ts";

export function watchBusNames(host: ManagerHost, units: Iterable<UnitConfig>, env: Record<string, string | undefined>,
  log: Logger, dispatch: (e: EngineEvent) => void): BusWatcherPort | null {
  const names = new Set<string>();
  for (const cfg of units) if (cfg.service?.bus_name) names.add(cfg.service.bus_name);
  if (names.size === 0) return null;
  const address = env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS_ADDRESS;
  const where = unixSocketOfAddress(address);
  if ("problem" in where) {
    log.warning(`DBUS_SYSTEM_BUS_ADDRESS: ${where.problem}: bus names are not followed, type = "dbus" services cannot become ready`);
    return null;
  }
  log.info(`Following ${names.size} bus name(s) on the system bus at ${where.socket}`);
  return host.busWatcher({
    socket: where.socket, uid: process.getuid?.() ?? 0, names: [...names].sort(),
    owner: (name, owner) => dispatch({ type: "bus-name-owner", name, owner }),
    log: (level, text) => log[level](text),
  });
}
