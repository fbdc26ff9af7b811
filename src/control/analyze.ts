// `hearth ctl analyze`: where the start-up time went, from a snapshot of the timeline.
// Pure: the server sends the snapshot, the client renders blame, critical-chain, plot
// (an SVG boot chart like systemd-analyze plot) and dot (the graph for Graphviz); time
// (hearth's own start by phase) is src/control/startup-phases.ts.
import type { StartupPhases } from "./startup-phases.ts";

export interface TimelineUnit {
  name: string;
  kind: "service" | "target";
  active: string;
  activatingAt: number | null; // the first activation, ms since the epoch
  activeAt: number | null; // when that activation made it active
  after: string[];
  requires: string[];
  wants: string[];
}

export interface Timeline {
  startedAt: number; // when the manager started (ms since the epoch): time zero of the chart
  kernelMs: number | null; // time the kernel took before PID 1 (system mode), if known
  finishedAt: number | null; // when the default target was reached
  target: string;
  units: TimelineUnit[];
  phases: StartupPhases | null; // hearth's own start (src/control/startup-phases.ts), when the manager knows it
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(3)}s` : `${Math.round(x)}ms`;
}

/** Units by time from activation to ready, longest first (systemd-analyze blame). */
export function blame(t: Timeline): string {
  const rows = t.units
    .filter((u) => u.kind === "service" && u.activatingAt !== null && u.activeAt !== null)
    .map((u) => ({ name: u.name, took: u.activeAt! - u.activatingAt! }))
    .sort((a, b) => b.took - a.took || a.name.localeCompare(b.name));
  const width = Math.max(0, ...rows.map((r) => ms(r.took).length));
  return rows.map((r) => `${ms(r.took).padStart(width)} ${r.name}`).join("\n");
}

/**
 * The chain that decided when `unit` became ready: at each step, of the units it is
 * ordered after, the one that became ready last (systemd-analyze critical-chain).
 */
export function criticalChain(t: Timeline, unit = t.target): { name: string; at: number; took: number }[] {
  const byName = new Map(t.units.map((u) => [u.name, u]));
  const chain: { name: string; at: number; took: number }[] = [];
  const seen = new Set<string>();
  let cur = byName.get(unit);
  while (cur && !seen.has(cur.name) && cur.activeAt !== null) {
    seen.add(cur.name);
    const start = cur.activatingAt ?? cur.activeAt;
    chain.push({ name: cur.name, at: cur.activeAt - t.startedAt, took: cur.activeAt - start });
    let next: TimelineUnit | undefined;
    for (const d of cur.after) {
      const u = byName.get(d);
      if (!u || u.activeAt === null || u.activeAt > start + 1) continue;
      if (!next || u.activeAt > next.activeAt!) next = u;
    }
    cur = next;
  }
  return chain;
}

export function formatCriticalChain(t: Timeline, unit?: string): string {
  const chain = criticalChain(t, unit);
  if (chain.length === 0) return `${unit ?? t.target}: not active, no chain`;
  const lines = ["The time when unit became active or started is printed after the \"@\" character.",
    "The time the unit took to start is printed after the \"+\" character.", ""];
  chain.forEach((c, i) => {
    const indent = i === 0 ? "" : `${"  ".repeat(i - 1)}└─`;
    lines.push(`${indent}${c.name} @${ms(c.at)}${c.took > 0 ? ` +${ms(c.took)}` : ""}`);
  });
  return lines.join("\n");
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/**
 * An SVG boot chart: one bar per unit from activation to ready, kernel part first. The
 * boot is over when the target was first reached: units first started later are left
 * out, as systemd-analyze plot does, and the title tells the boot's time.
 */
export function plot(t: Timeline): string {
  const units = t.units
    .filter((u) => u.activatingAt !== null && (t.finishedAt === null || u.activatingAt <= t.finishedAt))
    .sort((a, b) => a.activatingAt! - b.activatingAt! || a.name.localeCompare(b.name));
  const kernel = t.kernelMs ?? 0;
  const lastBar = Math.max(t.startedAt, ...units.map((u) => u.activeAt ?? u.activatingAt!)) - t.startedAt;
  const end = t.finishedAt !== null ? t.finishedAt - t.startedAt : lastBar;
  const total = kernel + Math.max(end, lastBar, 1);
  const scale = Math.min(2, Math.max(0.05, 1000 / total)); // px per ms: the chart stays readable
  const rowH = 20, top = 60, left = 10, labelW = 260;
  const width = Math.ceil(left + total * scale + labelW);
  const height = top + (units.length + 2) * rowH + 20;
  const x = (at: number) => left + (kernel + at - t.startedAt) * scale;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>hearth boot chart</title>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  const summary = `Startup: ${t.kernelMs !== null ? `${ms(kernel)} (kernel) + ` : ""}${ms(end)} (userspace); target ${t.target}`;
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(summary)}</text>`);
  // Second markers.
  for (let s = 0; s * 1000 <= total; s++) {
    const gx = left + s * 1000 * scale;
    out.push(`<line x1="${gx.toFixed(1)}" y1="${top - 10}" x2="${gx.toFixed(1)}" y2="${height - 20}" stroke="#dddddd"/>`);
    out.push(`<text x="${gx.toFixed(1)}" y="${top - 14}" fill="#888888">${s}s</text>`);
  }
  let row = 0;
  if (t.kernelMs !== null) {
    const y = top + row++ * rowH;
    out.push(`<g class="unit kernel"><rect x="${left}" y="${y}" width="${(kernel * scale).toFixed(1)}" height="${rowH - 4}" fill="#c8c8ff"/>` +
      `<text x="${(left + kernel * scale + 4).toFixed(1)}" y="${y + 12}">kernel (${ms(kernel)})</text></g>`);
  }
  for (const u of units) {
    const y = top + row++ * rowH;
    const x0 = x(u.activatingAt!);
    const x1 = u.activeAt !== null ? x(u.activeAt) : x0;
    const color = u.active === "failed" ? "#ff8080" : u.kind === "target" ? "#b0e0b0" : "#ffb060";
    const took = u.activeAt !== null ? ` (${ms(u.activeAt - u.activatingAt!)})` : u.active === "failed" ? " (failed)" : "";
    out.push(`<g class="unit" data-unit="${escapeXml(u.name)}"><rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowH - 4}" fill="${color}"/>` +
      `<text x="${(x1 + 4).toFixed(1)}" y="${y + 12}">${escapeXml(u.name + took)}</text></g>`);
  }
  if (t.finishedAt !== null) {
    const fx = x(t.finishedAt);
    out.push(`<line x1="${fx.toFixed(1)}" y1="${top - 10}" x2="${fx.toFixed(1)}" y2="${height - 20}" stroke="#ff0000" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${(fx + 4).toFixed(1)}" y="${height - 6}" fill="#ff0000">${escapeXml(`${t.target} reached`)}</text>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** The unit graph in Graphviz dot: requires solid, wants dashed, after (ordering) grey. */
export function dot(t: Timeline): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ["digraph hearth {", "  rankdir=LR;", "  node [shape=box, fontname=\"sans-serif\"];"];
  for (const u of t.units) {
    if (u.kind === "target") lines.push(`  ${q(u.name)} [shape=ellipse];`);
    for (const d of u.requires) lines.push(`  ${q(u.name)} -> ${q(d)} [color=black];`);
    for (const d of u.wants) lines.push(`  ${q(u.name)} -> ${q(d)} [color=black, style=dashed];`);
    for (const d of u.after) lines.push(`  ${q(u.name)} -> ${q(d)} [color=grey66, arrowhead=empty];`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
