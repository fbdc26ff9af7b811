// load_credential / set_credential under `hearth run`: what the process finds in
// $CREDENTIALS_DIRECTORY, and that the directory goes when the unit is down.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, startManager, writeConf } from "../support/harness.ts";
import { oneshot, report } from "../support/reporting-units.ts";

describe("credentials", () => {
  test("files copied in, from a path, the manager's own credentials and set_credential; 0500/0400; gone at stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-creds-"));
    const own = join(dir, "manager-creds");
    mkdirSync(own);
    writeFileSync(join(own, "tmpfiles.extra"), "d /run/x 0755\n");
    writeFileSync(join(dir, "key"), "s3cret");
    const conf = writeConf({
      app: oneshot(
        'cd "$CREDENTIALS_DIRECTORY" && echo "dir=$CREDENTIALS_DIRECTORY" && stat -c "%%n %%a" . * && for f in *; do echo "$f: $(cat $f)"; done',
        "remain_after_exit = true",
        `load_credential = ["key:${dir}/key", "tmpfiles.extra", "login.motd"]`,
        'set_credential = ["greeting:hello there", "key:overridden by the file"]',
      ),
      broken: oneshot("true", `load_credential = ["key:${dir}/missing"]`),
    });
    const m = await startManager(conf, [], { env: { CREDENTIALS_DIRECTORY: own } });
    try {
      const lines = await report(m, "app");
      const credDir = lines[0]!.slice("dir=".length);
      expect(credDir).toEndWith("/credentials/app");
      expect(lines.slice(1)).toEqual([
        ". 500", "greeting 400", "key 400", "tmpfiles.extra 400",
        "greeting: hello there", "key: s3cret", "tmpfiles.extra: d /run/x 0755",
      ]); // login.motd is in no store: skipped, as systemd
      expect(existsSync(credDir)).toBe(true);
      await m.ctl("stop", "app");
      await m.waitForState("app", "inactive");
      expect(existsSync(credDir)).toBe(false);
      const refused = await m.ctl("start", "broken");
      expect(refused.code).not.toBe(0);
      expect(m.text()).toContain(`load_credential key: ${dir}/missing: No such file or directory`);
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, dir);
    }
  });
});

describe("condition_credential", () => {
  test("holds when the manager was given the credential, else the start is skipped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-condcred-"));
    writeFileSync(join(dir, "sysusers.extra"), "u extra - -\n");
    const conf = writeConf({
      given: oneshot("echo ran", 'remain_after_exit = true').replace("[service]", '[unit]\ncondition_credential = ["|sysusers.extra", "|tmpfiles.extra"]\n[service]'),
      missing: oneshot("echo ran", 'remain_after_exit = true').replace("[service]", '[unit]\ncondition_credential = ["tmpfiles.extra"]\n[service]'),
    });
    const m = await startManager(conf, [], { env: { CREDENTIALS_DIRECTORY: dir } });
    try {
      expect((await m.ctl("start", "given")).code).toBe(0);
      expect((await m.unit("given")).active).toBe("active");
      expect((await m.ctl("start", "missing")).code).toBe(0); // skipped, not failed
      expect((await m.unit("missing")).active).toBe("inactive");
      expect((await m.ctl("status", "missing")).stdout).toContain("condition_credential");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf, dir);
    }
  });
});
