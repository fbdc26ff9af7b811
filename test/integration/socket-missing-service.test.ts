// A [[socket]] whose service names a unit that is not installed: as under systemd the
// socket loads and is made; its first activation fails it, naming the missing unit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, hearthCommand, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
const work = mkdtempSync(join(tmpdir(), "hearth-ghost-socket-"));
const path = join(work, "ghost.sk");

beforeAll(async () => {
  conf = writeConf({
    "ghost-socket": `[unit]\nwanted_by = ["multi-user"]\n[[socket]]\nlisten_stream = "${path}"\nservice = "ghost"\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("a socket whose service does not exist", () => {
  test("hearth check warns and does not fail", async () => {
    const p = Bun.spawn([...hearthCommand(), "check", "-c", conf], { stdout: "pipe", stderr: "pipe" });
    const out = `${await new Response(p.stdout).text()}${await new Response(p.stderr).text()}`;
    expect(await p.exited).toBe(0);
    expect(out).toContain("warning: socket[0].service: unknown unit 'ghost': the socket is made, and its first activation fails it");
  });

  test("the socket is made; a client's connection fails it with the missing unit's name", async () => {
    const socket = await Bun.connect({ unix: path, socket: { data() {} } });
    await m.waitForOutput(/Failed to activate ghost for ghost-socket: unit ghost not found/);
    socket.end();
    const status = await m.ctl("status", "ghost-socket");
    expect(status.stdout).toContain("socket[0] activates 'ghost', which is not loaded (unit ghost not found): activation refused");
    const ghost = await m.ctl("status", "ghost");
    expect(ghost.code).toBe(4);
    expect(ghost.stdout).toContain("ghost-socket");
  });
});
