// The mount sandbox through `hearth run`, seen from inside: units that use each directive
// try what it forbids (a write, an open, a listing, an exec) and print what happened; the
// test reads it back with `hearth ctl logs`. Needs root (mount namespaces).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, openFds, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { oneshot, report as reportOf } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
// Not below /tmp, which private_tmp replaces, nor /home or /root, which protect_home hides.
const work = mkdtempSync(join(existsSync("/run") ? "/run" : "/dev/shm", "hearth-sandbox-mounts-"));

/** What a unit printed, one line each, after starting it. */
const report = (unit: string) => reportOf(m, unit);

/** "ok" when the command succeeds, else its error output: one line per try. */
const attempt = (label: string, command: string) => `echo "${label}: $( (${command}) 2>&1 >/dev/null && echo ok)"`;

function answer(lines: string[], label: string): string {
  const line = lines.find((l) => l.startsWith(`${label}: `));
  if (line === undefined) throw new Error(`no ${label} in:\n${lines.join("\n")}`);
  return line.slice(label.length + 2);
}

/** The mount options (field 6) of the mount at path in mountinfo lines. */
const mountOptions = (path: string) => `awk '$5 == "${path}" { print "${path} " $6 }' /proc/self/mountinfo`;

beforeAll(async () => {
  for (const dir of ["rw", "src", "tfs", "noexec", "noexec/exec"]) mkdirSync(join(work, dir));
  writeFileSync(join(work, "src", "file"), "from the source");
  writeFileSync(join(work, "tfs", "hidden"), "under the tmpfs");
  for (const dir of ["noexec", "noexec/exec"]) {
    writeFileSync(join(work, dir, "run.sh"), "#!/bin/sh\necho ran\n");
    chmodSync(join(work, dir, "run.sh"), 0o755);
  }
  conf = writeConf({
    strict: oneshot(
      [
        attempt("usr", "touch /usr/hearth-sandbox-test"),
        attempt("etc", "touch /etc/hearth-sandbox-test"),
        attempt("rw", `touch ${work}/rw/file`),
        attempt("runtime", 'touch "$RUNTIME_DIRECTORY/file"'),
        attempt("devshm", "touch /dev/shm/hearth-sandbox-test && rm /dev/shm/hearth-sandbox-test"),
      ].join("; "),
      'protect_system = "strict"',
      `read_write_paths = ["${work}/rw", "-/nonexistent/hearth"]`,
      'runtime_directory = ["hearth-sandbox-strict"]',
    ),
    "strict-tmp": oneshot([attempt("tmp", "touch /tmp/file"), attempt("var-tmp", "touch /var/tmp/file")].join("; "), 'protect_system = "strict"', "private_tmp = true"),
    full: oneshot(
      [attempt("usr", "touch /usr/hearth-sandbox-test"), attempt("etc", "touch /etc/hearth-sandbox-test"), attempt("rw", `touch ${work}/rw/full`)].join("; "),
      'protect_system = "full"',
    ),
    "home-hidden": oneshot(
      [`echo "home: $(ls -A /home | wc -l)"`, `echo "root: $(ls -A /root | wc -l)"`, `echo "mode: $(stat -c %%a /root)"`].join("; "),
      "protect_home = true",
    ),
    "home-read-only": oneshot(
      [`echo "home: $(ls -A /home | wc -l)"`, attempt("write", "touch /home/hearth-sandbox-test")].join("; "),
      'protect_home = "read-only"',
    ),
    "home-tmpfs": oneshot(
      [`echo "home: $(ls -A /home | wc -l)"`, attempt("write", "touch /home/hearth-sandbox-test")].join("; "),
      'protect_home = "tmpfs"',
    ),
    devices: oneshot(
      [
        'echo "dev: $(ls /dev | tr "\\n" " ")"',
        attempt("null", "echo x > /dev/null"),
        attempt("urandom", "head -c 4 /dev/urandom"),
        attempt("mknod", "mknod /dev/shm/hearth-sandbox-node c 1 3"),
      ].join("; "),
      "private_devices = true",
    ),
    kernel: oneshot(
      [
        attempt("sysctl", "v=$(cat /proc/sys/kernel/printk_ratelimit) && echo $v > /proc/sys/kernel/printk_ratelimit"),
        mountOptions("/proc/sys"),
        mountOptions("/sys"),
        attempt("kallsyms", "cat /proc/kallsyms"),
        attempt("kmsg", "cat /proc/kmsg"),
        attempt("modules", "ls /lib/modules /usr/lib/modules"),
        mountOptions("/sys/fs/cgroup"),
      ].join("; "),
      "protect_kernel_tunables = true",
      "protect_kernel_modules = true",
      "protect_kernel_logs = true",
      "protect_control_groups = true",
    ),
    "proc-subset": oneshot(
      [attempt("meminfo", "cat /proc/meminfo"), attempt("self", "cat /proc/self/stat"), `echo "owners: $(stat -c %%U /proc/[0-9]* | sort -u | tr "\n" " ")"`].join("; "),
      'proc_subset = "pid"',
      'protect_proc = "invisible"',
      'user = "nobody"',
      'working_directory = "/"',
    ),
    paths: oneshot(
      [
        `echo "tfs: $(ls -A ${work}/tfs | wc -l)"`,
        attempt("tfs-write", `touch ${work}/tfs/file`),
        attempt("bind", `cat ${work}/dst/file`),
        attempt("bind-ro", `touch ${work}/ro-dst/new`),
        attempt("noexec", `${work}/noexec/run.sh`),
        attempt("exec", `${work}/noexec/exec/run.sh`),
      ].join("; "),
      `temporary_file_system = ["${work}/tfs:ro"]`,
      `bind_paths = ["${work}/src:${work}/dst"]`,
      `bind_read_only_paths = ["${work}/src:${work}/ro-dst", "-/nonexistent/hearth:${work}/ro-dst"]`,
      `no_exec_paths = ["${work}/noexec"]`,
      `exec_paths = ["${work}/noexec/exec"]`,
    ),
    "ns-shared": `
[service]
exec_start_pre = [["/bin/sh", "-c", "echo pre $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/net)"]]
exec_start = ["/bin/sh", "-c", "echo main $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/net); exec sleep 60"]
protect_system = "strict"
private_network = true
`,
    "tmp-shared": `
[service]
type = "oneshot"
exec_start_pre = [["/bin/sh", "-c", "echo left by exec_start_pre > /tmp/note; echo pre $(readlink /proc/self/ns/mnt)"]]
exec_start = ["/bin/sh", "-c", "cat /tmp/note; echo main $(readlink /proc/self/ns/mnt)"]
private_tmp = true
`,
  });
  mkdirSync(join(work, "dst"));
  mkdirSync(join(work, "ro-dst"));
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

const EROFS = "Read-only file system";

describe.skipIf(!isRoot)("mount sandboxing, seen from inside the service", () => {
  test('protect_system = "strict": the whole tree read-only but read_write_paths, the runtime directory, the private /tmp and /dev', async () => {
    const lines = await report("strict");
    expect(answer(lines, "usr")).toContain(EROFS);
    expect(answer(lines, "etc")).toContain(EROFS);
    expect(answer(lines, "rw")).toBe("ok");
    expect(answer(lines, "runtime")).toBe("ok");
    expect(answer(lines, "devshm")).toBe("ok");
    expect(existsSync("/usr/hearth-sandbox-test")).toBe(false);
    expect(existsSync(join(work, "rw", "file"))).toBe(true);
    const tmp = await report("strict-tmp");
    expect(answer(tmp, "tmp")).toBe("ok");
    if (existsSync("/var/tmp")) expect(answer(tmp, "var-tmp")).toBe("ok");
  });

  test('protect_system = "full": /usr and /etc read-only, the rest writable', async () => {
    const lines = await report("full");
    expect(answer(lines, "usr")).toContain(EROFS);
    expect(answer(lines, "etc")).toContain(EROFS);
    expect(answer(lines, "rw")).toBe("ok");
  });

  test("protect_home = true: /home and /root empty, mode 000", async () => {
    const lines = await report("home-hidden");
    expect(answer(lines, "home")).toBe("0");
    expect(answer(lines, "root")).toBe("0");
    expect(answer(lines, "mode")).toBe("0");
  });

  test.skipIf(!existsSync("/home"))('protect_home = "read-only" and "tmpfs"', async () => {
    const readOnly = await report("home-read-only");
    expect(answer(readOnly, "home")).toBe(String(readdirSync("/home").length));
    expect(answer(readOnly, "write")).toContain(EROFS);
    const tmpfs = await report("home-tmpfs");
    expect(answer(tmpfs, "home")).toBe("0");
    expect(answer(tmpfs, "write")).toContain(EROFS);
  });

  test("private_devices: a /dev with the pseudo devices only; no mknod", async () => {
    const lines = await report("devices");
    const dev = answer(lines, "dev").trim().split(" ");
    for (const node of ["null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd", "stdin"]) expect(dev).toContain(node);
    for (const real of ["kmsg", "mem", "console", "loop0", "sda", "vda", "nvme0", "tty0", "rtc0"]) expect(dev).not.toContain(real);
    expect(answer(lines, "null")).toBe("ok");
    expect(answer(lines, "urandom")).toBe("ok");
    expect(answer(lines, "mknod")).not.toBe("ok"); // CAP_MKNOD is out of the bounding set
  });

  test("protect_kernel_tunables, _modules, _logs and protect_control_groups", async () => {
    const lines = await report("kernel");
    expect(answer(lines, "sysctl")).toContain(EROFS);
    expect(lines.find((l) => l.startsWith("/proc/sys "))).toMatch(/^\/proc\/sys ro[,$]/);
    expect(lines.find((l) => l.startsWith("/sys "))).toMatch(/^\/sys ro[,$]/);
    expect(answer(lines, "kallsyms")).toContain("Permission denied");
    expect(answer(lines, "kmsg")).toContain("Permission denied");
    expect(answer(lines, "modules")).not.toBe("ok");
    const cgroup = lines.find((l) => l.startsWith("/sys/fs/cgroup "));
    if (cgroup) expect(cgroup).toMatch(/^\/sys\/fs\/cgroup ro[,$]/);
  });

  test('proc_subset = "pid" with protect_proc = "invisible": no kernel files, only its own processes', async () => {
    const lines = await report("proc-subset");
    expect(answer(lines, "meminfo")).toContain("No such file");
    expect(answer(lines, "self")).toBe("ok");
    expect(answer(lines, "owners").trim()).toBe("nobody"); // root's processes (hearth's, for one) are not shown
  });

  test("temporary_file_system, bind_paths, bind_read_only_paths, no_exec_paths and exec_paths", async () => {
    const lines = await report("paths");
    expect(answer(lines, "tfs")).toBe("0");
    expect(answer(lines, "tfs-write")).toContain(EROFS);
    expect(answer(lines, "bind")).toBe("ok");
    expect(answer(lines, "bind-ro")).toContain(EROFS);
    expect(answer(lines, "noexec")).toContain("Permission denied");
    expect(answer(lines, "exec")).toBe("ok");
  });

  test("a unit's processes share one mount namespace and one network namespace, made by the first, held by the manager while the unit runs", async () => {
    expect((await m.ctl("start", "ns-shared")).code).toBe(0);
    const logged = async () => (await m.ctlJson<{ logs: { text: string }[] }>("logs", "ns-shared")).logs.map((l) => l.text);
    const lines = await poll("the main process to say its namespace", async () => {
      const now = await logged();
      return now.some((l) => l.startsWith("main ")) ? now : null;
    });
    const ns = (who: string) => lines.find((l) => l.startsWith(`${who} `))!.slice(who.length + 1).split(" ");
    expect(ns("main")).toEqual(ns("pre"));
    expect(ns("main")).not.toContain(readlinkSync("/proc/self/ns/mnt"));
    expect(ns("main")).not.toContain(readlinkSync("/proc/self/ns/net"));
    // The manager's fds keep the pre process's namespaces alive: main's are those, not new ones with their numbers.
    const held = () => openFds(m.proc.pid).filter((fd) => ns("main").some((n) => fd.endsWith(n)));
    expect(held()).toHaveLength(2);
    expect((await m.ctl("stop", "ns-shared")).code).toBe(0);
    expect(held()).toEqual([]);
  });

  test("private_tmp is the unit's: exec_start sees what exec_start_pre left, and it is removed when the unit stops", async () => {
    const lines = await report("tmp-shared");
    expect(lines).toContain("left by exec_start_pre");
    await m.waitForState("tmp-shared", "inactive");
    const left = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("hearth-private-tmp-shared")) : []);
    expect([...left("/tmp"), ...left("/var/tmp")]).toEqual([]);
  });
});
