// The control socket against hostile and careless clients: garbage, oversized lines,
// unknown verbs, a client of another uid, a follower that goes away. The manager answers
// each with a precise error and keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { cleanup, hearthCommand, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({
    talker: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done"]
`,
    quick: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["sleep", "1000"]
`,
    broken: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["sleep", "1000"]
restart = "sometimes"
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

/** Send raw bytes, collect reply lines until the server closes or `lines` arrived. */
function raw(payload: string | Uint8Array, lines = 1): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: join(m.runDir, "control.sock") });
    let buf = "";
    const got: string[] = [];
    sock.on("connect", () => sock.write(payload));
    sock.on("data", (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        got.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (got.length >= lines) { sock.destroy(); resolve(got); }
      }
    });
    sock.on("error", reject);
    sock.on("close", () => resolve(got));
  });
}

describe("control socket", () => {
  test("garbage, wrong types and unknown verbs get precise errors", async () => {
    const [notJson] = await raw("hello\n");
    expect(JSON.parse(notJson!)).toMatchObject({ ok: false, error: expect.stringContaining("not JSON") });
    const [badVerb] = await raw(JSON.stringify({ verb: "rm -rf" }) + "\n");
    expect(JSON.parse(badVerb!).error).toContain("unknown verb");
    const [badUnits] = await raw(JSON.stringify({ verb: "start", units: [1, 2] }) + "\n");
    expect(JSON.parse(badUnits!).error).toContain("units must be");
    const [array] = await raw("[1,2,3]\n");
    expect(JSON.parse(array!).error).toContain("JSON object");
  });

  test("an endless line without newline is cut off; the manager keeps serving", async () => {
    const lines = await raw("x".repeat(200_000));
    expect(JSON.parse(lines[0]!).error).toContain("longer than");
    expect((await m.ctl("status", "talker")).code).toBe(0);
  });

  test("any user may look (list, status, analyze) but only root may change anything", async () => {
    chmodSync(m.runDir, 0o755); // mkdtemp made it 0700; the socket itself is for everyone
    const asNobody = async (...args: string[]) => {
      const p = Bun.spawn([...hearthCommand(), "ctl", "-r", m.runDir, ...args], { uid: 65534, gid: 65534, stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, out, err };
    };
    const list = await asNobody("list");
    expect(list.err).toBe("");
    expect(list.code).toBe(0);
    expect(list.out).toContain("talker");
    const status = await asNobody("status", "talker");
    expect(status.code).toBe(0);
    expect(status.out).toContain("Active: active (running)");
    expect(status.out).not.toMatch(/line \d+/); // a unit's output is root's, as the journal is
    expect(status.err).toContain("Hint: the units' output is shown to root only");
    expect((await asNobody("analyze", "blame")).code).toBe(0);
    const stop = await asNobody("stop", "talker");
    expect(stop.code).toBe(1);
    expect(stop.err).toContain("permission denied: stop changes the system");
    const logs = await asNobody("logs", "talker");
    expect(logs.code).toBe(1);
    expect(logs.err).toContain("permission denied");
    // Unit files: the manager reads what the caller may not; reloading and masking change the system.
    for (const verb of ["cat", "mask", "disable"]) {
      const r = await asNobody(verb, "talker");
      expect(r.code).toBe(1);
      expect(r.err).toContain("permission denied");
    }
    expect((await asNobody("daemon-reload")).err).toContain("permission denied: daemon-reload changes the system");
    expect((await m.unit("talker")).active).toBe("active");
    await m.waitForOutput(/stop from PID \d+ \(uid 65534\) refused/);
    // Root still may.
    expect((await m.ctl("reset-failed", "talker")).code).toBe(0);
    expect((await m.ctl("logs", "talker")).stdout).toMatch(/line \d+/);
  });

  test("status of a unit that failed to load shows why, as list does (exit 3)", async () => {
    const list = await m.ctl("list");
    expect(list.stdout).toMatch(/broken\s+error\s+not-loaded/);
    const r = await m.ctl("status", "broken");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("broken");
    expect(r.stdout).toMatch(/Loaded: error \(\S*broken\.toml:\d+:\d+: .*restart/);
    expect(r.stdout).toContain("Active: inactive (dead)");
    const json = await m.ctlJson<{ units: Record<string, any>[] }>("status", "broken");
    expect(json.units[0]).toMatchObject({ name: "broken", load: "error", active: "inactive" });
    const start = await m.ctl("start", "broken");
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/broken is not loaded: \S*broken\.toml:\d+:\d+/);
    expect((await m.ctl("status", "no-such-unit")).code).toBe(4);
  });

  test("analyze plot keeps the boot's startup time and bars after a unit restarts", async () => {
    const chart = async () => {
      const svg = (await m.ctl("analyze", "plot")).stdout;
      const title = svg.match(/font-weight="bold">(Startup: [^<]*)</)![1]!;
      const bar = svg.match(/data-unit="quick"><rect x="([\d.]+)" y="\d+" width="([\d.]+)"/);
      return { title, bar: bar ? [bar[1], bar[2]] : null };
    };
    const boot = await chart();
    expect(boot.bar).not.toBeNull();
    await m.waitForState("quick", "active");
    // Well after the boot, so that a chart drawn from the restart would differ.
    while (performance.now() - m.startedAt < 3000) await Bun.sleep(50);
    expect((await m.ctl("restart", "quick")).code).toBe(0);
    const after = await chart();
    expect(after).toEqual(boot);
  });

  test("logs -f follows new lines; a follower that disconnects is dropped cleanly", async () => {
    const lines = await raw(JSON.stringify({ verb: "logs", units: ["talker"], lines: 2, follow: true }) + "\n", 6);
    const texts = lines.map((l) => JSON.parse(l).log.text as string);
    const numbers = texts.map((t) => Number(t.split(" ")[1]));
    expect(numbers.length).toBe(6);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[i - 1]! + 1);
    // Three lines later the manager has written to the closed connection, and must have survived it.
    const last = numbers[numbers.length - 1]!;
    await poll("three more lines", async () => {
      const { logs } = await m.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "1", "talker");
      return Number(logs[0]?.text.split(" ")[1]) >= last + 3;
    });
    expect((await m.ctl("status", "talker")).code).toBe(0);
  });
});
