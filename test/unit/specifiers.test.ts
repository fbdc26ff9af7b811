// Unit specifiers (src/config/specifiers.ts) as systemd expands them for a system unit
// (systemd.unit(5), src/core/unit-printf.c, src/shared/specifier.c), and where the loader
// reports one it does not know.
import { describe, expect, test } from "bun:test";
import { expandSpecifiers, nameParts, SYSTEM_FACTS, unescapeName, unescapePath, type SpecifierFacts } from "../../src/config/specifiers.ts";
import { buildConfig, formatDiagnostic } from "../../src/config/load.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";

const FACTS: SpecifierFacts = {
  ...SYSTEM_FACTS, hostname: "board", machineId: "0123456789abcdef0123456789abcdef",
  bootId: "fedcba9876543210fedcba9876543210", kernelRelease: "6.1.0-18-arm64",
};

function expand(text: string, name: string, suffix = ".service"): string {
  const out = expandSpecifiers(text, nameParts(name, suffix), FACTS);
  if ("error" in out) throw new Error(out.error);
  return out.value;
}

describe("the unit's name", () => {
  test("serial-getty@ttyAMA0: %n %N %p %P %i %I %j %J %f", () => {
    const name = "serial-getty@ttyAMA0";
    expect(expand("%n|%N|%p|%P|%i|%I|%j|%J|%f", name)).toBe(
      "serial-getty@ttyAMA0.service|serial-getty@ttyAMA0|serial-getty|serial/getty|ttyAMA0|ttyAMA0|getty|getty|/ttyAMA0",
    );
  });

  test("an escaped path instance: %i as written, %I and %f unescaped (systemd-fsck@dev-disk-by\\x2dlabel-root)", () => {
    const name = "systemd-fsck@dev-disk-by\\x2dlabel-root";
    expect(expand("%i", name)).toBe("dev-disk-by\\x2dlabel-root");
    expect(expand("%I", name)).toBe("dev/disk/by-label/root");
    expect(expand("%f", name)).toBe("/dev/disk/by-label/root");
    expect(expand("%j %J", name)).toBe("fsck fsck");
  });

  test("a unit that is no instance: %i empty, %f from the prefix, %j the whole prefix without a dash", () => {
    expect(expand("[%i] %f %j %p", "sshd")).toBe("[] /sshd sshd sshd");
    expect(expand("%n", "multi-user", ".target")).toBe("multi-user.target");
    expect(unescapePath("-")).toBe("/");
    expect(unescapeName("a\\xc3\\xa9b")).toBe("aéb"); // UTF-8 escaped byte by byte
  });
});

describe("the machine and the manager's user", () => {
  test("for the system manager: /run /var/lib /var/cache /var/log /etc, root, and the facts given", () => {
    expect(expand("%t %S %C %L %E", "x")).toBe("/run /var/lib /var/cache /var/log /etc");
    expect(expand("%u %U %g %G %h", "x")).toBe("root 0 root 0 /root");
    expect(expand("%H %m %b %v", "x")).toBe("board 0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210 6.1.0-18-arm64");
  });

  test("%% is a percent sign; text without % is returned as it is", () => {
    expect(expand("100%% at %H%%", "x")).toBe("100% at board%");
    expect(expand("plain", "x")).toBe("plain");
  });

  test("an unknown specifier, or a % that ends the text, is an error at its place", () => {
    expect(expandSpecifiers("date +%s", nameParts("x", ".service"), FACTS)).toEqual({
      error: expect.stringContaining("unknown specifier '%s'") as unknown as string, offset: 6,
    });
    expect(expandSpecifiers("50%", nameParts("x", ".service"), FACTS)).toMatchObject({ offset: 2 });
  });
});

describe("in unit files", () => {
  const load = (units: Record<string, string>) => buildConfig({
    system: null, diagnostics: [],
    units: Object.entries(units).map(([name, text]) => ({ name, file: `units/${name}.toml`, text })),
  }, fakeEnv, FACTS);

  test("every string of [unit], [service] and [[socket]] is expanded; a percentage is not a specifier", () => {
    const config = load({
      web: [
        "[unit]", 'description = "web on %H"',
        "[service]", 'exec_start = ["/usr/bin/echod", "%n", "100%%"]', 'environment = { HOME = "%h" }', 'cpu_quota = "50%"',
        "[[socket]]", 'listen_stream = "%t/web.sk"',
      ].join("\n"),
    });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([]);
    const web = config.units.get("web")!;
    expect(web.unit.description).toBe("web on board");
    expect(web.service!.exec_start.argv).toEqual(["/usr/bin/echod", "web.service", "100%"]);
    expect(web.service!.environment).toEqual({ HOME: "/root" });
    expect(web.sockets[0]!.listen_stream).toBe("/run/web.sk");
  });

  test("PID 1 sets system.toml's hostname before any unit runs: %H is that one", () => {
    const sources = {
      system: { file: "system.toml", text: '[manager]\nhostname = "gateway"\n' }, diagnostics: [],
      units: [{ name: "web", file: "units/web.toml", text: '[unit]\ndescription = "web on %H"\n' }],
    };
    expect(buildConfig(sources, fakeEnv, { ...FACTS, hostnameFromSystemToml: true }).units.get("web")!.unit.description).toBe("web on gateway");
    expect(buildConfig(sources, fakeEnv, FACTS).units.get("web")!.unit.description).toBe("web on board"); // hearth run sets none
  });

  test("an unknown specifier is an error at FILE:LINE:COL of the value, and the unit does not load", () => {
    const config = load({ clock: '[service]\nexec_start = "/bin/sh -c \'date +%s\'"\n' });
    expect(config.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^units\/clock\.toml:2:14: error: exec_start: the string "\/bin\/sh -c 'date \+%s'": unknown specifier '%s' \(write '%%' for a '%'/) as unknown as string,
    ]);
    expect(config.units.has("clock")).toBe(false);
  });
});
