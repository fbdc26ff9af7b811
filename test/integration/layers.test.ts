// Layered configuration under `hearth run`: a vendor layer (--vendor-units, read-only for
// real in a private mount namespace), the admin layer CONFDIR/units, the runtime layer
// RUNDIR/units; drop-ins; hearth ctl cat, enable, disable, mask, unmask; hearth check.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, hearthCommand, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let managers: RunningManager[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const m of managers) if (m.running) await m.stop();
  for (const m of managers) cleanup(m);
  cleanup(null, ...dirs);
  managers = [];
  dirs = [];
});

function write(path: string, text: string) {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

/** Every file under dir with its text (or link target), to see that nothing changed there. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = e.isSymbolicLink() ? `-> ${readlinkSync(p)}` : `${statSync(p).mode.toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(dir);
  return out;
}

const SAYS_MODE = (extra = "") => `[unit]
wanted_by = ["multi-user"]
${extra}
[service]
exec_start = ["/bin/sh", "-c", "echo mode=$MODE extra=$EXTRA; exec sleep 1000"]
environment = { MODE = "vendor", EXTRA = "none" }
`;

/** A vendor layer with web (wanted by multi-user) and its vendor drop-in, and an admin CONFDIR. */
function layered(): { vendor: string; conf: string } {
  const vendor = tempDir("vendor");
  const conf = writeConf({});
  dirs.push(vendor, conf);
  write(`${vendor}/web.toml`, SAYS_MODE());
  write(`${vendor}/web.toml.d/10-vendor.toml`, `[service]\nenvironment = { EXTRA = "vendor-dropin" }\n`);
  write(`${vendor}/db.toml`, SAYS_MODE());
  return { vendor, conf };
}

/** `hearth run` whose vendor layer is mounted read-only in a mount namespace of its own. */
async function startReadOnlyVendor(conf: string, vendor: string): Promise<RunningManager> {
  const script = `mount --bind "${vendor}" "${vendor}" && mount -o remount,bind,ro "${vendor}" && exec "$@"`;
  const m = await startManager(conf, ["--vendor-units", vendor], { wrapper: ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] });
  managers.push(m);
  return m;
}

describe("layers and drop-ins", () => {
  test("the admin's file replaces the vendor's, drop-ins of every layer merge in file-name order, and hearth ctl cat shows them", async () => {
    const { vendor, conf } = layered();
    write(`${conf}/units/db.toml`, SAYS_MODE().replace('"vendor"', '"admin-file"'));
    write(`${conf}/units/web.toml.d/20-admin.toml`, `[service]\nenvironment = { MODE = "admin" }\n`);
    const m = await startManager(conf, ["--vendor-units", vendor]);
    managers.push(m);
    await m.waitForState("web", "active");
    expect(await m.ctl("logs", "web").then((r) => r.stdout)).toContain("mode=admin extra=vendor-dropin");
    expect(await m.ctl("logs", "db").then((r) => r.stdout)).toContain("mode=admin-file extra=none");

    const cat = await m.ctl("cat", "web");
    expect(cat.code).toBe(0);
    const headers = cat.stdout.split("\n").filter((l) => l.startsWith("# /"));
    expect(headers).toEqual([`# ${vendor}/web.toml`, `# ${vendor}/web.toml.d/10-vendor.toml`, `# ${conf}/units/web.toml.d/20-admin.toml`]);
    expect(cat.stdout).toContain('environment = { MODE = "admin" }');
    expect((await m.ctl("cat", "nosuch")).code).toBe(4);

    // The runtime layer, RUNDIR/units, comes last: its drop-in wins, from the next start on.
    write(`${m.runDir}/units/web.toml.d/30-run.toml`, `[service]\nenvironment = { MODE = "runtime" }\n`);
    expect((await m.ctl("daemon-reload")).code).toBe(0);
    expect((await m.ctl("restart", "web")).code).toBe(0);
    const running = m;
    await poll("the runtime drop-in's value", async () => (await running.ctl("logs", "web")).stdout.includes("mode=runtime extra=vendor-dropin"));
  });

  test("hearth check reports a bad value at the FILE:LINE:COL of the drop-in that set it", async () => {
    const { vendor, conf } = layered();
    write(`${conf}/units/web.toml.d/20-admin.toml`, `# tuning\n[service]\nrestart = "sometimes"\n`);
    const p = Bun.spawn([...hearthCommand(), "check", "-c", conf, "--vendor-units", vendor], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(1);
    expect(out).toContain(`${conf}/units/web.toml.d/20-admin.toml:3:11: error: restart:`);
    expect(out).not.toContain(`${vendor}/web.toml:`);
  });

  test("enable, disable, mask and unmask write the admin layer only; the read-only vendor layer is left as it was", async () => {
    const { vendor, conf } = layered();
    const before = tree(vendor);
    let m = await startReadOnlyVendor(conf, vendor);
    await m.waitForState("web", "active");
    // Read-only for real in the manager's mount namespace.
    const mounts = readFileSync(`/proc/${m.proc.pid}/mountinfo`, "utf8").split("\n").filter((l) => l.split(" ")[4] === vendor);
    expect(mounts.length).toBeGreaterThan(0);
    expect(mounts.at(-1)!.split(" ")[5]!.split(",")).toContain("ro");
    const webPid = (await m.unit("web")).mainPid;
    expect((await m.ctl("disable", "web")).code).toBe(0);
    expect(readFileSync(`${conf}/units/web.toml.d/zz-hearth-disable.toml`, "utf8")).toContain("wanted_by = []");
    // Reloaded at once (as systemctl): web keeps running, its configuration is marked changed.
    expect((await m.unit("web")).mainPid).toBe(webPid);
    expect((await m.unit("web")).changedOnDisk).toBe(true);
    expect((await m.ctl("mask", "db")).code).toBe(0);
    expect(readlinkSync(`${conf}/units/db.toml`)).toBe("/dev/null");
    // A masked unit is not loaded: stopped by the reload, refused a start, shown as masked.
    await m.waitForState("db", "inactive");
    const start = await m.ctl("start", "db");
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("unit db is masked");
    expect((await m.ctl("status", "db")).stdout).toContain("Loaded: masked");
    expect((await m.ctl("cat", "db")).stdout).toContain("is masked");
    await m.stop();

    // As after a reboot: web is pulled in by nothing, db still masked.
    m = await startReadOnlyVendor(conf, vendor);
    expect((await m.unit("web")).active).toBe("inactive");
    expect((await m.unit("db")).load).toBe("masked");
    expect((await m.ctl("enable", "web")).code).toBe(0);
    expect((await m.ctl("unmask", "db")).code).toBe(0);
    await m.waitForState("db", "active"); // back in the configuration, wanted by the active target
    await m.stop();

    m = await startReadOnlyVendor(conf, vendor);
    await m.waitForState("web", "active");
    await m.waitForState("db", "active");
    expect(tree(vendor)).toEqual(before);
    expect(readdirSync(`${conf}/units`)).toEqual([]); // enable and unmask took back what they wrote
  });
});
