// The sandboxing test's part of a board image (test/boot/sandbox.test.ts): the probe
// (test/peers/sandbox-probe.c, compiled statically for the board) and confined units
// that try, from inside, what their directives forbid. None is wanted by a target: the
// example boots as before; `hearth.wants=sandbox-report` on the kernel command line runs
// them and prints what each saw on the console.

import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Board } from "./board.ts";
import { installWithLibraries } from "./libs.ts";
import { unpackPackage } from "./rootfs.ts";
import { importUnits, formatNote, renderUnit } from "../../src/import/importer.ts";
import { disableUnit } from "../../src/control/unit-files.ts";

const REPO = resolve(import.meta.dir, "../..");
export const PROBE_PATH = "/usr/libexec/hearth/sandbox-probe";

/** "LABEL: ok" when the command succeeds, else "LABEL: " and its error output. */
const attempt = (label: string, command: string) => `echo "${label}: $( (${command}) 2>&1 >/dev/null && echo ok)"`;

/** A oneshot running a shell script; what it prints goes to its log, read by sandbox-report. */
function oneshot(description: string, script: string[], ...lines: string[]): string {
  return `# ${description} (test/boot/sandbox.test.ts; not started by default)
[unit]
description = "${description}"

[service]
type = "oneshot"
remain_after_exit = true
exec_start = ["/bin/sh", "-c", ${JSON.stringify(script.join("\n"))}]
${lines.join("\n")}
`;
}

/** Each line the probe prints, prefixed so the console tells the units apart. */
const probe = (prefix: string, ...tries: string[]) =>
  `${PROBE_PATH} ${tries.join(" ")} | while read line; do echo "${prefix} $line"; done`;

const SECCOMP = oneshot("seccomp and namespace directives, seen from inside", [
  'echo "sbx-seccomp $(grep ^Seccomp: /proc/self/status)"',
  probe("sbx-seccomp", "socket-packet", "socket-inet", "mmap-wx", "mprotect-x", "personality", "unshare-user",
    "clock-settime", "sethostname", "swapon", "getpid"),
],
'restrict_address_families = ["AF_UNIX AF_INET AF_INET6"]',
"memory_deny_write_execute = true",
"lock_personality = true",
"restrict_namespaces = true",
"protect_clock = true",
"protect_hostname = true",
"restrict_realtime = true",
'system_call_architectures = ["native"]',
'system_call_filter = ["~@swap"]',
'system_call_error_number = "EROFS"');

/** An allow list without system_call_error_number: a call outside it kills the process by SIGSYS. */
const KILL = oneshot("an allow list that kills, seen from inside", [
  `{ ${PROBE_PATH} getpid swapon; echo "status: $?"; } | while read line; do echo "sbx-kill $line"; done`,
],
'system_call_filter = ["@system-service"]');

/** The same tries unconfined: the probe tells a refusal from a call the board's kernel lacks. */
const UNCONFINED = oneshot("the seccomp tries, unconfined", [
  'echo "sbx-unconfined $(grep ^Seccomp: /proc/self/status)"',
  probe("sbx-unconfined", "socket-packet", "mmap-wx", "personality", "clock-settime", "swapon"),
]);

const MOUNTS = oneshot("mount sandbox directives, seen from inside", [
  attempt("sbx-mounts usr", "touch /usr/hearth-sandbox-test"),
  'echo "sbx-mounts home: $(ls -A /home 2>&1 | wc -l)"',
  'echo "sbx-mounts dev: $(ls /dev | tr "\\n" " ")"',
  attempt("sbx-mounts sysctl", "v=$(cat /proc/sys/kernel/printk_ratelimit) && echo $v > /proc/sys/kernel/printk_ratelimit"),
],
'protect_system = "strict"',
"protect_home = true",
"private_devices = true",
"private_tmp = true",
"protect_kernel_tunables = true");

/** An unconfined oneshot that starts UNITS, then runs SCRIPT with its output on the console. */
function reporter(comment: string, description: string, units: string[], script: string[]): string {
  const list = JSON.stringify(units);
  return `# ${comment} (test/boot/sandbox.test.ts)
[unit]
description = "${description}"
wants = ${list}
after = ${list}

[service]
type = "oneshot"
standard_input = "tty"
exec_start = ["/bin/sh", "-c", ${JSON.stringify(script.join("\n"))}]
`;
}

const CONFINED = ["sandbox-seccomp", "sandbox-kill", "sandbox-unconfined", "sandbox-mounts"];

/** Prints the confined units' logs on the console (it runs unconfined, after them). */
const REPORT = reporter("Runs the confined sandbox-* units and prints their logs on the console", "sandboxing, seen from inside: the report",
  CONFINED, [`for u in ${CONFINED.join(" ")}; do /usr/bin/hearth ctl logs -n 100 $u; done`, 'echo "sandbox-report: done"']);

/**
 * Debian's chrony, with the packages of the libraries chronyd and chronyc need (their
 * NEEDED, recursively: libs.ts checks each is found in these and fails naming one that is not).
 */
const CHRONY_PACKAGES = [
  "chrony", "libc6", "libcap2", "libseccomp2", "libnettle8", "libgnutls30", "libhogweed6", "libgmp10", "libidn2-0",
  "libunistring2", "libtasn1-6", "libp11-kit0", "libffi8", "libedit2", "libbsd0", "libmd0", "libtinfo6",
];

/** No network on the test board: no sources; chronyd keeps its drift file and answers chronyc on its socket. */
const CHRONY_CONF = `# hearth's test board (board/image/sandbox-extras.ts): no NTP sources, no network needed.
driftfile /var/lib/chrony/chrony.drift
cmdport 0
`;

/** Answers from outside chronyd: its state, its confinement, and chronyc over its socket. */
const CHRONY_REPORT = reporter("Starts Debian's chrony and prints how it runs on the console", "chrony under its own Debian unit, seen from outside",
  ["chrony"], [
    "pid=$(cat /run/chrony/chronyd.pid)",
  'echo "sbx-chrony state: $(/usr/bin/hearth ctl status chrony >/dev/null; echo $?)"',
  'echo "sbx-chrony pid: $pid $(cat /proc/$pid/comm)"',
  'echo "sbx-chrony $(grep ^Seccomp: /proc/$pid/status)"',
  'echo "sbx-chrony $(grep ^Seccomp_filters: /proc/$pid/status)"',
  'echo "sbx-chrony $(grep ^Uid: /proc/$pid/status)"',
  'echo "sbx-chrony mnt: $(readlink /proc/$pid/ns/mnt) $(readlink /proc/1/ns/mnt)"',
  "n=0; until /usr/bin/chronyc -n tracking > /tmp/tracking 2>&1 || [ $n -ge 30 ]; do n=$((n+1)); sleep 1; done",
  'while read line; do echo "sbx-chrony tracking $line"; done < /tmp/tracking',
  "/usr/bin/hearth ctl logs -n 20 chrony",
  'echo "sandbox-chrony: done"',
]);

/**
 * Debian's chronyd and chronyc with their libraries, its chrony.service imported by hearth
 * import unchanged into the vendor layer (/usr/lib/hearth/units), disabled as `hearth ctl
 * disable` does (the example's boot stays as it was), a config without sources, and the
 * _chrony user its postinst would add. Returns what the import dropped.
 */
function installDebianChrony(board: Board, root: string): string[] {
  const sysroots = CHRONY_PACKAGES.map((p) => unpackPackage(board, p));
  installWithLibraries(["/usr/sbin/chronyd", "/usr/bin/chronyc"], sysroots, root, board.arch);
  const chrony = sysroots[0]!;
  mkdirSync(join(root, "etc/default"), { recursive: true });
  copyFileSync(join(chrony, "etc/default/chrony"), join(root, "etc/default/chrony"));
  mkdirSync(join(root, "etc/chrony"), { recursive: true });
  writeFileSync(join(root, "etc/chrony/chrony.conf"), CHRONY_CONF);
  appendFileSync(join(root, "etc/passwd"), "_chrony:x:101:101:Chrony daemon:/var/lib/chrony:/bin/false\n");
  appendFileSync(join(root, "etc/group"), "_chrony:x:101:\n");
  const imported = importUnits([join(chrony, "lib/systemd/system/chrony.service")]);
  if (imported.errors.length > 0 || imported.units.length !== 1) throw new Error(`hearth import chrony.service: ${imported.errors.join("; ")}`);
  const vendor = join(root, "usr/lib/hearth/units");
  mkdirSync(vendor, { recursive: true });
  writeFileSync(join(vendor, "chrony.toml"), renderUnit(imported.units[0]!));
  const admin = join(root, "etc/hearth/units");
  const disabled = disableUnit("chrony", { vendor, admin, runtime: null });
  if (!disabled.ok) throw new Error(disabled.error);
  writeFileSync(join(admin, "sandbox-chrony.toml"), CHRONY_REPORT);
  return imported.notes.filter((n) => n.kind === "dropped").map(formatNote);
}

/** The probe, a home for protect_home to hide, and the units, into ROOT. */
export function installSandboxExtras(board: Board, root: string) {
  const out = join(root, PROBE_PATH);
  mkdirSync(dirname(out), { recursive: true });
  const argv = [board.cc, "-static", "-O2", "-Wall", "-o", out, join(REPO, "test/peers/sandbox-probe.c")];
  if (Bun.spawnSync(argv, { stdout: "inherit", stderr: "inherit" }).exitCode !== 0) throw new Error(`${argv.join(" ")} failed`);
  mkdirSync(join(root, "home/sandbox"), { recursive: true });
  writeFileSync(join(root, "home/sandbox/secret"), "protect_home hides this\n");
  const units = join(root, "etc/hearth/units");
  writeFileSync(join(units, "sandbox-seccomp.toml"), SECCOMP);
  writeFileSync(join(units, "sandbox-kill.toml"), KILL);
  writeFileSync(join(units, "sandbox-unconfined.toml"), UNCONFINED);
  writeFileSync(join(units, "sandbox-mounts.toml"), MOUNTS);
  writeFileSync(join(units, "sandbox-report.toml"), REPORT);
  // A real Debian daemon under its own unit on the aarch64 QEMU board only (about 4 MB).
  if (board.name === "qemu-aarch64") for (const note of installDebianChrony(board, root)) console.log(`rootfs: chrony.service: ${note}`);
}
