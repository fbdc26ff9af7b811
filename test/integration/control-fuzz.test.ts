// Fuzzing the control socket: several clients send malformed and random requests (bad
// JSON, huge lines, unknown verbs, wrong types, NUL bytes, very many units, random bytes)
// and go away in every manner (reading the reply, never reading it, half-closing, closing
// mid-request). Afterwards the manager must be alive and answering, its memory and open
// fds back near where they were, and its log free of internal errors.
// The seed is fixed and printed; HEARTH_FUZZ_SEED=N replays another run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { cleanup, openFds, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { seededRandom } from "../support/random.ts";

const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20261206);
const BUDGET_MS = 15_000;
const CLIENTS = 6;

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({
    steady: `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["sleep", "1000"]\n`,
    talker: `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

// Never poweroff/reboot/halt: in run mode they end the manager, which is their job.
const SAFE_VERBS = ["status", "list", "logs", "reset-failed", "ping", "analyze", "watchdog", "debug", "start", "restart", "reload"];
const ODD_VALUES: unknown[] = [null, true, -1, 1.5, 1e308, "", "x".repeat(300), [], {}, [[]], { a: 1 }, "steady", 100_001, "\u0000"];

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

function wellFormed(r: Rand): Record<string, unknown> {
  const verb = pick(r, SAFE_VERBS);
  const units = verb === "start" || verb === "restart" || verb === "reload"
    ? [pick(r, ["steady", "no-such", "hearth", "talker"])]
    : int(r, 2) ? [pick(r, ["steady", "talker", "nope", "hearth"])] : [];
  return { verb, units, lines: int(r, 200), follow: verb === "logs" && int(r, 3) === 0 };
}

/** One hostile payload: what it is (for the record) and its bytes. */
function payload(r: Rand): { kind: string; bytes: Uint8Array | string } {
  const line = (o: unknown) => JSON.stringify(o) + "\n";
  switch (int(r, 12)) {
    case 0: { // truncated or mangled JSON
      const text = line(wellFormed(r));
      return { kind: "bad-json", bytes: text.slice(0, int(r, text.length - 1)) + pick(r, ["\n", "}\n", "]]]\n", "\"\n"]) };
    }
    case 1: // a huge line, with or without its newline
      return { kind: "huge-line", bytes: "{\"verb\":\"list\",\"units\":[\"" + "a".repeat(60_000 + int(r, 100_000)) + (int(r, 2) ? "\"]}\n" : "") };
    case 2:
      return { kind: "unknown-verb", bytes: line({ verb: String.fromCharCode(...Array.from({ length: 1 + int(r, 20) }, () => 32 + int(r, 95))) }) };
    case 3: { // a known verb with fields of the wrong type
      const o: Record<string, unknown> = wellFormed(r);
      o[pick(r, ["verb", "units", "lines", "follow", "setTimeoutSec", "debug"])] = pick(r, ODD_VALUES);
      return { kind: "wrong-type", bytes: line(o) };
    }
    case 4: { // NUL bytes inside and around
      const text = line(wellFormed(r));
      const at = int(r, text.length - 1);
      return { kind: "nul", bytes: text.slice(0, at) + "\u0000".repeat(1 + int(r, 4)) + text.slice(at) };
    }
    case 5: // very many units
      return { kind: "many-units", bytes: line({ verb: pick(r, ["status", "start", "logs"]), units: Array.from({ length: 1000 + int(r, 9000) }, (_, i) => `u${i}`) }) };
    case 6:
      return { kind: "random-bytes", bytes: randomBytes(r, 1 + int(r, 4096)) };
    case 7: // many pipelined requests in one write
      return { kind: "pipelined", bytes: Array.from({ length: 50 + int(r, 500) }, () => line(wellFormed(r))).join("") };
    case 8: // deeply nested JSON
      return { kind: "nested", bytes: "[".repeat(5000 + int(r, 20_000)) + "\n" };
    case 9: // an empty or blank line, then a request
      return { kind: "blank", bytes: "\n  \n\t\n" + line(wellFormed(r)) };
    case 10: // a flood of requests whose replies are not read (see the endings)
      return { kind: "flood", bytes: line({ verb: "list" }).repeat(16_000 + int(r, 48_000)) };
    default:
      return { kind: "well-formed", bytes: line(wellFormed(r)) };
  }
}

/** One client session: connect, send in pieces, then go away in one of several manners. */
function session(r: Rand): Promise<string> {
  const { kind, bytes } = payload(r);
  const ending = kind === "flood" ? pick(r, ["no-read", "linger"]) : pick(r, ["read", "read", "no-read", "half-close", "close-mid", "linger"]);
  const data = typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes);
  return new Promise((resolve) => {
    const sock = createConnection({ path: join(m.runDir, "control.sock") });
    let got = 0;
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(`${kind}/${ending}`);
    };
    const timer = setTimeout(done, ending === "linger" ? 600 : 150);
    sock.on("error", () => {});
    sock.on("close", done);
    sock.on("data", (d) => {
      got += d.length;
      if (ending === "read") done();
    });
    if (ending === "no-read") sock.pause();
    sock.on("connect", () => {
      const cut = ending === "close-mid" ? int(r, data.length) : data.length;
      // In a few pieces, so the manager sees partial lines.
      let at = 0;
      while (at < cut) {
        const n = Math.min(cut - at, 1 + int(r, 8192));
        sock.write(data.subarray(at, at + n));
        at += n;
      }
      if (ending === "close-mid") done();
      else if (ending === "half-close") sock.end();
    });
  });
}

function rssKb(): number {
  return Number(readFileSync(`/proc/${m.proc.pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m)![1]);
}

describe("control socket fuzz", () => {
  test("random and malformed requests from several clients leave the manager sound", async () => {
    console.log(`control fuzz: seed ${SEED} (HEARTH_FUZZ_SEED=${SEED} replays it)`);
    for (let i = 0; i < 3; i++) expect((await m.ctl("list")).code).toBe(0); // warm up the paths measured
    const rssBefore = rssKb();
    const fdsBefore = openFds(m.proc.pid).length;
    const kinds = new Map<string, number>();
    const end = performance.now() + BUDGET_MS;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssKb())), 50);
    await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
      const r = seededRandom(SEED + client);
      while (performance.now() < end) {
        const what = await session(r);
        kinds.set(what, (kinds.get(what) ?? 0) + 1);
      }
    }));
    clearInterval(sampler);
    const sessions = [...kinds.values()].reduce((a, b) => a + b, 0);
    console.log(`control fuzz: ${sessions} sessions: ${[...kinds].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);

    expect(m.proc.exitCode).toBeNull();
    const t0 = performance.now();
    const list = await m.ctl("list");
    const listMs = Math.round(performance.now() - t0);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("steady");
    // Every fuzz connection is gone from the client side: the manager lets go of them all.
    const settle = performance.now() + 10_000;
    let fds = openFds(m.proc.pid);
    while (fds.length > fdsBefore + 1 && performance.now() < settle) {
      await Bun.sleep(50);
      fds = openFds(m.proc.pid);
    }
    const rssAfter = rssKb();
    console.log(`control fuzz: ctl list ${listMs} ms after; VmRSS ${rssBefore} kB before, peak ${rssPeak}, after ${rssAfter}; open fds ${fdsBefore} -> ${fds.length}`);
    expect(fds.length).toBeLessThanOrEqual(fdsBefore + 1); // a ctl connection may be open
    // Measured: +48 MB peak here (garbage not yet collected), +278 MB before replies were bounded.
    expect(rssPeak - rssBefore).toBeLessThan(128 * 1024);
    expect(m.text()).not.toContain("internal error");
    expect(m.text()).not.toContain("threw");
  }, 60_000);
});
