// The phases of hearth's own start, systemd-analyze time's way: each phase is the moment
// it was reached, in ms since boot on CLOCK_BOOTTIME, and the time of a phase is the gap
// from the one before. As PID 1 the first phase is the kernel's handover (the time before
// it is the kernel's); in run mode it is the process's start. Pure.

export type PhaseName = "handover" | "runtime-ready" | "code-loaded" | "config-loaded" | "first-spawn" | "target-reached";

/** In order; a phase that did not happen (no service to spawn, target not reached yet) is left out. */
export const PHASE_ORDER: readonly PhaseName[] = ["handover", "runtime-ready", "code-loaded", "config-loaded", "first-spawn", "target-reached"];

export interface PhaseMark {
  phase: PhaseName;
  atMs: number; // ms since boot, CLOCK_BOOTTIME
}

export interface StartupPhases {
  /** "kernel": PID 1, the handover is when the kernel ran init; "process": run mode, when the process started. */
  origin: "kernel" | "process";
  marks: PhaseMark[];
}

/** What each phase reached means, and the name of the time spent getting there. */
const PHASE_TEXT: Record<PhaseName, { reached: string; took: string }> = {
  "handover": { reached: "kernel handover", took: "kernel" },
  "runtime-ready": { reached: "runtime ready", took: "runtime" },
  "code-loaded": { reached: "code loaded", took: "hearth code" },
  "config-loaded": { reached: "configuration loaded", took: "configuration" },
  "first-spawn": { reached: "first spawn", took: "first spawn" },
  "target-reached": { reached: "target reached", took: "units" },
};

export interface PhaseRow {
  phase: PhaseName;
  label: string; // "configuration loaded"
  took: string; // "configuration": the time from the phase before
  sinceBootMs: number;
  sinceHandoverMs: number;
  deltaMs: number; // from the phase before (for the handover: from boot, the kernel's time)
}

/** The marks in their order, each with its time since the handover and from the phase before. */
export function phaseRows(p: StartupPhases): PhaseRow[] {
  const marks = PHASE_ORDER.map((name) => p.marks.find((m) => m.phase === name)).filter((m): m is PhaseMark => m !== undefined);
  const handover = marks.find((m) => m.phase === "handover")?.atMs ?? marks[0]?.atMs ?? 0;
  let before = p.origin === "kernel" ? 0 : handover;
  return marks.map((m) => {
    const row: PhaseRow = {
      phase: m.phase,
      label: m.phase === "handover" && p.origin === "process" ? "process started" : PHASE_TEXT[m.phase].reached,
      took: PHASE_TEXT[m.phase].took,
      sinceBootMs: m.atMs,
      sinceHandoverMs: m.atMs - handover,
      deltaMs: m.atMs - before,
    };
    before = m.atMs;
    return row;
  });
}

function ms(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(3)}s` : `${Math.round(x)}ms`;
}

/** The sum line: "Startup finished in 1.203s (kernel) + 412ms (runtime) + ... = 3.825s". */
function sumLine(rows: PhaseRow[], unit: (x: number) => string): string {
  const parts = rows.filter((r) => r.deltaMs > 0 || r.phase !== "handover").map((r) => `${unit(r.deltaMs)} (${r.took})`);
  const total = rows.reduce((s, r) => s + r.deltaMs, 0);
  return `${parts.join(" + ")} = ${unit(total)}`;
}

/**
 * `hearth ctl analyze` (no view), like `systemd-analyze time`: the sum, then one row per
 * phase with its time since the handover and since the phase before.
 */
export function formatPhases(p: StartupPhases, target: string): string {
  const rows = phaseRows(p);
  const reached = rows.some((r) => r.phase === "target-reached");
  const lines = [reached
    ? `Startup finished in ${sumLine(rows, ms)}`
    : `Startup not finished yet: ${target} not reached; so far ${sumLine(rows, ms)}`];
  if (reached) {
    const last = rows[rows.length - 1]!;
    lines.push(`${target} reached ${ms(last.sinceHandoverMs)} after ${p.origin === "kernel" ? "the kernel's handover" : "the process started"}` +
      (p.origin === "kernel" ? `, ${ms(last.sinceBootMs)} after boot.` : "."));
  }
  const width = Math.max(...rows.map((r) => r.label.length));
  lines.push("", `${"phase".padEnd(width)}  ${"since handover".padStart(14)}  ${"delta".padStart(8)}`);
  for (const r of rows) lines.push(`${r.label.padEnd(width)}  ${ms(r.sinceHandoverMs).padStart(14)}  ${`+${ms(r.deltaMs)}`.padStart(8)}`);
  return lines.join("\n");
}

/** The console line when the target is reached: every phase, in whole ms, so that tests can read it. */
export function formatStartupFinished(p: StartupPhases, unitsReady: number): string {
  const whole = { ...p, marks: p.marks.map((m) => ({ ...m, atMs: Math.round(m.atMs) })) }; // the parts add up to the total
  return `Startup finished in ${sumLine(phaseRows(whole), (x) => `${x} ms`)}; ${unitsReady} units ready`;
}
