// A real `hearth run` beside hostile unit files: it refuses them, starts the good unit,
// stays small and keeps answering (defects 17-20). As PID 1 any of these ended the boot.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, startManager, tempDir, type RunningManager } from "../support/harness.ts";

let m: RunningManager | null = null;
const dirs: string[] = [];
afterEach(async () => {
  await m?.stop();
  cleanup(m, ...dirs.splice(0));
  m = null;
});

const GOOD = `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["/bin/sleep", "300"]\n`;
const wanted = (extra: string) => `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["/bin/sleep", "300"]\n${extra}\n`;

function conf(units: Record<string, string>, make?: (unitsDir: string) => void): string {
  const dir = tempDir("hostile-run");
  dirs.push(dir);
  mkdirSync(join(dir, "units"));
  for (const [name, text] of Object.entries(units)) writeFileSync(join(dir, "units", `${name}.toml`), text);
  make?.(join(dir, "units"));
  return dir;
}

/** Resident memory of a process, in kB. */
function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
}

/** The promise, or a failure naming `what` after ms (a manager blocked in a read never answers). */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

test("units that check refuses are refused at start too; the good one runs and the manager stays small", async () => {
  const nested = `${"{a=".repeat(990)}1${"}".repeat(990)}`;
  let deep = wanted("");
  for (let i = 0; deep.length < 39_000; i++) deep += `x${i} = ${nested}\n`;
  const units: Record<string, string> = {
    good: GOOD,
    ring: wanted("log_buffer_lines = 4294967296"),
    fd: wanted("notification_fd = 2147483647"),
  };
  for (let i = 0; i < 10; i++) units[`deep${i}`] = deep;
  m = await startManager(conf(units, (dir) => { Bun.spawnSync(["mkfifo", join(dir, "pipe.toml")]); }));
  expect((await m.waitForState("good", "active")).active).toBe("active");
  expect(m.text()).toContain("log_buffer_lines: 4294967296 is out of range (0 to 1000000)");
  expect(m.text()).toContain("notification_fd: 2147483647 is out of range (3 to 1023)");
  expect(m.text()).toContain("pipe.toml: error: not a regular file (a FIFO): not read");
  const rss = rssKb(m.proc.pid);
  console.log(`manager RSS beside ten 39 KB nested files: ${rss} kB`);
  expect(rss).toBeLessThan(200_000);
});

test("an environment_file that is a FIFO fails that start; the manager keeps answering", async () => {
  const dir = conf({ good: GOOD });
  const fifo = join(dir, "env.fifo");
  Bun.spawnSync(["mkfifo", fifo]);
  writeFileSync(join(dir, "units", "envfifo.toml"), `[service]\nexec_start = ["/bin/sleep", "300"]\nenvironment_file = "${fifo}"\n`);
  m = await startManager(dir);
  await m.waitForState("good", "active");
  const started = await within(10_000, "hearth ctl start envfifo", m.ctl("start", "envfifo"));
  expect(started.code).not.toBe(0);
  expect((await within(10_000, "hearth ctl status good", m.unit("good"))).active).toBe("active");
  expect(m.text()).toContain(`environment file ${fifo} not readable`);
});
