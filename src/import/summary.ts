// `hearth import --summary`: how many of the files converted without loss, and which
// directives were dropped from the most files.

import type { ImportResult } from "./importer.ts";

export interface Summary {
  files: number;
  lossless: number;
  /** Directive (or directive=value) -> number of files it was dropped from, most first. */
  dropped: [string, number][];
}

export function summarize(result: ImportResult): Summary {
  const filesByGroup = new Map<string, Set<string>>();
  for (const note of result.notes) {
    if (note.kind !== "dropped") continue;
    const set = filesByGroup.get(note.group) ?? new Set<string>();
    set.add(note.source);
    filesByGroup.set(note.group, set);
  }
  const dropped = [...filesByGroup].map(([group, files]) => [group, files.size] as [string, number])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { files: result.files.length, lossless: result.files.filter((f) => f.lossless).length, dropped };
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? "0.0" : ((100 * part) / whole).toFixed(1);
}

export function formatSummary(summary: Summary, top = 20): string[] {
  const lines = [`${summary.lossless} of ${summary.files} files converted without loss (${percent(summary.lossless, summary.files)} %)`];
  if (summary.dropped.length > 0) lines.push(`dropped, by the number of files:`);
  for (const [group, count] of summary.dropped.slice(0, top)) lines.push(`  ${String(count).padStart(4)}  ${group}`);
  return lines;
}
