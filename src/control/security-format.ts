// The rows of `hearth ctl analyze security` (made by ./security.ts in the manager) as
// text, for the client: nothing here loads the configuration or ffi/.

export interface SecurityCheck {
  key: string; // the directive, as in the unit file, with what it must hold ("capability_bounding_set ~CAP_SYS_ADMIN")
  description: string; // what the service may do while it is not set
  weight: number;
  level: number; // 0: not confined at all, 1: fully confined; in between for a weaker value
}

export interface UnitSecurity {
  unit: string;
  exposure: number; // 0.0 to 10.0
  checks: SecurityCheck[];
}

/** systemd-analyze's words for an exposure. */
export function predicate(exposure: number): string {
  return exposure < 2 ? "OK" : exposure < 5 ? "MEDIUM" : exposure < 7.5 ? "EXPOSED" : "UNSAFE";
}

/** The table of all services, or one service's checks, as text. */
export function formatSecurity(rows: UnitSecurity[], unit?: string): string {
  if (unit === undefined) {
    const width = Math.max(4, ...rows.map((r) => r.unit.length));
    return [`${"UNIT".padEnd(width)}  EXPOSURE PREDICATE`,
      ...rows.map((r) => `${r.unit.padEnd(width)}  ${r.exposure.toFixed(1).padStart(8)} ${predicate(r.exposure)}`)].join("\n");
  }
  const row = rows.find((r) => r.unit === unit);
  if (!row) return `hearth ctl: analyze security: ${unit} is not a service`;
  const total = row.checks.reduce((sum, c) => sum + c.weight, 0);
  const keyWidth = Math.max(...row.checks.map((c) => c.key.length));
  const lines = row.checks
    .sort((a, b) => a.level - b.level || b.weight - a.weight)
    .map((c) => {
      const mark = c.level >= 1 ? "✓" : "✗";
      const share = c.level >= 1 ? "" : ((10 * c.weight * (1 - c.level)) / total).toFixed(1);
      return `${mark} ${c.key.padEnd(keyWidth)}  ${(c.level >= 1 ? "" : c.description).padEnd(72)} ${share}`.trimEnd();
    });
  return [`  ${"NAME".padEnd(keyWidth)}  ${"DESCRIPTION".padEnd(72)} EXPOSURE`, ...lines, "",
    `→ Overall exposure level for ${unit}: ${row.exposure.toFixed(1)} ${predicate(row.exposure)}`].join("\n");
}
