// Units that report what they see from inside: a oneshot running a shell script, and
// what it printed, read back with `hearth ctl logs` after starting it.
import type { RunningManager } from "./harness.ts";

/** A oneshot unit running a shell script, with more [service] lines. */
export function oneshot(script: string, ...lines: string[]): string {
  return `
[service]
type = "oneshot"
exec_start = ["/bin/sh", "-c", ${JSON.stringify(script)}]
${lines.join("\n")}
`;
}

/** What a unit printed, one line each, after starting it; throws with its output when the start failed. */
export async function report(m: RunningManager, unit: string): Promise<string[]> {
  const started = await m.ctl("start", unit);
  const { logs } = await m.ctlJson<{ logs?: { text: string }[] }>("logs", "-n", "200", unit);
  if (!logs) throw new Error(`start ${unit}: exit ${started.code}: ${started.stderr}`);
  const lines = logs.map((line) => line.text);
  if (started.code !== 0) throw new Error(`start ${unit}: exit ${started.code}; it printed:\n${lines.join("\n")}`);
  return lines;
}
