// The boot race under QEMU (issue 7 item 2): the same 30 services booted by hearth,
// systemd, finit, BusyBox init (sequential rcS) and OpenRC, side by side, on the same kernel.
//
//   bun bench/boot-race.ts [--runs N] [--peers hearth,systemd,...] [--timeout S]
//                          [--hearth PATH] [--no-readme] [--disk]
//
// --disk: each init boots from a disk image of its root (board/image/disk.ts: a virtio
// disk, ext4, and the tiny initrd that loads virtio_blk and ext4, mounts the root and
// executes the init there with init=/init), as a real board does, instead of from its
// initramfs. The handover is then the initrd's "Run /init": the figure includes loading
// the modules and mounting the root, and every page of the init read from the disk.
//
// --hearth: an arm64 hearth binary to use as is; by default dist/hearth-arm64, brought up
// to date with `make build-arm64` first.
//
// Each boot: QEMU aarch64 virt, TCG, Cortex-A57, 1 CPU, 1 GiB (board/qemu-aarch64), the
// board's Debian kernel, one initramfs per init (bench/boot-race/peers.ts). The figure:
// from the kernel's "Run /init as init process" line to the last "race: ready NAME" line
// (each service's probe writes it to the kernel log the moment it is ready, so both
// ends carry the kernel's own printk timestamps: the same clock and the same definition
// for every init, nothing timed on the host). QEMU is killed once all 30 are ready, or
// at the timeout. Runs interleave the inits (a rotating order per round); medians and
// spreads, and ratios to the critical path of the graph and between the inits.
// Writes the table into bench/boot-race/README.md (between the result markers) and
// prints it. See bench/boot-race/README.md for the method.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { kernelOf, loadBoard } from "../board/image/rootfs.ts";
import { writeDiskImage } from "../board/image/disk.ts";
import { bootImagesFromDisk } from "../board/image/boot-partition.ts";
import { qemuArgv } from "../board/image/qemu.ts";
import { BUILD, buildKernel, buildPeer, buildProbe, PEERS, type Images, type Peer } from "./boot-race/peers.ts";
import { criticalPath, sequentialSum, SERVICES } from "./boot-race/workload.ts";

const REPO = resolve(import.meta.dir, "..");
const BOARD = "qemu-aarch64";
const APPEND = "printk.devkmsg=on"; // userspace kmsg writes are rate-limited (10 per 5 s) otherwise
const README = join(import.meta.dir, "boot-race/README.md");
const BEGIN = "<!-- boot-race results: begin -->", END = "<!-- boot-race results: end -->";

export interface BootResult {
  peer: Peer;
  round: number;
  ok: boolean;
  /** printk time of "Run /init as init process": the kernel's part, s. */
  handover?: number;
  /** From the handover to the last service ready, s. */
  allReady?: number;
  /** From the handover to the first service ready, s: the init's own start-up plus one probe start. */
  firstReady?: number;
  /** From the handover, s: the init's first line of its own in the kernel log, and its first service start. */
  initRunning?: number;
  firstStart?: number;
  /** hearth's own start-up phases (its "Startup finished in ..." line), ms each. */
  hearthPhases?: Record<string, number>;
  last?: string;
  ready: number;
  wallS: number;
  why?: string;
}

/**
 * Where each init says it is running, and that it starts a service, in the kernel log
 * (printk time stamps). hearth writes neither to the kernel log: its phases come from its
 * own "Startup finished in ..." console line instead (hearthPhases).
 */
const INIT_RUNNING = /\[\s*(\d+\.\d+)\] (?:systemd\[1\]: systemd \S+ running in system mode|finit\[1\]: ?Finit v\S+, entering runlevel S)/;
const SERVICE_START = /\[\s*(\d+\.\d+)\] (?:systemd\[1\]: Starting race-|finit\[1\]: ?Starting race:)/;

/** hearth's "Startup finished in 1212 ms (kernel) + 1247 ms (runtime) + ... = 6000 ms; 30 units ready" -> ms by phase. Pure. */
export function parseHearthPhases(text: string): Record<string, number> | null {
  const line = text.match(/Startup finished in ([^\r\n;]+ = \d+ ms);/)?.[1];
  if (!line) return null;
  const phases: Record<string, number> = {};
  for (const m of line.matchAll(/(\d+) ms \(([^)]+)\)/g)) phases[m[2]!] = Number(m[1]);
  return phases;
}

/** Console lines -> the handover time, each service's ready time and the init's own marks (printk seconds). Pure. */
export function parseConsole(text: string): {
  handover: number | null; ready: Map<string, number>; errors: string[]; initRunning: number | null; firstStart: number | null;
} {
  let handover: number | null = null;
  const ready = new Map<string, number>();
  const errors: string[] = [];
  const initRunning = text.match(INIT_RUNNING)?.[1], firstStart = text.match(SERVICE_START)?.[1];
  // Whole lines only: a line still arriving ("race: ready s" of s9) is not a name yet.
  for (const m of text.matchAll(/\[\s*(\d+\.\d+)\] (?:Run \S+ as init process|race: (ready|error) ([^\r\n]+)(?=\r?\n))/g)) {
    const t = Number(m[1]);
    if (!m[2]) handover ??= t;
    else if (m[2] === "ready") { if (!ready.has(m[3]!.trim())) ready.set(m[3]!.trim(), t); }
    else errors.push(m[3]!.trim());
  }
  return { handover, ready, errors, initRunning: initRunning ? Number(initRunning) : null, firstStart: firstStart ? Number(firstStart) : null };
}

/** After the last service is ready, how long to wait for hearth's "Startup finished" line (its phases). */
const PHASES_GRACE_MS = 10_000;

async function boot(peer: Peer, round: number, images: Images, timeoutS: number, disk: string | null): Promise<BootResult> {
  const board = loadBoard(BOARD);
  const fromDisk = disk ? bootImagesFromDisk(board, disk, join(BUILD, peer)) : null;
  const argv = fromDisk ? qemuArgv(board, fromDisk, { append: `${APPEND} init=/init` }) : qemuArgv(board, images, { append: APPEND });
  const t0 = performance.now();
  const qemu = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "", done = false, why: string | undefined, grace: Timer | undefined;
  const timer = setTimeout(() => { why = `timeout (${timeoutS} s)`; qemu.kill("SIGKILL"); }, timeoutS * 1000);
  const decoder = new TextDecoder();
  const reader = qemu.stdout.getReader();
  for (;;) {
    const { value, done: eof } = await reader.read();
    if (eof) break;
    text += decoder.decode(value, { stream: true });
    if (!done) {
      const p = parseConsole(text);
      if (p.errors.length) { why = `probe error: ${p.errors[0]}`; done = true; qemu.kill("SIGKILL"); }
      else if (p.ready.size >= SERVICES.length) {
        done = true;
        if (peer !== "hearth") qemu.kill("SIGKILL");
        else grace = setTimeout(() => qemu.kill("SIGKILL"), PHASES_GRACE_MS);
      }
    }
    if (grace && parseHearthPhases(text)) qemu.kill("SIGKILL");
  }
  await qemu.exited;
  clearTimeout(timer);
  clearTimeout(grace);
  if (fromDisk) rmSync(dirname(fromDisk.kernel), { recursive: true, force: true });
  const wallS = (performance.now() - t0) / 1000;
  const logDir = join(BUILD, "logs");
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, `${peer}-${round}.log`), text + (await new Response(qemu.stderr).text()));
  const p = parseConsole(text);
  const result: BootResult = { peer, round, ok: false, ready: p.ready.size, wallS };
  if (p.handover !== null) result.handover = p.handover;
  const phases = parseHearthPhases(text);
  if (phases) result.hearthPhases = phases;
  if (p.handover !== null && p.initRunning !== null) result.initRunning = p.initRunning - p.handover;
  if (p.handover !== null && p.firstStart !== null) result.firstStart = p.firstStart - p.handover;
  if (phases) { // hearth: its runtime and code are its running; the first spawn is its first service start
    const at = (names: string[]) => names.reduce((sum, n) => sum + (phases[n] ?? 0), 0) / 1000;
    result.initRunning = at(["runtime", "hearth code"]);
    result.firstStart = at(["runtime", "hearth code", "configuration", "first spawn"]);
  }
  if (p.handover !== null && p.ready.size === SERVICES.length) {
    let last = "", t = -Infinity;
    for (const [name, at] of p.ready) if (at > t) { t = at; last = name; }
    const first = Math.min(...p.ready.values());
    return { ...result, ok: true, allReady: t - p.handover, firstReady: first - p.handover, last };
  }
  return { ...result, why: why ?? (p.handover === null ? "no handover line" : `QEMU exited with ${p.ready.size} ready`) };
}

// ---------------------------------------------------------------- statistics

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

export function table(results: BootResult[], peers: Peer[], criticalS: number, sequentialS: number): string {
  const ok = (p: Peer) => results.filter((r) => r.peer === p && r.ok).map((r) => r.allReady!);
  const ref = peers.includes("hearth") && ok("hearth").length ? median(ok("hearth")) : null;
  const rows = [
    "| init | boots ok | all ready: median (min–max) | / critical path | / hearth | first ready (median) | kernel part (median) | last ready (most often) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const p of peers) {
    const all = results.filter((r) => r.peer === p);
    const xs = ok(p);
    if (!xs.length) {
      const why = [...new Set(all.map((r) => r.why ?? "?"))].join("; ");
      rows.push(`| ${p} | 0/${all.length} | — (${why}) | — | — | — | — | — |`);
      continue;
    }
    const m = median(xs);
    const kernel = median(all.filter((r) => r.handover !== undefined).map((r) => r.handover!));
    const first = median(all.filter((r) => r.ok).map((r) => r.firstReady!));
    const lasts = new Map<string, number>();
    for (const r of all) if (r.last) lasts.set(r.last, (lasts.get(r.last) ?? 0) + 1);
    const last = [...lasts].sort((a, b) => b[1] - a[1])[0]![0];
    rows.push(`| ${p} | ${xs.length}/${all.length} | ${f3(m)} s (${f3(Math.min(...xs))}–${f3(Math.max(...xs))}) | ` +
      `${f2(m / criticalS)} | ${ref ? f2(m / ref) : "—"} | ${f3(first)} s | ${f3(kernel)} s | ${last} |`);
  }
  rows.push(`| *critical path* | | ${f3(criticalS)} s | 1.00 | ${ref ? f2(criticalS / ref) : "—"} | | | |`);
  rows.push(`| *sequential sum of delays* | | ${f3(sequentialS)} s | ${f2(sequentialS / criticalS)} | ${ref ? f2(sequentialS / ref) : "—"} | | | |`);
  return rows.join("\n");
}

/**
 * Where each init's start goes, medians in s after the handover: its own code running
 * (its first line in the kernel log; for hearth, its runtime and code loaded), its first
 * service start, the first and the last service ready. Then hearth's own phases.
 */
export function phaseTable(results: BootResult[], peers: Peer[]): string {
  const med = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? `${f3(median(v))} s` : "—";
  };
  const rows = [
    "| init | own code running | first service started | first ready | all ready |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const p of peers) {
    const ok = results.filter((r) => r.peer === p && r.ok);
    if (!ok.length) continue;
    rows.push(`| ${p} | ${med(ok.map((r) => r.initRunning))} | ${med(ok.map((r) => r.firstStart))} | ` +
      `${med(ok.map((r) => r.firstReady))} | ${med(ok.map((r) => r.allReady))} |`);
  }
  const hearth = results.filter((r) => r.peer === "hearth" && r.hearthPhases);
  if (hearth.length) {
    const names = Object.keys(hearth[0]!.hearthPhases!);
    const parts = names.map((n) => `${n} ${median(hearth.map((r) => r.hearthPhases![n] ?? 0)).toFixed(0)}`);
    rows.push("", `hearth's own phases (its "Startup finished" line, median ms of ${hearth.length} boots): ${parts.join(", ")}.`);
  }
  return rows.join("\n");
}

/** Per round, each init's time over hearth's in the same round: median (min–max). */
export function roundRatios(results: BootResult[], peers: Peer[]): string {
  const out: string[] = [];
  for (const p of peers) {
    if (p === "hearth") continue;
    const rs: number[] = [];
    for (const r of results.filter((x) => x.peer === p && x.ok)) {
      const h = results.find((x) => x.peer === "hearth" && x.ok && x.round === r.round);
      if (h) rs.push(r.allReady! / h.allReady!);
    }
    if (rs.length) out.push(`${p}/hearth ${f2(median(rs))} (${f2(Math.min(...rs))}–${f2(Math.max(...rs))})`);
  }
  return out.join(", ");
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? "?";
  const qemu = Bun.spawnSync(["qemu-system-aarch64", "--version"]).stdout.toString().split("\n")[0]!.replace(/^QEMU emulator version /, "");
  let os = "Linux";
  try { os = readFileSync("/etc/os-release", "utf8").match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? os; } catch {}
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${os}, QEMU ${qemu}`;
}

// ---------------------------------------------------------------- main

/** The hearth binary: the default one is (re)built by `make build-arm64` when stale. */
function hearthBinary(path: string | null): string {
  if (path) return resolve(REPO, path);
  const p = Bun.spawnSync(["make", "--no-print-directory", "build-arm64"], { cwd: REPO, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error("make build-arm64 failed");
  return join(REPO, "dist/hearth-arm64");
}

async function main(argv: string[]) {
  let runs = 5, timeoutS = 60, peers: Peer[] = [...PEERS], readme = true, hearth: string | null = null, disk = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--timeout") timeoutS = Number(argv[++i]);
    else if (a === "--peers") peers = argv[++i]!.split(",") as Peer[];
    else if (a === "--hearth") hearth = argv[++i]!;
    else if (a === "--no-readme") readme = false;
    else if (a === "--disk") disk = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const p of peers) if (!PEERS.includes(p)) throw new Error(`unknown init ${p} (${PEERS.join(", ")})`);
  if (!(runs >= 1)) throw new Error("--runs must be at least 1");
  const board = loadBoard(BOARD);
  const t0 = performance.now();
  const kernel = buildKernel(board);
  const probe = buildProbe(board);
  const images = new Map<Peer, Images>();
  const disks = new Map<Peer, string>();
  const failed = new Map<Peer, string>();
  for (const p of peers) {
    try {
      const img = buildPeer(p, board, probe, kernel, p === "hearth" ? hearthBinary(hearth) : "");
      images.set(p, img);
      console.log(`boot-race: ${p}: ${relative(REPO, img.initramfs)} (${(img.size / 1e6).toFixed(1)} MB)`);
      if (disk) {
        const d = writeDiskImage(board, kernelOf(board), join(BUILD, p, "root"), join(BUILD, p, "disk-work"), join(BUILD, p, "disk.img"),
          [{ path: "race/kmsg", major: 1, minor: 11 }]);
        disks.set(p, d.image);
        console.log(`boot-race: ${p}: ${relative(REPO, d.image)}`);
      }
    } catch (e) {
      failed.set(p, (e as Error).message);
      console.log(`boot-race: ${p}: no image: ${(e as Error).message}`);
    }
  }
  console.log(`boot-race: images in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const results: BootResult[] = [];
  const booted = peers.filter((p) => images.has(p));
  for (let round = 0; round < runs; round++) {
    const order = booted.map((_, i) => booted[(i + round) % booted.length]!);
    for (const p of order) {
      const r = await boot(p, round, images.get(p)!, timeoutS, disks.get(p) ?? null);
      results.push(r);
      console.log(`boot-race: round ${round + 1}/${runs} ${p.padEnd(8)} ` +
        (r.ok ? `all ready ${f3(r.allReady!)} s after the handover (kernel ${f3(r.handover!)} s, last ${r.last}, wall ${r.wallS.toFixed(1)} s)`
          : `FAILED: ${r.why} (${r.ready} ready, wall ${r.wallS.toFixed(1)} s)`));
    }
  }
  for (const [p, why] of failed) results.push({ peer: p, round: 0, ok: false, ready: 0, wallS: 0, why: `no image: ${why}` });

  const cp = criticalPath();
  const text = [
    `${new Date().toISOString().slice(0, 10)} · ${machine()} · ${runs} rounds, interleaved · ` +
    `critical path ${cp.chain.join(" → ")} = ${cp.ms} ms · total ${((performance.now() - t0) / 60000).toFixed(1)} min · ` +
    `\`bun bench/boot-race.ts ${argv.join(" ")}\``.replace(/ `$/, "`"),
    "",
    table(results, peers, cp.ms / 1000, sequentialSum() / 1000),
    "",
    `Same-round ratios: ${roundRatios(results, peers) || "—"}.`,
    "",
    "Where the start goes (medians; \"—\": the init does not say):",
    "",
    phaseTable(results, peers),
  ].join("\n");
  console.log(`\n${text}\n`);
  writeFileSync(join(BUILD, "results.md"), text + "\n");
  if (readme && existsSync(README)) {
    const old = readFileSync(README, "utf8");
    const a = old.indexOf(BEGIN), b = old.indexOf(END);
    if (a >= 0 && b > a) writeFileSync(README, `${old.slice(0, a + BEGIN.length)}\n${text}\n${old.slice(b)}`);
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`boot-race: ${(e as Error).message}`);
    process.exit(1);
  });
}

