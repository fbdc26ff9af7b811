// `hearth ctl analyze security` (src/control/security.ts): exposure from a unit's keys.
import { describe, expect, test } from "bun:test";
import { securityReport, unitSecurity } from "../../src/control/security.ts";
import { formatSecurity, predicate } from "../../src/control/security-format.ts";
import { service, serviceSection } from "../support/units.ts";

describe("analyze security", () => {
  test("a service with no hardening is UNSAFE; each directive lowers its exposure by its weight", () => {
    const bare = unitSecurity("bare", serviceSection());
    expect(bare.exposure).toBeGreaterThanOrEqual(9.5);
    expect(predicate(bare.exposure)).toBe("UNSAFE");
    const some = unitSecurity("some", serviceSection({ protect_system: "strict", protect_home: true, private_tmp: true, no_new_privileges: true }));
    expect(some.exposure).toBeLessThan(bare.exposure);
    const strictOnly = unitSecurity("s", serviceSection({ protect_system: "strict" }));
    const fullOnly = unitSecurity("f", serviceSection({ protect_system: "full" }));
    expect(strictOnly.exposure).toBeLessThan(fullOnly.exposure); // "full" counts for part only
  });

  test("system_call_filter counts a group as filtered when every call of it is refused, by a deny or an allow list", () => {
    const deny = unitSecurity("d", serviceSection({ system_call_filter: ["~@mount @swap"] }));
    const allow = unitSecurity("a", serviceSection({ system_call_filter: ["@system-service"] }));
    const level = (u: typeof deny, key: string) => u.checks.find((c) => c.key === key)!.level;
    expect(level(deny, "system_call_filter ~@mount")).toBe(1);
    expect(level(deny, "system_call_filter ~@clock")).toBe(0);
    expect(level(allow, "system_call_filter ~@clock")).toBe(1);
    expect(level(allow, "system_call_filter ~@resources")).toBe(0); // @system-service has it
  });

  test("device ACLs and IP address allow lists count as systemd-analyze counts them", () => {
    const level = (cfg: Parameters<typeof serviceSection>[0], key: string) => unitSecurity("u", serviceSection(cfg)).checks.find((c) => c.key === key)!.level;
    expect(level({}, "device_allow")).toBe(0);
    expect(level({ device_policy: "closed" }, "device_allow")).toBe(1);
    expect(level({ private_devices: true }, "device_allow")).toBe(1);
    expect(level({ device_policy: "strict", device_allow: ["char-rtc r"] }, "device_allow")).toBe(0.5);
    expect(level({}, "ip_address_deny")).toBe(0);
    expect(level({ ip_address_deny: ["any"] }, "ip_address_deny")).toBe(1);
    expect(level({ ip_address_deny: ["any"], ip_address_allow: ["localhost"] }, "ip_address_deny")).toBe(0.8);
    expect(level({ ip_address_deny: ["any"], ip_address_allow: ["10.0.0.0/8"] }, "ip_address_deny")).toBe(0.5);
  });

  test("the table: most exposed first; one unit: its unmet checks first, then the overall level", () => {
    const rows = securityReport([service("hardened", { private_network: true, protect_system: "strict" }), service("bare")]);
    expect(rows.map((r) => r.unit)).toEqual(["bare", "hardened"]);
    const table = formatSecurity(rows).split("\n");
    expect(table[0]).toMatch(/^UNIT\s+EXPOSURE PREDICATE$/);
    expect(table[1]).toMatch(/^bare\s+\d+\.\d UNSAFE$/);
    const one = formatSecurity(rows, "hardened").split("\n");
    expect(one[1]).toStartWith("✗ user");
    expect(one.at(-1)).toMatch(/^→ Overall exposure level for hardened: \d\.\d (OK|MEDIUM|EXPOSED|UNSAFE)$/);
    expect(one.some((l) => l.startsWith("✓ private_network"))).toBe(true);
  });
});
