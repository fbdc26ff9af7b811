// The open-file limit under `hearth run`, read from /proc: the manager raises its own as
// systemd does (root: to min(fs.nr_open, 512 Ki)), and a service without limit_nofile
// starts with systemd's DefaultLimitNOFILE (soft 1024, hard the manager's), not with the
// soft limit Bun raised for itself; limit_nofile still sets both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

/** [soft, hard] of "Max open files" in /proc/PID/limits. */
function openFiles(pid: number): [number, number] {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"))!;
  const [soft, hard] = line.split(/\s+/).slice(3, 5).map(Number);
  return [soft!, hard!];
}

beforeAll(async () => {
  const sleeper = (extra: string) => `[unit]\nwanted_by = ["multi-user"]\n[service]\n${extra}\nexec_start = ["sleep", "1000"]\n`;
  conf = writeConf({ plain: sleeper(""), raised: sleeper('limit_nofile = "4096:8192"') });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("the open-file limit", () => {
  test("the manager's own is raised; a service starts at 1024 with the manager's hard limit; limit_nofile sets its own", async () => {
    const [ownSoft, ownHard] = openFiles(m.proc.pid);
    expect(ownSoft).toBe(ownHard);
    // Raising a hard limit takes CAP_SYS_RESOURCE (this machine's sandbox withholds it even from root).
    const capEff = BigInt(`0x${readFileSync(`/proc/${m.proc.pid}/status`, "utf8").match(/^CapEff:\s+(\w+)/m)![1]}`);
    if (libc.geteuid() === 0 && ((capEff >> 24n) & 1n) === 1n) {
      const nrOpen = Number(readFileSync("/proc/sys/fs/nr_open", "utf8"));
      expect(ownHard).toBeGreaterThanOrEqual(Math.min(nrOpen, 512 * 1024));
    }
    const plain = await m.waitForState("plain", "active");
    expect(openFiles(plain.mainPid!)).toEqual([Math.min(1024, ownHard), ownHard]);
    const raised = await m.waitForState("raised", "active");
    expect(openFiles(raised.mainPid!)).toEqual([4096, 8192]);
  });
});
