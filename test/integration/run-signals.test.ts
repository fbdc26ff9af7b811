// `hearth run` stopped by a signal the moment it is up: a user's `hearth run & ... kill`,
// or a test harness. The control socket tells the world it is up, so from then on a
// SIGTERM must stop it cleanly (exit 0, its cgroups removed), never kill it. Raw spawns,
// not startManager: the harness's own start-up reads would widen the moment.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cleanup, hearthCommand, poll, tempDir, writeConf } from "../support/harness.ts";
import { clearLeftovers } from "../support/procs.ts";

test("SIGTERM as soon as the control socket exists stops the manager cleanly, every time", async () => {
  const conf = writeConf({});
  const results: string[] = [];
  for (let i = 0; i < 10; i++) {
    const runDir = tempDir("run");
    const p = Bun.spawn([...hearthCommand(), "run", "-c", conf, "-r", runDir], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const output = Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]).then((o) => o.join(""));
    await poll("the control socket", () => existsSync(join(runDir, "control.sock")), { intervalMs: 1 });
    p.kill("SIGTERM");
    const code = await p.exited;
    const cgroup = /Tracking services in cgroups under (\S+)/.exec(await output)?.[1];
    const left = cgroup && existsSync(cgroup) ? `, left ${cgroup}` : "";
    results.push(p.signalCode !== null ? `${p.signalCode}${left}` : `exit ${code}${left}`);
    if (left) await clearLeftovers([], cgroup!);
    cleanup(null, runDir);
  }
  cleanup(null, conf);
  expect(results).toEqual(Array(10).fill("exit 0"));
}, 60_000);
