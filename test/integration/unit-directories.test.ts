// runtime_directory and state_directory under `hearth run`, on the real file system: a
// service writes into $RUNTIME_DIRECTORY and $STATE_DIRECTORY; the directories have their
// modes (and, as root, the unit's user); the runtime one goes when the unit stops, the
// state one stays.
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager | null = null;
const dirs: string[] = [];

afterEach(async () => {
  await m?.stop();
  cleanup(m, ...dirs.splice(0));
  m = null;
});

function writer(...lines: string[]): string {
  const script = 'echo run > "$RUNTIME_DIRECTORY/pid" && echo kept > "$STATE_DIRECTORY/data" && echo "told $RUNTIME_DIRECTORY $STATE_DIRECTORY" && exec sleep 300';
  return `
[service]
exec_start = ["/bin/sh", "-c", ${JSON.stringify(script)}]
runtime_directory = ["writer"]
runtime_directory_mode = "0700"
state_directory = ["writer/db"]
state_directory_mode = "0750"
${lines.join("\n")}
`;
}

async function startWith(units: Record<string, string>) {
  const base = tempDir("unit-dirs");
  chmodSync(base, 0o755); // a service running as nobody goes through it
  dirs.push(base);
  const conf = writeConf(units);
  dirs.push(conf);
  const env = { XDG_RUNTIME_DIR: join(base, "xdg-run"), XDG_STATE_HOME: join(base, "state") };
  m = await startManager(conf, [], { env });
  return { runtime: join(env.XDG_RUNTIME_DIR, "writer"), state: join(env.XDG_STATE_HOME, "writer/db") };
}

const mode = (path: string) => statSync(path).mode & 0o7777;

describe("unit directories under hearth run", () => {
  test("a service writes into $RUNTIME_DIRECTORY and $STATE_DIRECTORY; at its stop the runtime one goes, the state one stays", async () => {
    const { runtime, state } = await startWith({ writer: writer() });
    expect((await m!.ctl("start", "writer")).code).toBe(0);
    await poll("the service's files", () => existsSync(join(runtime, "pid")) && existsSync(join(state, "data")));
    await poll("the service to say where its directories are", async () => {
      const { logs } = await m!.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "50", "writer");
      return logs.some((l) => l.text === `told ${runtime} ${state}`);
    });
    expect(mode(runtime)).toBe(0o700);
    expect(mode(state)).toBe(0o750);
    expect(mode(join(state, ".."))).toBe(0o755); // the directories above: 0755
    expect((await m!.ctl("stop", "writer")).code).toBe(0);
    await poll("the runtime directory to go", () => !existsSync(runtime));
    expect(readFileSync(join(state, "data"), "utf8")).toBe("kept\n");
  });

  test('runtime_directory_preserve = "yes": the runtime directory outlives the stop', async () => {
    const { runtime } = await startWith({ writer: writer('runtime_directory_preserve = "yes"') });
    expect((await m!.ctl("start", "writer")).code).toBe(0);
    await poll("the service's files", () => existsSync(join(runtime, "pid")));
    expect((await m!.ctl("stop", "writer")).code).toBe(0);
    expect((await m!.unit("writer")).active).toBe("inactive");
    expect(readFileSync(join(runtime, "pid"), "utf8")).toBe("run\n");
  });

  test.skipIf(process.getuid?.() !== 0)("user = nobody: the directories are nobody's, and it can write in them", async () => {
    const { runtime, state } = await startWith({ writer: writer('user = "nobody"') });
    expect((await m!.ctl("start", "writer")).code).toBe(0);
    await poll("the service's files", () => existsSync(join(runtime, "pid")) && existsSync(join(state, "data")));
    const nobody = statSync(join(runtime, "pid")).uid;
    expect(nobody).not.toBe(0);
    expect(statSync(runtime).uid).toBe(nobody);
    expect(statSync(state).uid).toBe(nobody);
    expect(statSync(join(state, "..")).uid).toBe(0); // the directories above stay root's
  });

  test("a unit whose runtime directory cannot be made fails to start, saying why", async () => {
    const { runtime } = await startWith({ writer: writer() });
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(join(runtime, ".."), { recursive: true });
    writeFileSync(runtime, "a file in the way");
    expect((await m!.ctl("start", "writer")).code).not.toBe(0);
    await m!.waitForOutput(/runtime_directory .*writer: .*exists and is not a directory/);
    expect(readFileSync(runtime, "utf8")).toBe("a file in the way");
  });
});
