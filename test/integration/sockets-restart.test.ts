// The manager holds the sockets across crashes and restarts: no client is refused and no
// datagram lost while the service behind them dies and comes back; and the fd store
// gives a service back what it stored before it went down.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PEER_SOURCES, PEERS } from "../support/harness.ts";
import { Session } from "../support/session.ts";
import { datagrams, exchange, freePort } from "../support/clients.ts";

const ECHO = join(PEERS, "echo-libsystemd");
const FDSTORE = join(PEER_SOURCES, "fdstore-python.py");

const session = new Session();
afterEach(() => session.end());

describe("crashes and restarts behind held sockets", () => {
  test("200 clients and 200 datagrams while the service crashes every 7 requests: all answered", async () => {
    const tcp = await freePort();
    const udp = await freePort();
    const m = await session.start({
      crashy: `
[service]
type = "notify"
exec_start = ["${ECHO}", "--crash-after", "7"]
restart = "always"
restart_sec = 0
start_limit_interval_sec = 0
limit_core = 0

[[socket]]
listen_stream = "127.0.0.1:${tcp}"

[[socket]]
listen_datagram = "127.0.0.1:${udp}"
receive_buffer = "4M"
`,
    });
    const messages = Array.from({ length: 200 }, (_, i) => `request ${i}\n`);
    const [streams, grams] = await Promise.all([
      Promise.allSettled(messages.map((msg) => exchange({ host: "127.0.0.1", port: tcp }, msg, { timeoutMs: 30_000 }))),
      datagrams(udp, messages.map((msg) => `dgram ${msg}`), { timeoutMs: 30_000 }),
    ]);
    const refused = streams.filter((s) => s.status === "rejected").map((s) => String((s as PromiseRejectedResult).reason));
    expect(refused).toEqual([]);
    const answers = streams.map((s) => (s as PromiseFulfilledResult<{ answer: string }>).value.answer);
    expect(answers).toEqual(messages);
    expect(grams.sort()).toEqual(messages.map((msg) => `dgram ${msg}`).sort());
    const status = await m.unit("crashy");
    expect(status.nRestarts).toBeGreaterThanOrEqual(Math.floor(400 / 7) - 1); // it really crashed all along
    await m.waitForOutput(/Main process killed, signal=(SIG)?ABRT/);
  }, 60_000);

  test("a client waiting while the service is killed and restarted is answered by the new process", async () => {
    const path = join(session.scratch("sk"), "held.sk");
    const m = await session.start({
      held: `
[service]
type = "notify"
exec_start = "${ECHO}"
restart = "always"
restart_sec = 0.5

[[socket]]
listen_stream = "${path}"
`,
    });
    expect((await exchange({ path }, "one\n")).answer).toBe("one\n");
    const first = await m.waitForState("held", "active");
    process.kill(first.mainPid, "SIGKILL");
    await session.until("the restart to be scheduled", async () => (await session.m.unit("held")).sub === "auto-restart");
    // The held socket takes the connection (a refusal would reject here); the traffic
    // starts the service at once, without waiting out restart_sec.
    const during = await exchange({ path }, "two\n");
    expect(during.answer).toBe("two\n");
    const second = await m.unit("held");
    expect(second.mainPid).not.toBe(first.mainPid);
    expect(second.nRestarts).toBe(1);
  });
});

describe("the fd store", () => {
  const unit = (socketPath: string, restart: string) => `
[service]
type = "notify"
exec_start = "${FDSTORE}"
fd_store_max = 4
restart = "${restart}"
restart_sec = 0
environment = { CRASH_ON_FIRST = "1" }

[[socket]]
listen_stream = "${socketPath}"
fd_name = "api"
`;

  async function generations(): Promise<string[]> {
    const logs = await session.logs("memo");
    return logs.split("\n").filter((l) => /generation \d|passed:/.test(l)).map((l) => l.replace(/^.*? memo(\[\d+\])?: /, ""));
  }

  test("an fd stored with FDSTORE=1 comes back after a crash and after a restart, after the sockets", async () => {
    const path = join(session.scratch("sk"), "memo.sk");
    const m = await session.start({ memo: unit(path, "on-failure") });
    expect((await m.ctl("start", "memo")).code).toBe(0);
    // generation 1 stores its memfd and crashes; generation 2 gets it back at fd 4.
    await session.until("the second generation", async () => (await generations()).includes("generation 2"));
    expect(await generations()).toEqual(["passed: 3=api", "generation 1", "passed: 3=api 4=memo", "generation 2"]);
    expect((await m.unit("memo")).storedFds).toEqual(["memo"]); // stored again, kept once

    expect((await m.ctl("restart", "memo")).code).toBe(0);
    await session.until("the third generation", async () => (await generations()).includes("generation 3"));
    expect((await generations()).slice(-2)).toEqual(["passed: 3=api 4=memo", "generation 3"]);
    expect((await m.ctl("status", "memo")).stdout).toContain("Stored fds: memo");

    // A real stop empties the store: the next start begins again.
    expect((await m.ctl("stop", "memo")).code).toBe(0);
    expect((await m.unit("memo")).storedFds).toEqual([]);
    expect((await m.ctl("start", "memo")).code).toBe(0);
    await session.until("a fresh first generation", async () => (await generations()).filter((l) => l === "generation 1").length === 2);
  });

  test("with fd_store_max = 0 the fds are refused, with a warning", async () => {
    const path = join(session.scratch("sk"), "nostore.sk");
    const m = await session.start({ memo: unit(path, "no").replace("fd_store_max = 4", "fd_store_max = 0") });
    await m.ctl("start", "memo");
    await session.until("the refusal", async () => m.text().includes('FDSTORE=1: fd "memo" not kept: the unit has no fd store (fd_store_max = 0)'));
    expect((await m.unit("memo")).storedFds).toEqual([]);
  });
});
