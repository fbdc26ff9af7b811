// Start a unit and read back what it printed (its lines in `hearth ctl logs`).
import type { RunningManager } from "./harness.ts";

/** What a unit printed, one line each, after starting it; throws with its output if the start failed. */
export async function startAndReport(m: RunningManager, unit: string): Promise<string[]> {
  const started = await m.ctl("start", unit);
  const { logs } = await m.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "200", unit);
  const lines = logs.map((line) => line.text);
  if (started.code !== 0) throw new Error(`start ${unit}: exit ${started.code}; it printed:\n${lines.join("\n")}`);
  return lines;
}
