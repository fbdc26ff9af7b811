// private_users (systemd's PrivateUsers=) through `hearth run`, seen from inside: each
// process gets a user namespace of its own where root and the unit's user and group map
// to themselves and every other id shows as nobody; it holds no capability outside it,
// so the host's hostname and privileged ports are out of reach even for root; the
// mounts and the bounding set still apply. Needs root (the maps of other ids).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { oneshot, report as reportOf } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
const work = mkdtempSync(join("/run", "hearth-private-users-"));
const OVERFLOW_ID = 65534; // /proc/sys/kernel/overflowuid: what an unmapped id reads as

/** One "label: value" line per probe. */
const probes = [
  'echo "uid_map: $(tr -s " " < /proc/self/uid_map | sed "s/^ //" | tr "\\n" ";")"',
  'echo "gid_map: $(tr -s " " < /proc/self/gid_map | sed "s/^ //" | tr "\\n" ";")"',
  'echo "id: $(id -u):$(id -g)"',
  `echo "owner: $(stat -c %%u:%%g ${work}/foreign)"`,
  'echo "bounding: $(awk \'/^CapBnd/ { print $2 }\' /proc/self/status)"',
  'echo "hostname: $(hostname hearth-private-users 2>/dev/null && echo changed || echo refused)"',
  // a privileged port of the host's network namespace, owned by the host's user namespace
  `echo "port: $(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 917)); print("bound")' 2>&1 | tail -n 1)"`,
  'echo "usr: $(touch /usr/hearth-private-users 2>/dev/null && echo written || echo refused)"',
].join("; ");

const report = async (unit: string) => {
  const lines = await reportOf(m, unit);
  return Object.fromEntries(lines.filter((l) => /^[a-z_]+: /.test(l)).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
};

beforeAll(async () => {
  chmodSync(work, 0o755); // the daemon user reads in it too
  writeFileSync(join(work, "foreign"), "");
  chownSync(join(work, "foreign"), 4242, 4243);
  conf = writeConf({
    "as-root": oneshot(probes, "private_users = true", 'protect_system = "strict"'),
    "as-daemon": oneshot(probes, "private_users = true", 'user = "daemon"', 'group = "daemon"'),
    bounded: oneshot(probes, "private_users = true", 'capability_bounding_set = ["CAP_NET_BIND_SERVICE"]'),
    unconfined: oneshot(probes.replace("hostname hearth-private-users", "hostname"), 'protect_system = "strict"'),
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe.skipIf(!isRoot)("private_users, seen from inside the service", () => {
  test("root in its own user namespace: only root is mapped, a stranger's file is nobody's, the host's hostname and port 917 are refused", async () => {
    const r = await report("as-root");
    expect(r.uid_map).toBe("0 0 1;");
    expect(r.gid_map).toBe("0 0 1;");
    expect(r.id).toBe("0:0");
    expect(r.owner).toBe(`${OVERFLOW_ID}:${OVERFLOW_ID}`);
    expect(r.hostname).toBe("refused");
    expect(r.port).toContain("Permission denied");
    expect(r.usr).toBe("refused"); // the mounts were made before the namespace, with the manager's rights
  });

  test("a unit's user and group are mapped to themselves beside root, and it runs as them", async () => {
    const r = await report("as-daemon");
    expect(r.uid_map).toBe("0 0 1;1 1 1;");
    expect(r.gid_map).toBe("0 0 1;1 1 1;");
    expect(r.id).toBe("1:1");
    expect(r.owner).toBe(`${OVERFLOW_ID}:${OVERFLOW_ID}`);
  });

  test("the bounding set is dropped inside the namespace (the kernel gives a new one a full set)", async () => {
    const r = await report("bounded");
    expect(r.bounding).toBe("0000000000000400"); // CAP_NET_BIND_SERVICE, bit 10
    expect(r.port).toContain("Permission denied"); // the capability counts only in its own namespace
  });

  test("without it: the host's maps, and the stranger's file shows its real owner", async () => {
    const r = await report("unconfined");
    expect(r.uid_map).toBe("0 0 4294967295;");
    expect(r.owner).toBe("4242:4243");
    expect(r.port).not.toContain("Permission denied");
  });

  test("analyze security counts it: a check mark with it, the exposure named without it", async () => {
    expect((await m.ctl("analyze", "security", "as-root")).stdout).toMatch(/^✓ private_users\s*$/m);
    expect((await m.ctl("analyze", "security", "unconfined")).stdout).toMatch(/^✗ private_users\s+Service has access to other users\s+\d/m);
  });
});
