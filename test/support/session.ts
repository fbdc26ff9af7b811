// One `hearth run` per test and everything it leaves behind: configuration and scratch
// directories, removed after the test (call end() from afterEach).
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager, type StartOptions } from "./harness.ts";

export class Session {
  private manager: RunningManager | null = null;
  private readonly dirs: string[] = [];

  /** The running manager (start() first). */
  get m(): RunningManager {
    if (!this.manager) throw new Error("no manager started in this test");
    return this.manager;
  }

  /** Writes the units and starts a manager on them. */
  async start(units: Record<string, string>, options: StartOptions = {}): Promise<RunningManager> {
    const dir = writeConf(units);
    this.dirs.push(dir);
    this.manager = await startManager(dir, [], options);
    return this.manager;
  }

  /** A fresh directory, removed after the test. */
  scratch(prefix = "scratch"): string {
    const dir = tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** The captured output of a unit, as `hearth ctl logs` prints it. */
  async logs(unit: string): Promise<string> {
    return (await this.m.ctl("logs", "-n", "200", unit)).stdout;
  }

  /** Polls until probe gives something truthy; fails with the manager's output. */
  async until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
    return poll(what, probe, { timeoutMs, intervalMs: 25, context: () => `output:\n${this.manager?.text()}` });
  }

  async end(): Promise<void> {
    await this.manager?.stop();
    cleanup(this.manager, ...this.dirs.splice(0));
    this.manager = null;
  }
}
