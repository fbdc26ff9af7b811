// Booting a board under QEMU for a test: the serial console read as it comes, lines to
// type when a pattern shows up, and a hard time limit (QEMU is killed, never left).

import { copyFileSync, existsSync, appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadBoard } from "../../board/image/rootfs.ts";
import { qemuArgv } from "../../board/image/qemu.ts";
import { buildCpio, type CpioEntry } from "../../board/image/cpio.ts";
import { bootImagesFromDisk } from "../../board/image/boot-partition.ts";
import { Qmp, type QmpEvent } from "./qmp.ts";

export const REPO = resolve(import.meta.dir, "../..");

/** One step of a conversation with the guest, taken once its pattern shows on the console. */
export interface Step {
  /** Looked for in what the console printed after the previous step was taken. */
  when: RegExp;
  /** Typed on the console (the serial port). */
  send?: string;
  /** Done through QMP instead (needs `qmp: true`). */
  qmp?: (qmp: Qmp) => Promise<unknown>;
  /** Wait this long after the pattern showed before acting (the console is read meanwhile). */
  delayMs?: number;
}

export interface BootOptions {
  append?: string;
  /** Steps taken in order, each once its pattern has appeared after the previous one. */
  interact?: Step[];
  /** Files laid over the image (a second cpio archive after the first: the kernel unpacks both). */
  overlay?: CpioEntry[];
  /** Talk QMP to QEMU: its events (WATCHDOG, RESET, SHUTDOWN) are recorded with QEMU's timestamps. */
  qmp?: boolean;
  /** false: a reset boots the guest again (to see the kernel banner a second time); default: QEMU exits. */
  exitOnReboot?: boolean;
  /** Boot the board's disk image (make image) instead of its initramfs (no overlay then). */
  disk?: boolean;
  /** The guest's clock starts at this date (QEMU's -rtc base=): a board without an RTC starts in 1970. */
  rtcBase?: string;
  /** Kill QEMU once the console matches this (a guest that reboots would go on for ever). */
  stopWhen?: RegExp;
  timeoutMs: number;
}

export interface BootRun {
  console: string;
  exitCode: number | null;
  timedOut: boolean;
  /** Killed because stopWhen matched. */
  stopped: boolean;
  ms: number;
  /** QMP events, when asked for. */
  events: QmpEvent[];
  /** When (ms since the epoch, host clock) the n-th match of the pattern had arrived on the console. */
  timeOf(pattern: RegExp, nth?: number): number | null;
  /** Steps of `interact` that were taken. */
  stepsTaken: number;
}

/** The host clock in ms since the epoch, with sub-millisecond precision (QMP's timestamps use it too). */
const hostNow = () => performance.timeOrigin + performance.now();

export function imagesOf(board: string) {
  const dir = join(REPO, "build/boards", board);
  return { kernel: join(dir, "vmlinuz"), initramfs: join(dir, "initramfs.cpio") };
}

export function diskImageOf(board: string): string {
  return join(REPO, "build/boards", board, loadBoard(board).image?.file ?? "disk.img");
}

export function diskImageMissing(board: string): string | null {
  return existsSync(diskImageOf(board)) ? null : `${diskImageOf(board)}: run make image BOARD=${board}`;
}

export function imagesMissing(board: string): string | null {
  const images = imagesOf(board);
  return existsSync(images.kernel) && existsSync(images.initramfs) ? null : `${images.initramfs}: run make boot-images (make test does)`;
}

export async function boot(boardName: string, opts: BootOptions): Promise<BootRun> {
  const board = loadBoard(boardName);
  let images = imagesOf(boardName);
  const scratch = mkdtempSync(join(tmpdir(), "hearth-boot-"));
  if (opts.disk) images = bootImagesFromDisk(board, diskImageOf(boardName), scratch);
  if (opts.overlay) {
    if (opts.disk) throw new Error("an overlay is an initramfs archive: not with disk");
    const initramfs = join(scratch, "initramfs.cpio");
    copyFileSync(images.initramfs, initramfs);
    appendFileSync(initramfs, buildCpio(opts.overlay));
    images = { ...images, initramfs };
  }
  const qmpSocket = opts.qmp ? join(scratch, "qmp.sock") : undefined;
  const started = performance.now();
  const argv = qemuArgv(board, images, { append: opts.append, qmpSocket, exitOnReboot: opts.exitOnReboot, rtcBase: opts.rtcBase });
  const qemu = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let timedOut = false, stopped = false;
  const timer = setTimeout(() => { timedOut = true; qemu.kill("SIGKILL"); }, opts.timeoutMs);
  const qmp = qmpSocket ? await Qmp.connect(qmpSocket).catch((e) => { qemu.kill("SIGKILL"); throw e; }) : null;

  let output = "";
  const arrivals: { end: number; at: number }[] = [];
  const steps = [...(opts.interact ?? [])];
  let stepsTaken = 0, searchFrom = 0, acting = false;
  const act = async (step: Step) => {
    if (step.delayMs) await Bun.sleep(step.delayMs);
    if (step.send !== undefined) {
      qemu.stdin.write(step.send);
      qemu.stdin.flush();
    }
    if (step.qmp && qmp) await step.qmp(qmp);
    // What the guest says next is an answer to this step: look only after it.
    if (step.send !== undefined || step.qmp) searchFrom = output.length;
  };
  const advance = () => {
    while (!acting && steps.length > 0) {
      const step = steps[0]!;
      const re = new RegExp(step.when.source, step.when.flags.replace("g", "") + "g");
      re.lastIndex = searchFrom;
      const m = re.exec(output);
      if (!m) return;
      steps.shift();
      searchFrom = m.index + m[0].length;
      stepsTaken++;
      acting = true;
      act(step).catch((e) => { output += `\n[test] step failed: ${(e as Error).message}\n`; })
        .finally(() => { acting = false; advance(); });
    }
  };
  const decoder = new TextDecoder();
  for await (const chunk of qemu.stdout) {
    output += decoder.decode(chunk, { stream: true });
    arrivals.push({ end: output.length, at: hostNow() });
    advance();
    if (opts.stopWhen && !stopped && opts.stopWhen.test(output)) {
      stopped = true;
      qemu.kill("SIGKILL");
    }
  }
  const exitCode = await qemu.exited;
  clearTimeout(timer);
  qmp?.close();
  const stderr = await new Response(qemu.stderr).text();
  rmSync(scratch, { recursive: true, force: true });
  const text = output + (stderr ? `\n[qemu stderr] ${stderr}` : "");
  return {
    console: text, exitCode, timedOut, stopped, ms: performance.now() - started, events: qmp?.events ?? [], stepsTaken,
    timeOf: (pattern, nth = 1) => {
      const re = new RegExp(pattern.source, pattern.flags.replace("g", "") + "g");
      let m: RegExpExecArray | null = null;
      for (let i = 0; i < nth; i++) if ((m = re.exec(output)) === null) return null;
      const end = m!.index + m![0].length;
      return arrivals.find((a) => a.end >= end)?.at ?? null;
    },
  };
}

/** The unit states the example's selfcheck printed (hearth's control socket `list` reply). */
export interface UnitState {
  name: string;
  kind: string;
  active: string;
  activatingAt: number | null;
  activeAt: number | null;
  nRestarts: number;
  exits: { cause: string; description: string }[];
  sockets: { listen: string; name: string; state: string }[];
}

export function selfcheckUnits(consoleText: string): Map<string, UnitState> {
  const line = consoleText.split("\n").find((l) => l.startsWith("selfcheck: units "));
  if (!line) throw new Error("no 'selfcheck: units' line on the console");
  const reply = JSON.parse(line.slice("selfcheck: units ".length).trim()) as { units: UnitState[] };
  return new Map(reply.units.map((u) => [u.name, u]));
}
