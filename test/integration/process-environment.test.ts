// unset_environment (systemd's UnsetEnvironment=), working_directory = "-PATH" and non_blocking
// under `hearth run`: what the service's process really gets, read back from its output.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, startManager, writeConf } from "../support/harness.ts";
import { oneshot, report } from "../support/reporting-units.ts";

describe("unset_environment", () => {
  test("a name goes whoever set it (the manager, environment, environment_file); NAME=VALUE only with that value", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-unset-env-"));
    writeFileSync(join(dir, "env"), "FROM_FILE=file\nKEPT_FILE=kept\n");
    const conf = writeConf({
      getty: oneshot(
        'echo "LANG=${LANG-unset} LC_TIME=${LC_TIME-unset} FROM_FILE=${FROM_FILE-unset} KEPT_FILE=${KEPT_FILE-unset} A=${A-unset} B=${B-unset} INVOCATION_UNIT=${INVOCATION_UNIT-unset}"',
        'environment = { LC_TIME = "C", A = "1", B = "2" }',
        `environment_file = ["${dir}/env"]`,
        'unset_environment = ["LANG", "LC_TIME", "FROM_FILE", "A=1", "B=3", "INVOCATION_UNIT"]',
      ),
    });
    const m = await startManager(conf, [], { env: { LANG: "de_DE.UTF-8" } });
    try {
      expect(await report(m, "getty")).toEqual(["LANG=unset LC_TIME=unset FROM_FILE=unset KEPT_FILE=kept A=unset B=2 INVOCATION_UNIT=unset"]);
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, dir);
    }
  });
});

describe("working_directory with a leading -", () => {
  test("a missing directory is no error: the process starts in /; one that is there is used", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-wd-"));
    const conf = writeConf({
      missing: oneshot("pwd", `working_directory = "-${dir}/nowhere"`),
      there: oneshot("pwd", `working_directory = "-${dir}"`),
      strict: oneshot("pwd", `working_directory = "${dir}/nowhere"`),
    });
    const m = await startManager(conf);
    try {
      expect(await report(m, "missing")).toEqual(["/"]);
      expect(await report(m, "there")).toEqual([dir]);
      expect((await m.ctl("start", "strict")).code).not.toBe(0);
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, dir);
    }
  });
});

describe("non_blocking", () => {
  // fdinfo's flags are octal; O_NONBLOCK is 04000.
  const SHOW = 'for fd in 3 4; do echo "$fd $(( $(sed -n "s/^flags:\\t//p" /proc/self/fdinfo/$fd) & 04000 ))"; done';

  test("the listening sockets reach the main process with O_NONBLOCK set; without the key they are blocking", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-nonblock-"));
    const sockets = (name: string) => `[[socket]]\nlisten_stream = "${dir}/${name}.sk"\n[[socket]]\nlisten_datagram = "${dir}/${name}.dg"\n`;
    const conf = writeConf({
      lvmpolld: `${oneshot(SHOW, "non_blocking = true")}\n${sockets("a")}`,
      plain: `${oneshot(SHOW)}\n${sockets("b")}`,
    });
    const m = await startManager(conf);
    try {
      expect(await report(m, "lvmpolld")).toEqual(["3 2048", "4 2048"]);
      expect(await report(m, "plain")).toEqual(["3 0", "4 0"]);
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, dir);
    }
  });
});

describe("guess_main_pid = false", () => {
  test("a forking daemon is not taken as the main process; the unit stays up while it runs and goes down after it", async () => {
    const conf = writeConf({
      "rc-local": `[service]\ntype = "forking"\nguess_main_pid = false\nexec_start = ["sh", "-c", "sleep 1.5 & exit 0"]\n`,
    });
    const m = await startManager(conf);
    try {
      expect((await m.ctl("start", "rc-local")).code).toBe(0);
      const up = await m.unit("rc-local");
      expect(up.active).toBe("active");
      expect(up.mainPid ?? null).toBeNull();
      await m.waitForState("rc-local", "inactive");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});
