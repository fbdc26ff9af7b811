// `hearth install --root DIR [--binary PATH] [--initramfs] [--force]`: puts hearth into a
// root file system as its init. What it does:
//
//   /sbin/hearth              the binary (this one, or --binary: another architecture's)
//   /sbin/init -> hearth      the kernel's default init (argv[0] "init" = system manager)
//   /usr/bin/hearth, /usr/bin/hearthctl -> /sbin/hearth
//   /init -> /sbin/init       with --initramfs: the kernel runs /init from an initramfs
//   /proc/self/maps           the stand-in that lets Bun start before /proc is mounted
//   /proc /sys /dev /run /tmp /etc/hearth/units, made when missing
//
// and checks that the rootfs has the C library the binary is linked against.
//
// The /proc decision: a Bun binary reads /proc/self/maps before any of our code runs
// (glibc's pthread_getattr_np, to find the main thread's stack) and aborts without it.
// Rather than a second, static pre-init binary, the rootfs carries a regular file
// /proc/self/maps whose one line covers the whole address space as "[stack]". PID 1
// mounts procfs over /proc first thing, which hides the file for good.

import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync, openSync, readSync, closeSync } from "node:fs";
import { join, resolve } from "node:path";
import { existsNoFollow } from "../config/read-file.ts";

export const PROC_MAPS_STAND_IN = "00000000-fffffffff000 rw-p 00000000 00:00 0 [stack]\n";

export type Step =
  | { kind: "mkdir"; path: string; mode: number }
  | { kind: "copy"; from: string; to: string; mode: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "write"; path: string; text: string };

export interface InstallOptions {
  root: string;
  binary: string;
  initramfs: boolean;
}

/** What a rootfs gets, as steps relative to it. Pure. */
export function planInstall(opts: InstallOptions): Step[] {
  const steps: Step[] = [];
  for (const [dir, mode] of [["/sbin", 0o755], ["/usr/bin", 0o755], ["/proc", 0o555], ["/sys", 0o555], ["/dev", 0o755],
    ["/run", 0o755], ["/tmp", 0o1777], ["/root", 0o700], ["/etc/hearth/units", 0o755]] as const) {
    steps.push({ kind: "mkdir", path: dir, mode });
  }
  steps.push({ kind: "copy", from: opts.binary, to: "/sbin/hearth", mode: 0o755 });
  steps.push({ kind: "symlink", path: "/sbin/init", target: "hearth" });
  steps.push({ kind: "symlink", path: "/usr/bin/hearth", target: "/sbin/hearth" });
  steps.push({ kind: "symlink", path: "/usr/bin/hearthctl", target: "/sbin/hearth" });
  if (opts.initramfs) steps.push({ kind: "symlink", path: "/init", target: "/sbin/init" });
  steps.push({ kind: "mkdir", path: "/proc/self", mode: 0o555 });
  steps.push({ kind: "write", path: "/proc/self/maps", text: PROC_MAPS_STAND_IN });
  return steps;
}

/** ELF e_machine of an executable: its architecture, for the library check. Pure. */
export function elfArch(header: Uint8Array): "x64" | "arm64" | null {
  if (header.length < 20 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return null;
  const machine = header[18]! | (header[19]! << 8);
  return machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : null;
}

/** The dynamic loader and libraries a Bun binary needs, per architecture (any of the paths will do). */
export function requiredLibraries(arch: "x64" | "arm64"): string[][] {
  const triplet = arch === "x64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
  const loader = arch === "x64" ? ["/lib64/ld-linux-x86-64.so.2"] : ["/lib/ld-linux-aarch64.so.1"];
  const lib = (name: string) => [`/lib/${triplet}/${name}`, `/usr/lib/${triplet}/${name}`];
  return [loader, ...["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2"].map(lib)];
}

function isHearth(root: string, path: string): boolean {
  try {
    return lstatSync(join(root, path)).isSymbolicLink() && /hearth$/.test(readlinkSync(join(root, path)));
  } catch {
    return false;
  }
}

export function performInstall(opts: InstallOptions, force: boolean, say: (line: string) => void): string[] {
  const problems: string[] = [];
  const root = resolve(opts.root);
  for (const step of planInstall(opts)) {
    const at = join(root, step.kind === "copy" ? step.to : step.path);
    switch (step.kind) {
      case "mkdir":
        if (!existsSync(at)) mkdirSync(at, { recursive: true, mode: step.mode });
        break;
      case "copy":
        copyFileSync(step.from, `${at}.new`);
        chmodSync(`${at}.new`, step.mode);
        renameSync(`${at}.new`, at);
        say(`installed ${step.from} as ${step.to}`);
        break;
      case "symlink": {
        const exists = existsNoFollow(at);
        if (exists && !isHearth(root, step.path) && !(step.path === "/init" && readlinkOr(at) === step.target)) {
          if (!force) { problems.push(`${step.path} exists and is not hearth's: give --force to move it to ${step.path}.before-hearth`); break; }
          renameSync(at, `${at}.before-hearth`);
          say(`moved the old ${step.path} to ${step.path}.before-hearth`);
        } else if (exists) unlinkSync(at);
        symlinkSync(step.target, at);
        break;
      }
      case "write":
        if (isProcMounted(root)) {
          problems.push(`${root}/proc is a mounted procfs: the stand-in /proc/self/maps must be written on the root file system itself; ` +
            `bind-mount it elsewhere (mount --bind / /mnt) and run hearth install --root /mnt`);
          break;
        }
        writeFileSync(at, step.text, { mode: 0o444 });
        break;
    }
  }
  const arch = elfArch(readHeader(opts.binary));
  if (arch === null) problems.push(`${opts.binary} is not an x86_64 or aarch64 ELF executable`);
  else {
    for (const alternatives of requiredLibraries(arch)) {
      if (!alternatives.some((p) => existsSync(join(root, p)))) {
        problems.push(`missing ${alternatives[0]}: hearth needs glibc in the rootfs (Debian: libc6:${arch === "x64" ? "amd64" : "arm64"})`);
      }
    }
  }
  return problems;
}

function readlinkOr(path: string): string | null {
  try { return readlinkSync(path); } catch { return null; }
}

function readHeader(path: string): Uint8Array {
  const buf = new Uint8Array(64);
  const fd = openSync(path, "r");
  try { readSync(fd, buf, 0, 64, 0); } finally { closeSync(fd); }
  return buf;
}

/** Whether ROOT/proc has a procfs mounted on it (then /proc/self is a live directory). */
function isProcMounted(root: string): boolean {
  try {
    return statSync(join(root, "proc")).dev !== statSync(root).dev && existsSync(join(root, "proc/self/status"));
  } catch {
    return false;
  }
}

const USAGE = "usage: hearth install --root DIR [--binary PATH] [--initramfs] [--force]";

export async function installMain(argv: string[]): Promise<number> {
  let root: string | null = null, binary = process.execPath, initramfs = false, force = false;
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === "--root") root = argv[++i] ?? null;
    else if (x === "--binary") binary = argv[++i] ?? "";
    else if (x === "--initramfs") initramfs = true;
    else if (x === "--force") force = true;
    else if (x === "-h" || x === "--help") { console.log(USAGE); return 0; }
    else { console.error(`hearth install: unknown argument ${x}\n${USAGE}`); return 2; }
  }
  if (root === null || !existsSync(root)) { console.error(`hearth install: --root DIR must name an existing directory\n${USAGE}`); return 2; }
  const problems = performInstall({ root, binary, initramfs }, force, (line) => console.log(`hearth install: ${line}`));
  for (const p of problems) console.error(`hearth install: ${p}`);
  if (problems.length === 0) console.log(`hearth install: done; boot with init=/sbin/init (the default) and read README.md, "Flashing a board"`);
  return problems.length === 0 ? 0 : 1;
}
