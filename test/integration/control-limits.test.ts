// The control socket against clients that do not play along: requests pipelined without
// reading a reply, idle connections by the dozen, a client that half-closes after asking.
// The manager's memory stays bounded and `hearth ctl` keeps getting answers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  // Several units, so that a `list` reply is a few kilobytes, as on a real system.
  const units: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    units[`sleeper${i}`] = `[unit]\ndescription = "a service that sleeps, number ${i}, with a long description"\n` +
      `wanted_by = ["multi-user"]\n[service]\nexec_start = ["sleep", "1000"]\n`;
  }
  units.chatty = `[service]\nexec_start = ["sh", "-c", "while true; do seq 1 100000; sleep 0.1; done"]\n`;
  conf = writeConf(units);
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

/** The manager's resident memory in kB (VmRSS from /proc). */
function rssKb(): number {
  const status = readFileSync(`/proc/${m.proc.pid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)![1]);
}

function connect(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: join(m.runDir, "control.sock") });
    sock.once("connect", () => resolve(sock));
    sock.once("error", reject);
  });
}

/** A connection that the manager may close at once to make room (ECONNRESET at connect): onClose is told then, or when it closes later. */
function connectOrMakeRoom(onClose: () => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: join(m.runDir, "control.sock") });
    sock.on("close", onClose);
    sock.once("connect", () => resolve(sock));
    sock.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve(sock) : reject(e)));
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await Bun.sleep(20);
  }
}

describe("control socket limits", () => {
  test("3 MB of pipelined requests whose replies are never read keep the manager's memory bounded", async () => {
    const before = rssKb();
    const limitKb = before + 100 * 1024;
    const sock = await connect();
    sock.on("error", () => {});
    sock.pause(); // never read a reply
    const line = JSON.stringify({ verb: "list" }) + "\n";
    const chunk = line.repeat(Math.ceil(64 * 1024 / line.length));
    let sent = 0, peak = before;
    // Written chunk by chunk so that a manager that does not stop reading is caught at
    // the bound, before it takes the machine's memory.
    while (sent < 3 * 1024 * 1024 && peak < limitKb) {
      sock.write(chunk);
      sent += chunk.length;
      peak = Math.max(peak, rssKb());
      await Bun.sleep(5);
    }
    // Wait until the manager stops taking requests: what the client buffers no longer shrinks.
    let last = -1, still = 0;
    while (still < 25 && peak < limitKb) {
      const pending = sock.writableLength;
      still = pending === last ? still + 1 : 0;
      last = pending;
      peak = Math.max(peak, rssKb());
      await Bun.sleep(40);
    }
    console.log(`pipelined ${(sent / 1048576).toFixed(1)} MB of list requests: manager VmRSS ${before} kB before, peak ${peak} kB; ${last} bytes left unread by the manager`);
    expect(peak).toBeLessThan(limitKb);
    const t0 = performance.now();
    expect((await m.ctl("list")).code).toBe(0);
    console.log(`ctl list beside it: ${Math.round(performance.now() - t0)} ms`);
    sock.destroy();
  }, 60_000);

  test("with 70 idle connections open, `hearth ctl list` still answers", async () => {
    // One after another, so that the manager takes them in this order. Past 64 it closes
    // the oldest idle one for each newcomer, which may be before this side saw its connect
    // complete (then the connect fails with ECONNRESET): that is the manager making room.
    const closed = new Set<number>();
    const socks: Socket[] = [];
    for (let i = 0; i < 70; i++) socks.push(await connectOrMakeRoom(() => closed.add(i)));
    const r = await m.ctl("list");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sleeper11");
    // The ones that made room were the oldest idle ones, and the manager said so: 7 made
    // room for 6 more and ctl (one fewer when a connection of the test before was still open).
    await m.waitForOutput(/control: .*connections.*closed the oldest idle one/);
    await until("6 connections closed", () => closed.size >= 6);
    expect([...closed].filter((i) => i >= 7)).toEqual([]);
    for (const s of socks) s.destroy();
  });

  test("a client that half-closes after its request still gets its reply", async () => {
    const sock = await connect();
    let got = "";
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => (got += d));
    const closed = new Promise((resolve) => sock.on("close", resolve));
    sock.end(JSON.stringify({ verb: "status", units: ["sleeper0"] }) + "\n"); // shutdown(SHUT_WR)
    await closed;
    const reply = JSON.parse(got.split("\n")[0]!);
    expect(reply).toMatchObject({ ok: true, exit: 0 });
    expect(reply.units[0].name).toBe("sleeper0");
  });

  test("two pipelined requests are answered in order", async () => {
    const sock = await connect();
    let got = "";
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => (got += d));
    sock.write(JSON.stringify({ verb: "status", units: ["sleeper1"] }) + "\n" + JSON.stringify({ verb: "ping" }) + "\n");
    await until("two replies", () => got.split("\n").length > 2);
    const [a, b] = got.split("\n").map((l) => (l ? JSON.parse(l) : null));
    expect(a.units[0].name).toBe("sleeper1");
    expect(b.pid).toBe(m.proc.pid);
    sock.destroy();
  });

  test("a logs -f follower that does not read is dropped; the manager's memory stays bounded", async () => {
    const before = rssKb();
    expect((await m.ctl("start", "chatty")).code).toBe(0);
    const sock = await connect();
    sock.on("error", () => {});
    const closed = new Promise((resolve) => sock.on("close", resolve));
    sock.pause();
    sock.write(JSON.stringify({ verb: "logs", units: ["chatty"], lines: 0, follow: true }) + "\n");
    await m.waitForOutput(/control: dropped a logs -f follower \(PID \d+\) that does not read/);
    sock.resume(); // drain what the kernel holds: the close follows
    await closed;
    const after = rssKb();
    expect((await m.ctl("stop", "chatty")).code).toBe(0);
    console.log(`a follower of a unit printing 100,000 lines at a time that does not read: manager VmRSS ${before} -> ${after} kB`);
    expect(after - before).toBeLessThan(100 * 1024);
  }, 30_000);

  test("a connection that sends no request is closed after 30 s", async () => {
    const sock = await connect();
    sock.on("error", () => {});
    const opened = performance.now();
    await new Promise((resolve) => sock.on("close", resolve));
    const after = performance.now() - opened;
    console.log(`idle connection closed after ${Math.round(after)} ms`);
    expect(after).toBeGreaterThan(29_000);
  }, 60_000);
});
