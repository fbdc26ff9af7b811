// Seed 004's Restart= table, cell by cell, with real processes: for every restart value
// and every exit cause, the service is restarted or not exactly as systemd would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

const POLICIES = ["no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"] as const;
type Cause = "clean" | "code" | "signal" | "timeout" | "watchdog";
const CAUSES: Cause[] = ["clean", "code", "signal", "timeout", "watchdog"];

// The table of systemd.service(5) / seed 004: which causes each policy restarts on.
const RESTARTS: Record<(typeof POLICIES)[number], Cause[]> = {
  "no": [],
  "always": ["clean", "code", "signal", "timeout", "watchdog"],
  "on-success": ["clean"],
  "on-failure": ["code", "signal", "timeout", "watchdog"],
  "on-abnormal": ["signal", "timeout", "watchdog"],
  "on-abort": ["signal"],
  "on-watchdog": ["watchdog"],
};

const READY_THEN_SLEEP = `["/usr/bin/python3", "-c", "import os,socket,time; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ['NOTIFY_SOCKET']); s.send(b'READY=1'); time.sleep(100000)"]`;

function unitFor(policy: string, cause: Cause): string {
  const service: Record<Cause, string> = {
    clean: `exec_start = ["sh", "-c", "sleep 0.2; exit 0"]`,
    code: `exec_start = ["sh", "-c", "sleep 0.2; exit 3"]`,
    signal: `exec_start = ["sh", "-c", "sleep 0.2; kill -SEGV $$$$"]`, // "$$" is a literal "$", as in systemd
    timeout: `type = "notify"\ntimeout_start_sec = 0.3\nexec_start = "sleep 100000"`,
    watchdog: `type = "notify"\nwatchdog_sec = 0.3\nexec_start = ${READY_THEN_SLEEP}`,
  };
  return `[unit]\nwanted_by = ["multi-user"]\n[service]\n${service[cause]}\nrestart = "${policy}"\nrestart_sec = 0.3\nstart_limit_burst = 100\n`;
}

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  const units: Record<string, string> = {};
  for (const p of POLICIES) for (const c of CAUSES) units[`${p}--${c}`] = unitFor(p, c);
  conf = writeConf(units);
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/, 20_000);
  // Every cause has happened at least once, and each unit reacted to it.
  await poll("every cell of the table to be reached", async () => {
    const status = await m.ctlJson<{ units: Record<string, any>[] }>("status", ...Object.keys(units));
    return status.units.every((u) => reached(u, u.name.split("--")[0], u.name.split("--")[1]));
  }, { timeoutMs: 20_000, intervalMs: 200 });
}, 30_000);

const DESCRIBED: Record<Exclude<Cause, "clean">, string> = {
  code: "exited, code=3", signal: "killed, signal=SEGV", timeout: "start timeout", watchdog: "watchdog timeout",
};

/** The unit shows its cause, and restarted (or went down for good) as the table says. */
function reached(u: Record<string, any>, policy: (typeof POLICIES)[number], cause: Cause): boolean {
  const shown = cause === "clean" || u.exits.some((e: { description: string }) => e.description === DESCRIBED[cause]);
  const reacted = RESTARTS[policy].includes(cause) ? u.nRestarts >= 1 : u.active === (cause === "clean" ? "inactive" : "failed");
  return shown && reacted;
}

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("Restart= table", () => {
  for (const policy of POLICIES) {
    for (const cause of CAUSES) {
      const expected = RESTARTS[policy].includes(cause);
      test(`restart=${policy}, cause ${cause}: ${expected ? "restarts" : "stays down"}`, async () => {
        const u = await m.unit(`${policy}--${cause}`);
        if (expected) {
          expect(u.nRestarts).toBeGreaterThanOrEqual(1);
        } else {
          expect(u.nRestarts).toBe(0);
          expect(u.active).toBe(cause === "clean" ? "inactive" : "failed");
        }
        if (cause !== "clean") expect(u.exits.map((e: { description: string }) => e.description)).toContain(DESCRIBED[cause]);
      });
    }
  }
});
