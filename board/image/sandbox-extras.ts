// The sandboxing test's part of a board image (test/boot/sandbox.test.ts): the probe
// (test/peers/sandbox-probe.c, compiled statically for the board) and confined units
// that try, from inside, what their directives forbid. None is wanted by a target: the
// example boots as before; `hearth.wants=sandbox-report` on the kernel command line runs
// them and prints what each saw on the console.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Board } from "./board.ts";

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

/** Prints the confined units' logs on the console (it runs unconfined, after them). */
const REPORT = `# Runs the confined sandbox-* units and prints their logs on the console (test/boot/sandbox.test.ts).
[unit]
description = "sandboxing, seen from inside: the report"
wants = ["sandbox-seccomp", "sandbox-unconfined", "sandbox-mounts"]
after = ["sandbox-seccomp", "sandbox-unconfined", "sandbox-mounts"]

[service]
type = "oneshot"
standard_input = "tty"
exec_start = ["/bin/sh", "-c", ${JSON.stringify([
  "for u in sandbox-seccomp sandbox-unconfined sandbox-mounts; do /usr/bin/hearth ctl logs -n 100 $u; done",
  'echo "sandbox-report: done"',
].join("\n"))}]
`;

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
  writeFileSync(join(units, "sandbox-unconfined.toml"), UNCONFINED);
  writeFileSync(join(units, "sandbox-mounts.toml"), MOUNTS);
  writeFileSync(join(units, "sandbox-report.toml"), REPORT);
}
