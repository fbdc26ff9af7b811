// What the manager follows outside the engine (src/manager/watchers.ts), on a fake host:
// each watcher set up once at start, in its phase; a reload follows bus names and devices
// anew only when the configuration changed them; every one closed with the manager.
import { describe, expect, test } from "bun:test";
import type { LoadedConfig, UnitConfig } from "../../src/config/types.ts";
import { deviceUnit } from "../../src/devices/units.ts";
import type { ManagerHost } from "../../src/manager/host.ts";

type Port<K extends keyof ManagerHost> = ManagerHost[K] extends (...a: never[]) => infer R ? R : never;
type Options<K extends keyof ManagerHost> = ManagerHost[K] extends (opts: infer O, ...rest: never[]) => unknown ? O : never;
import { createLogger } from "../../src/log/manager-log.ts";
import { Manager } from "../../src/manager/manager.ts";
import { FakeHost } from "../support/fake-host.ts";
import { acceptTemplates, service, target } from "../support/units.ts";

/** A fake host that says when each watcher is made, kicked and closed. */
class WatchedHost extends FakeHost {
  readonly said: string[] = [];
  override syslogServer(path: string): Port<"syslogServer"> {
    this.said.push(`syslog ${path}`);
    return { path, drain: () => {}, close: () => void this.said.push("syslog closed") };
  }
  override kmsgReader(): Port<"kmsgReader"> {
    this.said.push("kmsg");
    return { close: () => void this.said.push("kmsg closed") };
  }
  override busWatcher(opts?: Options<"busWatcher">): Port<"busWatcher"> {
    const names = opts!.names.join(",");
    this.said.push(`bus ${names}`);
    return { kick: () => void this.said.push(`bus kick ${names}`), close: () => void this.said.push(`bus closed ${names}`) };
  }
  override deviceWatcher(opts?: Options<"deviceWatcher">): Port<"deviceWatcher"> {
    const names = [...opts!.wanted].join(",");
    this.said.push(`devices ${names}`);
    return { start: () => ({ plugged: [], unplugged: [] }), close: () => void this.said.push(`devices closed ${names}`) };
  }
}

const configOf = (units: UnitConfig[]) =>
  ({ system: {}, units: new Map(units.map((u) => [u.name, u])), diagnostics: [], notFound: new Map(), catalog: acceptTemplates(units) }) as unknown as LoadedConfig;

function units(busName: string, device: string): UnitConfig[] {
  return [
    target("multi-user", { wants: ["bus-user"] }),
    service("bus-user", { type: "dbus", bus_name: busName, exec_start: { argv: ["sleep", "1000"], ignoreFailure: false } }, { after: [device] }),
    deviceUnit(device),
  ];
}

describe("what the manager follows outside the engine", () => {
  test("set up once at start, followed anew by a reload only when the names change, closed with the manager", () => {
    const host = new WatchedHost();
    const logger = createLogger({ level: "debug", sink: () => {} });
    const m = new Manager({
      config: configOf(units("org.example.A", "dev-ttyS0.device")), runDir: "/fake/run", target: "multi-user", logger,
      systemMode: false, readKmsg: true, host, console: () => {}, exit: () => {},
    });
    m.start();
    expect(host.said).toEqual(["syslog /fake/run/log", "kmsg", "bus org.example.A", "bus kick org.example.A", "devices dev-ttyS0.device"]);

    host.said.length = 0;
    m.replaceConfiguration(configOf(units("org.example.A", "dev-ttyS0.device")));
    expect(host.said).toEqual([]); // nothing changed: the same watchers go on

    m.replaceConfiguration(configOf(units("org.example.B", "dev-ttyS0.device")));
    expect(host.said).toEqual(["bus closed org.example.A", "bus org.example.B", "bus kick org.example.B"]);

    host.said.length = 0;
    m.replaceConfiguration(configOf(units("org.example.B", "dev-ttyUSB0.device")));
    expect(host.said).toEqual(["devices closed dev-ttyS0.device", "devices dev-ttyUSB0.device"]);

    host.said.length = 0;
    m.close();
    expect(host.said.sort()).toEqual(["bus closed org.example.B", "devices closed dev-ttyUSB0.device", "kmsg closed", "syslog closed"]);
  });
});
