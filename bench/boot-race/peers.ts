// The boot race's images: one initramfs per init, each from Debian arm64 packages
// (apt-get download + dpkg-deb -x, cached in build/debs/arm64) plus the probe and that
// init's own configuration of the same 30 services (workload.ts). The kernel is the
// board's (board/qemu-aarch64: Debian's linux-image-arm64).

import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Board } from "../../board/image/board.ts";
import { S_IFCHR, type CpioEntry } from "../../board/image/cpio.ts";
import { extractDeb, fetchDeb, resolveKernelPackage } from "../../board/image/debian.ts";
import { installWithLibraries, libraryClosure } from "../../board/image/libs.ts";
import { copyLibc, writeCpio } from "../../board/image/rootfs.ts";
import { performInstall } from "../../src/cli/install.ts";
import { afterWithoutSocketActivation, PROBE, SERVICES, topologicalOrder, type Service } from "./workload.ts";

const REPO = resolve(import.meta.dir, "../..");
export const BUILD = join(REPO, "build/boot-race");

export const PEERS = ["hearth", "systemd", "finit", "busybox", "openrc"] as const;
export type Peer = (typeof PEERS)[number];

/** Device nodes every image carries: the console the kernel opens for PID 1, and the probe's kmsg. */
const NODES: CpioEntry[] = [
  { name: "dev/console", mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
  { name: "race/kmsg", mode: S_IFCHR | 0o600, rdevMajor: 1, rdevMinor: 11 },
];

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP = "root:x:0:\ntty:x:5:\nuucp:x:10:\nnogroup:x:65534:\n";

export interface Images {
  kernel: string;
  initramfs: string;
  size: number;
}

class Debs {
  readonly dir: string;
  constructor(readonly arch: string) {
    this.dir = join(REPO, "build/debs", arch);
  }
  /** Unpacks one package (downloading it once); returns its directory. */
  unpack(pkg: string): string {
    return extractDeb(fetchDeb(pkg, this.arch, this.dir), join(this.dir, "x", pkg));
  }
}

/** The board's kernel, copied to BUILD/vmlinuz. */
export function buildKernel(board: Board): string {
  const debs = new Debs(board.arch);
  const dir = debs.unpack(resolveKernelPackage(board.kernelPackage, board.arch));
  const release = readdirSync(join(dir, "lib/modules"))[0]!;
  const out = join(BUILD, "vmlinuz");
  mkdirSync(BUILD, { recursive: true });
  copyFileSync(join(dir, "boot", `vmlinuz-${release}`), out);
  return out;
}

/** The probe, statically linked for the board. */
export function buildProbe(board: Board): string {
  const out = join(BUILD, "race-probe");
  mkdirSync(BUILD, { recursive: true });
  const argv = [board.cc, "-static", "-O2", "-Wall", "-Wextra", "-o", out, join(import.meta.dir, "probe.c")];
  const p = Bun.spawnSync(argv, { stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed`);
  return out;
}

function write(root: string, path: string, text: string, mode = 0o644) {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
  chmodSync(full, mode);
}

function link(root: string, path: string, target: string) {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  rmSync(full, { force: true });
  symlinkSync(target, full);
}

/** A fresh root with what every image has: the probe, mount points, users. */
function baseRoot(peer: Peer, probe: string): string {
  const root = join(BUILD, peer, "root");
  rmSync(root, { recursive: true, force: true });
  for (const d of ["proc", "sys", "dev", "run", "tmp", "root", "race", "etc", "usr/bin", "var"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync(probe, join(root, PROBE));
  chmodSync(join(root, PROBE), 0o755);
  write(root, "etc/passwd", PASSWD);
  write(root, "etc/group", GROUP);
  link(root, "var/run", "../run");
  return root;
}

function finish(peer: Peer, root: string, kernel: string): Images {
  const initramfs = join(BUILD, peer, "initramfs.cpio");
  const size = writeCpio(root, NODES, initramfs);
  return { kernel, initramfs, size };
}

/** The probe's command line for a service; `activated`: the init passes the listening socket. */
export function probeArgv(svc: Service, extra: string[] = []): string[] {
  const argv = [PROBE, svc.name, String(svc.delayMs)];
  if (svc.listen) argv.push("--serve", svc.listen);
  if (svc.connect) argv.push("--connect", svc.connect.address);
  return [...argv, ...extra];
}

// ---------------------------------------------------------------- hearth

export function hearthUnit(svc: Service): string {
  const q = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
  const lines = ["[unit]", `description = "race ${svc.name}"`];
  if (!svc.listen) lines.push(`wanted_by = ["multi-user"]`);
  if (svc.after.length) lines.push(`requires = ${q(svc.after)}`, `after = ${q(svc.after)}`);
  lines.push("", "[service]", `type = "${svc.type}"`, `exec_start = ${q(probeArgv(svc))}`);
  if (svc.listen) lines.push("", "[[socket]]", `listen_stream = "${svc.listen}"`);
  return lines.join("\n") + "\n";
}

function buildHearth(board: Board, probe: string, kernel: string, hearthBinary: string): Images {
  const debs = new Debs(board.arch);
  const root = baseRoot("hearth", probe);
  copyLibc(debs.unpack("libc6"), root);
  const problems = performInstall({ root, binary: hearthBinary, initramfs: true }, true, () => {});
  if (problems.length > 0) throw new Error(`hearth install: ${problems.join("; ")}`);
  write(root, "etc/hearth/system.toml", `[manager]\nhostname = "race"\n`);
  for (const svc of SERVICES) write(root, `etc/hearth/units/${svc.name}.toml`, hearthUnit(svc));
  return finish("hearth", root, kernel);
}

// ---------------------------------------------------------------- systemd

export function systemdService(svc: Service): string {
  const deps = svc.after.map((d) => `race-${d}.service`).join(" ");
  const unit = ["[Unit]", `Description=race ${svc.name}`];
  if (deps) unit.push(`Requires=${deps}`, `After=${deps}`);
  return [...unit, "", "[Service]", `Type=${svc.type}`, `ExecStart=${probeArgv(svc).join(" ")}`, ""].join("\n");
}

export function systemdSocket(svc: Service): string {
  return ["[Unit]", `Description=race ${svc.name} socket`, "", "[Socket]", `ListenStream=${svc.listen}`, ""].join("\n");
}

export function systemdTarget(): string {
  const wants = SERVICES.map((s) => (s.listen ? `race-${s.name}.socket` : `race-${s.name}.service`));
  return ["[Unit]", "Description=boot race", "Requires=basic.target", "After=basic.target", `Wants=${wants.join(" ")}`, ""].join("\n");
}

function buildSystemd(board: Board, probe: string, kernel: string): Images {
  const debs = new Debs(board.arch);
  const root = baseRoot("systemd", probe);
  const sysroots = libraryClosure(["systemd"], board.arch).map((p) => debs.unpack(p));
  installWithLibraries(["/lib/systemd/systemd"], sysroots, root, board.arch);
  // Debian's standard targets and slices, without the .wants links that pull in its
  // services (journald, udev, tmpfiles, ...: not in this image) and without generators.
  const units = join(debs.unpack("systemd"), "lib/systemd/system");
  for (const f of readdirSync(units, { withFileTypes: true })) {
    if (f.isFile() && /\.(target|slice)$/.test(f.name)) copyFileSync(join(units, f.name), join(mkdirp(root, "lib/systemd/system"), f.name));
  }
  write(root, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n');
  write(root, "etc/machine-id", "8d6c0e8a5f1b4b0c9a2e3f4d5c6b7a80\n");
  write(root, "etc/hostname", "race\n");
  // No journald in the image: services' output would go to its socket (each start then
  // logs "Failed to connect stdout to the journal socket"); the probe prints nothing.
  write(root, "etc/systemd/system.conf", "[Manager]\nDefaultStandardOutput=null\n");
  for (const svc of SERVICES) {
    write(root, `etc/systemd/system/race-${svc.name}.service`, systemdService(svc));
    if (svc.listen) write(root, `etc/systemd/system/race-${svc.name}.socket`, systemdSocket(svc));
  }
  write(root, "etc/systemd/system/race.target", systemdTarget());
  link(root, "etc/systemd/system/default.target", "race.target");
  link(root, "init", "lib/systemd/systemd");
  link(root, "sbin/init", "../lib/systemd/systemd");
  return finish("systemd", root, kernel);
}

function mkdirp(root: string, rel: string): string {
  const d = join(root, rel);
  mkdirSync(d, { recursive: true });
  return d;
}

// ---------------------------------------------------------------- finit

/**
 * finit 4.2 has no sd_notify: readiness is the service's pid file, which asserts its
 * pid/race:NAME condition. finit tells services apart by command and `:ID`, so each line
 * is `name:race :NAME`.
 */
export function finitConf(): string {
  const lines = ["# boot race: 30 services (bench/boot-race/workload.ts)", "host race", "runlevel 2", ""];
  for (const svc of SERVICES) {
    const after = afterWithoutSocketActivation(svc);
    const cond = after.length ? ` <${after.map((d) => `pid/race:${d}`).join(",")}>` : "";
    const argv = probeArgv(svc, ["--pidfile", `/run/${svc.name}.pid`]);
    lines.push(`service [2345] name:race :${svc.name}${cond} ${argv.join(" ")} -- race ${svc.name}`);
  }
  return lines.join("\n") + "\n";
}

function buildFinit(board: Board, probe: string, kernel: string): Images {
  const debs = new Debs(board.arch);
  const root = baseRoot("finit", probe);
  const sysroots = libraryClosure(["finit", "finit-plugins"], board.arch).map((p) => debs.unpack(p));
  const plugins = `/lib/${board.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu"}/finit/plugins`;
  // The pidfile plugin gives the pid/ conditions, finit itself asks for netlink.so; the
  // others (hotplug, modprobe, ...) would start programs that are not in the image.
  installWithLibraries(["/sbin/finit", `${plugins}/pidfile.so`, `${plugins}/netlink.so`], sysroots, root, board.arch);
  // finit runs `mount -na` and `swapon -ea` through /bin/sh at boot: BusyBox's.
  installBusyboxApplets(board, root, ["sh", "mount", "umount", "swapon", "swapoff"]);
  write(root, "etc/fstab", "# nothing beyond what finit mounts itself\n");
  write(root, "etc/finit.conf", finitConf());
  link(root, "init", "sbin/finit");
  return finish("finit", root, kernel);
}

// ---------------------------------------------------------------- BusyBox init

/** The sequential rcS: early mounts, then each service started and waited for, in order. */
export function busyboxRcS(): string {
  const lines = ["#!/bin/sh", "# boot race: 30 services one after the other (bench/boot-race/workload.ts)",
    "mount -t proc proc /proc", "mount -t sysfs sysfs /sys", "mount -t devtmpfs devtmpfs /dev", "mount -t tmpfs tmpfs /run"];
  for (const svc of topologicalOrder()) lines.push(probeArgv(svc, ["--daemon"]).join(" "));
  return lines.join("\n") + "\n";
}

/** Debian's static BusyBox as /bin/busybox, with links for the applets named. */
function installBusyboxApplets(board: Board, root: string, applets: string[]) {
  const bb = new Debs(board.arch).unpack("busybox-static");
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(join(bb, "bin/busybox"), join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const applet of applets) link(root, `bin/${applet}`, "busybox");
}

function buildBusybox(board: Board, probe: string, kernel: string): Images {
  const root = baseRoot("busybox", probe);
  installBusyboxApplets(board, root, ["sh", "mount", "init"]);
  link(root, "init", "bin/busybox");
  write(root, "etc/inittab", "::sysinit:/etc/init.d/rcS\n");
  write(root, "etc/init.d/rcS", busyboxRcS(), 0o755);
  return finish("busybox", root, kernel);
}

// ---------------------------------------------------------------- OpenRC

/**
 * One runscript: start-stop-daemon waits for the probe's parent, which exits once the
 * child is ready and has written its pid file (s-s-d tells the 30 instances of one
 * program apart by it).
 */
export function openrcScript(svc: Service): string {
  const deps = afterWithoutSocketActivation(svc).map((d) => `race-${d}`);
  const pidfile = `/run/race-${svc.name}.pid`;
  const [command, ...args] = probeArgv(svc, ["--daemon", "--pidfile", pidfile]);
  return ["#!/sbin/openrc-run", `description="race ${svc.name}"`, `command=${command}`, `command_args="${args.join(" ")}"`,
    `pidfile=${pidfile}`,
    ...(deps.length ? ["depend() {", `\tneed ${deps.join(" ")}`, "}"] : []), ""].join("\n");
}

/** Tools OpenRC's shell scripts call: BusyBox's, from Debian's busybox-static. */
const OPENRC_APPLETS = ["mount", "umount", "mkdir", "rm", "cp", "ln", "cat", "grep", "sed", "sleep", "mountpoint",
  "touch", "ls", "mv", "chmod", "chown", "uname", "tr", "head", "tail", "cut", "sort", "readlink", "basename",
  "dirname", "hostname", "printf", "echo", "true", "false", "test", "[", "expr", "env", "id", "stty", "awk", "find", "xargs"];

function buildOpenrc(board: Board, probe: string, kernel: string): Images {
  const debs = new Debs(board.arch);
  const root = baseRoot("openrc", probe);
  const sysroots = libraryClosure(["openrc", "dash", "dpkg", "insserv"], board.arch).map((p) => debs.unpack(p));
  const openrc = debs.unpack("openrc");
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(openrc, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else files.push(r);
    }
  };
  for (const d of ["/sbin", "/bin", "/lib/rc"]) walk(d);
  // dash is Debian's /bin/sh; start-stop-daemon is dpkg's (Debian's openrc uses it).
  // insserv.conf: Debian's openrc reads it when it computes the dependencies.
  installWithLibraries([...files, "/etc/rc.conf", "/bin/dash", "/sbin/start-stop-daemon", "/etc/insserv.conf"], sysroots, root, board.arch);
  installBusyboxApplets(board, root, OPENRC_APPLETS);
  link(root, "bin/sh", "dash");
  for (const svc of SERVICES) {
    write(root, `etc/init.d/race-${svc.name}`, openrcScript(svc), 0o755);
    link(root, `etc/runlevels/default/race-${svc.name}`, `/etc/init.d/race-${svc.name}`);
  }
  for (const level of ["sysinit", "boot", "shutdown", "nonetwork"]) mkdirSync(join(root, "etc/runlevels", level), { recursive: true });
  mkdirSync(join(root, "etc/conf.d"), { recursive: true });
  link(root, "init", "sbin/openrc-init");
  return finish("openrc", root, kernel);
}

// ---------------------------------------------------------------- all

export function buildPeer(peer: Peer, board: Board, probe: string, kernel: string, hearthBinary: string): Images {
  switch (peer) {
    case "hearth": return buildHearth(board, probe, kernel, hearthBinary);
    case "systemd": return buildSystemd(board, probe, kernel);
    case "finit": return buildFinit(board, probe, kernel);
    case "busybox": return buildBusybox(board, probe, kernel);
    case "openrc": return buildOpenrc(board, probe, kernel);
  }
}

