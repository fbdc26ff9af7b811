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

  test("a client of another uid may look but not change anything", async () => {
    chmodSync(m.runDir, 0o755);
    chmodSync(join(m.runDir, "control.sock"), 0o666);
    const run = async (...args: string[]) => {
      const p = Bun.spawn([...hearthCommand(), "ctl", "-r", m.runDir, ...args], { uid: 65534, gid: 65534, stdout: "pipe", stderr: "pipe" });
      return { code: await p.exited, err: await new Response(p.stderr).text() };
    };
    expect((await run("status", "talker")).code).toBe(0);
    const stop = await run("stop", "talker");
    expect(stop.code).toBe(1);
    expect(stop.err).toContain("permission denied");
    expect((await m.unit("talker")).active).toBe("active");
    await m.waitForOutput(/stop from PID \d+ \(uid 65534\) refused/);
    chmodSync(join(m.runDir, "control.sock"), 0o600);
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

  test("64 idle connections do not lock out the next client for good", async () => {
    // The manager refuses connections past 64 by closing them: the client sees resets.
    const socks = Array.from({ length: 70 }, () => createConnection({ path: join(m.runDir, "control.sock") }));
    // Each connected, or refused (closed or reset), before they go.
    await Promise.all(socks.map((s) => new Promise((resolve) => s.once("connect", resolve).once("error", resolve).once("close", resolve))));
    for (const s of socks) s.on("error", () => {}).destroy();
    expect((await m.ctl("status", "talker")).code).toBe(0);
  });
});
