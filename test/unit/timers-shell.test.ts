// The shell's half of timer units on a fake host: it arms what the engine planned, reports
// the elapse, writes the persistent stamp, and turns a cancelled timerfd (the wall clock
// was set) into a clock event that re-plans calendar timers.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadedConfig, UnitConfig } from "../../src/config/types.ts";
import { createLogger } from "../../src/log/manager-log.ts";
import { Manager } from "../../src/manager/manager.ts";
import type { RealtimeTimerPort } from "../../src/timers/shell.ts";
import type { TimerSection } from "../../src/timers/types.ts";
import { FakeHost } from "../support/fake-host.ts";
import { service, target } from "../support/units.ts";

const state = mkdtempSync(join(tmpdir(), "hearth-timer-shell-"));
afterAll(() => rmSync(state, { recursive: true, force: true }));

function timer(name: string, over: Partial<TimerSection>): UnitConfig {
  const t: TimerSection = {
    on_calendar: [], on_active_sec: [], on_boot_sec: [], on_startup_sec: [], on_unit_active_sec: [], on_unit_inactive_sec: [],
    accuracy_sec: 0.001, randomized_delay_sec: 0, fixed_random_delay: false, persistent: false, remain_after_elapse: true,
    wake_system: false, unit: "job", ...over,
  };
  return { ...target(name), file: `${name}.toml`, timer: t };
}

function managerOn(host: FakeHost, units: UnitConfig[]) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", sink: (r) => void lines.push(`${r.unit}: ${r.text}`) });
  const config = { system: {}, units: new Map(units.map((u) => [u.name, u])), diagnostics: [] } as unknown as LoadedConfig;
  const bases = { runtime: join(state, "run"), state, cache: state, logs: state, configuration: state };
  const m = new Manager({
    config, runDir: "/fake/run", target: "multi-user", logger, systemMode: false, host, directoryBases: bases,
    console: (line) => void lines.push(line), exit: () => {},
  });
  m.start();
  return { m, lines, internalErrors: () => lines.filter((l) => l.includes("internal error")) };
}

const job = () => service("job", { type: "oneshot", exec_start: { argv: ["job"], ignoreFailure: false } });
const spawns = (host: FakeHost) => host.trace.filter((t) => t.startsWith("spawn job")).length;

describe("timer units on a fake host", () => {
  test("a calendar timer starts its unit at its second; a persistent one writes its stamp there", () => {
    const host = new FakeHost();
    const { m, internalErrors } = managerOn(host, [
      target("multi-user", { wants: ["job.timer"] }), job(), timer("job.timer", { on_calendar: ["*:*:0/10"], persistent: true }),
    ]);
    expect(m.unit("job.timer")!.sub).toBe("waiting");
    const wallAtStart = host.wallNow();
    const nextSlot = Math.floor(wallAtStart / 10_000) * 10_000 + 10_000;
    host.advance(nextSlot - wallAtStart - 5);
    expect(spawns(host)).toBe(0);
    host.advance(10);
    expect(spawns(host)).toBe(1);
    expect(Math.abs(statSync(join(state, "hearth/timers/job.timer")).mtimeMs - nextSlot)).toBeLessThan(10);
    expect(m.unit("job.timer")!.trigger!.last).toBeGreaterThanOrEqual(nextSlot);
    expect(internalErrors()).toEqual([]);
  });

  test("a cancelled timerfd (the wall clock was set) re-plans calendar timers on the new date", () => {
    const host = new FakeHost();
    let onReady: (() => void) | null = null;
    let armedAt = 0;
    let reads: ("expired" | "clock-set" | "again")[] = [];
    (host as { reactor: unknown }).reactor = {
      watch: (_fd: number, _i: unknown, fn: () => void) => { onReady = fn; }, unwatch: () => {}, size: 0, staleEventsDropped: 0,
    };
    const port: RealtimeTimerPort = { create: () => 99, arm: (_fd, at) => { armedAt = at; }, read: () => reads.shift() ?? "again", close: () => {} };
    (host as { realtimeTimer?: RealtimeTimerPort }).realtimeTimer = port;
    let wallShift = 0;
    const wall = host.wallNow.bind(host);
    host.wallNow = () => wall() + wallShift;
    const { m, lines, internalErrors } = managerOn(host, [target("multi-user", { wants: ["job.timer"] }), job(), timer("job.timer", { on_calendar: ["daily"] })]);
    const firstNext = m.unit("job.timer")!.trigger!.next!;
    expect(armedAt).toBe(firstNext);
    wallShift = 3 * 86_400_000 + 3_600_000; // NTP: three days and an hour later
    reads = ["clock-set"];
    onReady!();
    expect(lines.some((l) => l.includes("The system clock was set"))).toBe(true);
    const next = m.unit("job.timer")!.trigger!.next!;
    expect(next).toBeGreaterThan(host.wallNow());
    expect(next - host.wallNow()).toBeLessThanOrEqual(86_400_000);
    expect(armedAt).toBe(next);
    expect(spawns(host)).toBe(0); // no elapse was missed: the timer started just now
    expect(internalErrors()).toEqual([]);
  });

  test("a monotonic timer fires on the engine's clock", () => {
    const host = new FakeHost();
    const { internalErrors } = managerOn(host, [target("multi-user", { wants: ["job.timer"] }), job(), timer("job.timer", { on_active_sec: [30] })]);
    host.advance(29_000);
    expect(spawns(host)).toBe(0);
    host.advance(1_100);
    expect(spawns(host)).toBe(1);
    expect(internalErrors()).toEqual([]);
  });
});
