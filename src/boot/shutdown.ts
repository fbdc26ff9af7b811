// The way down: stop every unit (the engine orders the stops, each with its own
// timeout), then SIGTERM and SIGKILL to whatever is left, sync, unmount in reverse
// order, remount the root read-only, and reboot(2) with the command asked for. The
// console says each step. How far it goes is the request's mode (src/engine/power.ts):
// "force" skips stopping the units, "immediate" calls reboot(2) at once.
//
// The hooks are where the hardware watchdog plugs in (src/watchdog/hardware.ts): armed
// with shutdown_sec when the way down begins, pinged before each step, and closed just
// before reboot(2) — left armed for a reboot, disarmed for poweroff and halt.

import { readdirSync, readFileSync } from "node:fs";
import { MS } from "../../ffi/constants.ts";
import { mountNow, rebootNow, signalEveryProcess, syncInThread, unmountInThread } from "../../ffi/system.ts";
import { E, MNT } from "../../ffi/constants.ts";
import { describeErrno } from "../../ffi/libc.ts";
import { reapChildren } from "../exec/reaper.ts";
import type { Logger } from "../log/manager-log.ts";
import { parseMountinfo, planUnmounts } from "./mountinfo.ts";
import type { PowerAction, PowerMode } from "../engine/power.ts";
import { parsePpid } from "./procstat.ts";

export type { PowerAction, PowerMode } from "../engine/power.ts";

export interface ShutdownHooks {
  /** The way down begins (the hardware watchdog is armed with shutdown_sec). */
  begin?(action: PowerAction, mode: PowerMode): void;
  /** A step of the way down is about to run (the watchdog is pinged). */
  step?(what: string): void;
  /** Right before reboot(2) (the watchdog is closed: left armed for a reboot, else disarmed). */
  end?(action: PowerAction): void;
}

export interface ShutdownDeps {
  stopAllUnits(): Promise<void>;
  /** "force": the units are not stopped; the manager stops acting on them (no restart, no spawn). */
  abandonUnits(): void;
  /** Closes the control socket and whatever else the manager holds open. */
  release(): void;
  console(line: string): void;
  log: Logger;
  hooks?: ShutdownHooks;
}

const TERM_GRACE_MS = 5000;
const KILL_GRACE_MS = 2000;
/** "immediate": how long reboot(2) waits for a sync (systemd syncs first too); a hung disk cannot hold it. */
const IMMEDIATE_SYNC_MS = 2000;

const FINAL_WORDS: Record<PowerAction, string> = { poweroff: "Powering off.", reboot: "Rebooting.", halt: "System halted." };
const IMMEDIATE_WORDS: Record<PowerAction, string> = { poweroff: "Powering off immediately", reboot: "Rebooting immediately", halt: "Halting immediately" };

export class Shutdown {
  private action: PowerAction | null = null;

  constructor(private readonly deps: ShutdownDeps) {}

  get inProgress(): boolean {
    return this.action !== null;
  }

  /** Starts the way down; later requests while it runs are ignored (the first one wins). */
  async run(action: PowerAction, reason: string, mode: PowerMode = "orderly"): Promise<void> {
    if (this.action !== null) {
      this.deps.log.notice(`${action} requested (${reason}) while a ${this.action} is under way: ignored`);
      return;
    }
    this.action = action;
    const { deps } = this;
    if (mode === "immediate") return this.immediately(action, reason);
    deps.console(`         Going down for ${action}${mode === "force" ? " (forced: units are not stopped)" : ""}: ${reason}.`);
    deps.hooks?.begin?.(action, mode);
    if (mode === "force") {
      deps.abandonUnits();
    } else {
      try {
        await deps.stopAllUnits();
      } catch (e) {
        deps.log.err(`stopping units: ${(e as Error).message}`);
      }
    }
    deps.release();
    await this.finalStage(action);
  }

  /** reboot(2) now: nothing is stopped, killed or unmounted; a sync is given a short while. */
  private async immediately(action: PowerAction, reason: string) {
    this.deps.console(`         ${IMMEDIATE_WORDS[action]}: ${reason}.`);
    this.deps.hooks?.begin?.(action, "immediate");
    await Promise.race([syncInThread(), Bun.sleep(IMMEDIATE_SYNC_MS)]);
    this.reboot(action);
  }

  private async finalStage(action: PowerAction) {
    const step = (what: string) => this.deps.hooks?.step?.(what);
    step("kill");
    await this.killRemaining("SIGTERM", TERM_GRACE_MS);
    await this.killRemaining("SIGKILL", KILL_GRACE_MS);
    step("sync");
    await syncInThread();
    step("unmount");
    await this.unmountAll();
    step("sync");
    await syncInThread();
    this.deps.console(`         ${FINAL_WORDS[action]}`);
    this.reboot(action);
  }

  private reboot(action: PowerAction) {
    this.deps.hooks?.end?.(action);
    try {
      rebootNow(action);
    } catch (e) {
      this.deps.log.err(`${(e as Error).message}; staying up`);
    }
  }

  /** Signals every process but PID 1, then waits until no child is left or the grace time is over. */
  private async killRemaining(signal: "SIGTERM" | "SIGKILL", graceMs: number) {
    if (childrenLeft() === 0) return;
    this.deps.log.info(`Sending ${signal} to remaining processes`);
    signalEveryProcess(signal);
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      reapChildren();
      if (childrenLeft() === 0) return;
      await Bun.sleep(50);
    }
    reapChildren();
  }

  private async unmountAll() {
    let plan;
    try {
      plan = planUnmounts(parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8")));
    } catch (e) {
      this.deps.log.err(`reading /proc/self/mountinfo: ${(e as Error).message}`);
      return;
    }
    for (const where of plan.unmount) {
      let errno = await unmountInThread(where);
      if (errno === E.EBUSY) errno = await unmountInThread(where, MNT.DETACH);
      if (errno !== 0 && errno !== E.EINVAL) this.deps.log.warning(`umount ${where}: ${describeErrno(errno)}`);
      else this.deps.log.info(`Unmounted ${where}.`);
    }
    for (const where of plan.remountReadOnly) {
      try {
        mountNow("", where, "", MS.REMOUNT | MS.RDONLY, "");
      } catch (e) {
        this.deps.log.info(`remounting ${where} read-only: ${(e as Error).message}`); // an initramfs cannot: harmless
      }
    }
  }
}

/** Processes whose parent is PID 1 (kernel threads have parent 0 or 2). */
function childrenLeft(): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || entry === "1") continue;
    try {
      if (parsePpid(readFileSync(`/proc/${entry}/stat`, "utf8")) === 1) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}
