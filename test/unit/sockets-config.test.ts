// [[socket]] rules of the configuration loader, including those across unit files
// (src/config/sockets.ts).
import { describe, expect, test } from "bun:test";
import { buildConfig, formatDiagnostic, type ConfigSources } from "../../src/config/load.ts";
import type { LoadedConfig } from "../../src/config/types.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const SERVICE = '[service]\nexec_start = "/bin/true"\n';

function load(units: Record<string, string>): LoadedConfig {
  const sources: ConfigSources = {
    system: null,
    units: Object.entries(units).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
    diagnostics: [],
  };
  return buildConfig(sources, fakeEnv);
}

function problems(config: LoadedConfig): string[] {
  return config.diagnostics.map(formatDiagnostic);
}

describe("[[socket]] across unit files", () => {
  test("an address listened on twice: the later unit is disabled, the first works", () => {
    const config = load({
      a: `${SERVICE}[[socket]]\nlisten_stream = "/run/x.sk"\n[[socket]]\nlisten_datagram = "127.0.0.1:53"\n`,
      b: `${SERVICE}[[socket]]\nlisten_datagram = "/run/x.sk"\n`,
      c: `${SERVICE}[[socket]]\nlisten_stream = "127.0.0.1:53"\n`, // TCP and UDP do not collide
      d: `${SERVICE}[[socket]]\nlisten_fifo = "/run/x.sk"\n`,
    });
    expect(problems(config)).toEqual([
      "units/b.toml:4:19: error: socket[0].listen_datagram: /run/x.sk is already listened on by 'a' socket[0]",
      "units/d.toml:4:15: error: socket[0].listen_fifo: /run/x.sk is already listened on by 'a' socket[0]",
    ]);
    expect(config.units.has("a")).toBe(true);
    expect(config.units.has("c")).toBe(true);
    expect(config.units.has("b")).toBe(false);
  });

  test("a symlink's path is one entry's: not another's symlink nor its socket file", () => {
    const config = load({
      a: `${SERVICE}[[socket]]\nlisten_datagram = "/run/a.sk"\nsymlinks = ["/run/log", "/run/b.sk"]\n`,
      b: `${SERVICE}[[socket]]\nlisten_stream = "/run/b.sk"\n`,
      c: `${SERVICE}[[socket]]\nlisten_fifo = "/run/c"\nsymlinks = ["/run/c-alias", "/run/log"]\n`,
    });
    expect(problems(config)).toEqual([
      "units/b.toml:4:17: error: socket[0].listen_stream: /run/b.sk is already listened on by 'a' socket[0] (its symlinks)",
      "units/c.toml:5:29: error: socket[0].symlinks[1]: /run/log is already taken by 'a' socket[0] (its symlinks)",
    ]);
  });

  test("netlink sockets and special files are not held by one entry: each binds or opens its own, as in systemd", () => {
    const config = load({
      udevd: `${SERVICE}[[socket]]\nlisten_netlink = "kobject-uevent 1"\n`,
      watcher: `${SERVICE}[[socket]]\nlisten_netlink = "kobject-uevent 1"\n[[socket]]\nlisten_special = "/dev/rfkill"\n`,
      rfkill: `${SERVICE}[[socket]]\nlisten_special = "/dev/rfkill"\nwritable = true\n`,
    });
    expect(problems(config)).toEqual([]);
    expect([...config.units.keys()].sort()).toEqual(expect.arrayContaining(["rfkill", "udevd", "watcher"]));
  });

  test("the sockets of one service agree on accept", () => {
    const config = load({
      "web@": `${SERVICE}[[socket]]\nlisten_stream = 80\naccept = true\n`,
      "web-tls": `[[socket]]\nlisten_stream = 443\nservice = "web@"\n`,
    });
    expect(problems(config)).toEqual([
      "units/web-tls.toml:1:1: error: socket[0].accept: 'web@' is activated with accept = true by 'web' socket[0]: every socket of a service must agree",
      "units/web-tls.toml:3:11: error: socket[0].service: 'web@' is a template, run once per connection: only an accept = true socket activates it",
    ]);
  });

  test("the rules within one [[socket]] still hold", () => {
    const config = load({
      "a@": `${SERVICE}[[socket]]\nlisten_datagram = "/run/d"\naccept = true\n`,
      b: `${SERVICE}[[socket]]\nlisten_stream = "/run/b"\nsocket_mode = "999"\n`,
      c: `${SERVICE}[[socket]]\nlisten_stream = "host:80"\n`,
      d: `${SERVICE}[[socket]]\nlisten_sequential_packet = "127.0.0.1:5"\n`,
    });
    expect(problems(config)).toEqual([
      "units/a@.toml:5:10: error: socket[0].accept: accept = true works with stream and sequential packet sockets only",
      expect.stringContaining("units/b.toml:5:15: error: socket[0].socket_mode:") as unknown as string,
      'units/c.toml:4:17: error: socket[0].listen_stream: "host" is not an IPv4 address (host names are not resolved); expected "/path", "@abstract", "0.0.0.0:8080", "[::]:80" or a port',
      "units/d.toml:4:28: error: socket[0].listen_sequential_packet: sequential packet sockets are unix sockets: give a path or @abstract",
    ]);
    expect([...config.units.keys()].filter((n) => n.length === 1)).toEqual([]);
  });
});
