// part_of and `hearth ctl isolate` through `hearth run`, with real processes.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

const daemon = (unit = "") => `${unit}\n[service]\nexec_start = "/bin/sleep 600"\n`;

beforeAll(async () => {
  conf = writeConf({
    server: daemon(),
    helper: daemon('[unit]\npart_of = ["server"]'),
    web: daemon('[unit]\nwanted_by = ["multi-user"]'),
    logger: daemon('[unit]\nwanted_by = ["multi-user"]\nignore_on_isolate = true'),
    shell: daemon(),
    maintenance: '[unit]\nwants = ["shell"]\nallow_isolate = true\n',
    plain: '[unit]\nwants = ["shell"]\n',
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("part_of", () => {
  test("stopping the unit it names stops it; restarting restarts it; not the other way", async () => {
    expect((await m.ctl("start", "server", "helper")).code).toBe(0);
    const pid = (await m.unit("helper")).mainPid;
    expect((await m.ctl("restart", "server")).code).toBe(0);
    const after = await m.waitForState("helper", "active");
    expect(after.mainPid).not.toBe(pid);
    expect((await m.ctl("stop", "helper")).code).toBe(0);
    expect((await m.unit("server")).active).toBe("active");
    expect((await m.ctl("start", "helper")).code).toBe(0);
    expect((await m.ctl("stop", "server")).code).toBe(0);
    await m.waitForState("helper", "inactive");
  });
});

describe("hearth ctl isolate", () => {
  test("a target without allow_isolate is refused", async () => {
    const r = await m.ctl("isolate", "plain");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("plain may not be isolated");
    expect((await m.unit("web")).active).toBe("active");
  });

  test("starts the target with what it pulls in, stops the rest but ignore_on_isolate units; and back", async () => {
    expect((await m.ctl("isolate", "maintenance")).code).toBe(0);
    expect((await m.unit("shell")).active).toBe("active");
    await m.waitForState("web", "inactive");
    expect((await m.unit("multi-user")).active).toBe("inactive");
    expect((await m.unit("logger")).active).toBe("active");
    expect((await m.ctl("isolate", "multi-user")).code).toBe(0);
    expect((await m.unit("web")).active).toBe("active");
    await m.waitForState("shell", "inactive");
    await m.waitForState("maintenance", "inactive");
  });
});
