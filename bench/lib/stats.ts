// Small statistics for the benchmark tables: medians, percentiles, spreads, ratios.

export function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return num / den;
}

/** A number with about three significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** "median (min–max)" of repeated runs. */
export function spread(values: number[], unit = ""): string {
  if (values.length === 0) return "–";
  const s = sorted(values);
  if (s.length === 1) return `${fmt(s[0]!)}${unit}`;
  return `${fmt(median(s))}${unit} (${fmt(s[0]!)}–${fmt(s.at(-1)!)})`;
}

/** A ratio to a reference, "1.00" style; "–" when either side is missing. */
export function ratio(x: number, reference: number): string {
  if (!Number.isFinite(x) || !Number.isFinite(reference) || reference === 0) return "–";
  return (x / reference).toFixed(2);
}
