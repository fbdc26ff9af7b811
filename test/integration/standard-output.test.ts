// standard_output / standard_error / syslog_identifier through `hearth run`: oneshot units
// write to stdout and stderr, and the test reads the files and `hearth ctl logs`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exchange } from "../support/clients.ts";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
const work = tempDir("stdout");
const at = (name: string) => join(work, name);

/** A oneshot unit running a shell script, with these [service] keys (string values). */
function oneshot(script: string, keys: Record<string, string> = {}): string {
  const lines = ["[service]", 'type = "oneshot"', `exec_start = ["/bin/sh", "-c", ${JSON.stringify(script)}]`];
  for (const [key, value] of Object.entries(keys)) lines.push(`${key} = ${JSON.stringify(value)}`);
  return `${lines.join("\n")}\n`;
}

/** Starts a unit and waits for its job; fails with its status when it does not succeed. */
async function run(unit: string): Promise<void> {
  const r = await m.ctl("start", unit);
  if (r.code !== 0) throw new Error(`start ${unit}: exit ${r.code}: ${r.stderr}\n${(await m.ctl("status", unit)).stdout}`);
}

async function logs(unit: string): Promise<string> {
  return (await m.ctl("logs", "-n", "200", unit)).stdout;
}

/** The files the manager holds open (its fds' targets). */
function managerFiles(): string[] {
  const dir = `/proc/${m.proc.pid}/fd`;
  return readdirSync(dir).flatMap((fd) => {
    try {
      return [readlinkSync(join(dir, fd))];
    } catch {
      return []; // closed meanwhile
    }
  });
}

beforeAll(async () => {
  conf = writeConf({
    overwrite: oneshot("printf 'new'", { standard_output: `file:${at("overwrite.txt")}` }),
    appender: oneshot("echo run", { standard_output: `append:${at("append.txt")}` }),
    truncator: oneshot("echo short", { standard_output: `truncate:${at("truncate.txt")}` }),
    quiet: oneshot("echo discarded-out; echo discarded-err >&2", { standard_output: "null" }),
    both: oneshot("echo to-stdout; echo to-stderr >&2; echo again", { standard_output: `file:${at("both.txt")}`, standard_error: "inherit" }),
    split: oneshot("echo to-file; echo to-log >&2", { standard_output: `truncate:${at("split.txt")}`, standard_error: "journal" }),
    greeter: oneshot("echo hello from the greeter", { syslog_identifier: "greetd" }),
    terminal: oneshot("echo written on the terminal", { standard_output: "tty" }),
    holder: `
[service]
exec_start = ["/bin/sh", "-c", "echo holding; exec sleep 300"]
standard_output = "append:${at("holder.txt")}"
`,
    blocked: oneshot("echo never", { standard_output: `file:${at("fifo")}` }),
    talker: oneshot("echo into the socket file", { standard_output: `append:${at("listener.sk")}` }),
    "greeting@": `
[service]
exec_start = ["/bin/sh", "-c", "echo hello over the socket; echo stderr too >&2"]
standard_output = "socket"

[[socket]]
listen_stream = "${at("greeting.sk")}"
accept = true
`,
  });
  m = await startManager(conf);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("standard_output to a file", () => {
  test('"file:" writes from the start of the file without truncating it', async () => {
    writeFileSync(at("overwrite.txt"), "0123456789\n");
    await run("overwrite");
    expect(readFileSync(at("overwrite.txt"), "utf8")).toBe("new3456789\n");
    expect(await logs("overwrite")).not.toContain("new");
  });

  test('"append:" appends, run after run', async () => {
    writeFileSync(at("append.txt"), "before\n");
    await run("appender");
    await run("appender");
    expect(readFileSync(at("append.txt"), "utf8")).toBe("before\nrun\nrun\n");
  });

  test('"truncate:" empties the file first', async () => {
    writeFileSync(at("truncate.txt"), "a much longer line that was there before\n");
    await run("truncator");
    expect(readFileSync(at("truncate.txt"), "utf8")).toBe("short\n");
  });

  test('standard_error = "inherit" writes where stdout does, at the same offset', async () => {
    await run("both");
    expect(readFileSync(at("both.txt"), "utf8")).toBe("to-stdout\nto-stderr\nagain\n");
  });

  test("stdout to a file and stderr to the log: each line where it was sent", async () => {
    await run("split");
    expect(readFileSync(at("split.txt"), "utf8")).toBe("to-file\n");
    const text = await logs("split");
    expect(text).toContain("to-log");
    expect(text).not.toContain("to-file");
  });

  test("the manager keeps no fd on the file once the service has it", async () => {
    await run("holder");
    await poll("holder to write", () => existsSync(at("holder.txt")) && readFileSync(at("holder.txt"), "utf8").includes("holding"), { intervalMs: 25 });
    expect((await m.unit("holder")).active).toBe("active");
    expect(managerFiles().filter((f) => f.startsWith(work))).toEqual([]);
  });

  test("a FIFO nobody reads fails the start with the reason, at once, and the manager goes on", async () => {
    const made = Bun.spawnSync(["mkfifo", at("fifo")]);
    expect(made.exitCode).toBe(0);
    const r = await m.ctl("start", "blocked");
    expect(r.code).not.toBe(0);
    const status = (await m.ctl("status", "blocked")).stdout;
    expect(status).toContain(`standard_output: cannot open ${at("fifo")}`);
    expect(status).toContain("a FIFO with no reader");
    await run("greeter"); // still answering and spawning
  });
});

describe("standard_output to a unix socket file", () => {
  test("is connected to, as systemd does, and the listener reads the lines", async () => {
    let received = "";
    const listener = Bun.listen({ unix: at("listener.sk"), socket: { data(_socket, data) { received += data.toString(); } } });
    try {
      await run("talker");
      await poll("the listener to read the line", () => received.includes("into the socket file"), { intervalMs: 25 });
      expect(received).toBe("into the socket file\n");
    } finally {
      listener.stop(true);
    }
  });
});

describe('standard_output = "socket"', () => {
  test("an accept = true instance writes to its client, stderr too (as systemd: it follows stdout)", async () => {
    const reply = await exchange({ path: at("greeting.sk") }, "", { expected: 33 });
    expect(reply.answer).toBe("hello over the socket\nstderr too\n");
  });
});

describe('standard_output = "tty"', () => {
  test("under `hearth run` it is hearth's own stdout, and not in the log", async () => {
    await run("terminal");
    await m.waitForOutput(/^written on the terminal$/);
    expect(await logs("terminal")).not.toContain("written on the terminal");
  });
});

describe("standard_output to nowhere, and the log's names", () => {
  test('"null" discards stdout and stderr: `hearth ctl logs` shows nothing of them', async () => {
    await run("quiet");
    const text = await logs("quiet");
    expect(text).not.toContain("discarded");
  });

  test("syslog_identifier names the unit's lines in `hearth ctl logs`", async () => {
    await run("greeter");
    const line = (await logs("greeter")).split("\n").find((l) => l.includes("hello from the greeter"));
    expect(line).toMatch(/ greetd\[\d+\]: hello from the greeter$/);
  });
});
