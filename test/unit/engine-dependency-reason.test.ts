// What "Dependency failed for X: ..." says about a dependency that never ran (defect 25).
import { expect, test } from "bun:test";
import { Engine } from "../../src/engine/engine.ts";
import type { Effect, EngineEvent } from "../../src/engine/types.ts";
import { configs, service } from "../support/units.ts";

/** Runs events to the end, answering spawns with pids, and returns every console line. */
function consoleLines(engine: Engine, first: EngineEvent, exitCode: (unit: string) => number | null): string[] {
  const lines: string[] = [];
  const queue: EngineEvent[] = [first];
  let pid = 100;
  while (queue.length > 0) {
    for (const effect of engine.handle(queue.shift()!, 0) as Effect[]) {
      if (effect.type === "console") lines.push(effect.text);
      if (effect.type === "spawn") {
        const spawned = pid++;
        queue.push({ type: "spawned", unit: effect.unit, role: effect.role, pid: spawned });
        const code = exitCode(effect.unit);
        if (code !== null) queue.push({ type: "exited", pid: spawned, status: { kind: "exited", code } });
      }
    }
  }
  return lines;
}

test("a dependency that was never started is not said to have failed with success", () => {
  const engine = new Engine(configs(
    service("db", { type: "oneshot" }),
    service("cache", { type: "oneshot" }, { requires: ["db"], after: ["db"] }),
    service("web", {}, { requires: ["cache"], after: ["cache"] }),
  ), 0);
  const lines = consoleLines(engine, { type: "request", job: "start", unit: "web", requestId: 1 }, (unit) => (unit === "db" ? 1 : null));
  expect(lines).toContain("Dependency failed for cache: dependency db failed (exit-code)");
  const web = lines.find((line) => line.startsWith("Dependency failed for web"));
  expect(web).toBe("Dependency failed for web: dependency cache was not started (inactive)");
});
