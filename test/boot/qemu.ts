// Booting a board under QEMU for a test: the serial console read as it comes, lines to
// type when a pattern shows up, and a hard time limit (QEMU is killed, never left).

import { copyFileSync, existsSync, appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadBoard } from "../../board/image/rootfs.ts";
import { qemuArgv } from "../../board/image/qemu.ts";
import { buildCpio, type CpioEntry } from "../../board/image/cpio.ts";

export const REPO = resolve(import.meta.dir, "../..");

export interface BootOptions {
  append?: string;
  /** Lines to type on the console, each once its pattern has appeared. */
  interact?: { when: RegExp; send: string }[];
  /** Files laid over the image (a second cpio archive after the first: the kernel unpacks both). */
  overlay?: CpioEntry[];
  timeoutMs: number;
}

export interface BootRun {
  console: string;
  exitCode: number | null;
  timedOut: boolean;
  ms: number;
}

export function imagesOf(board: string) {
  const dir = join(REPO, "build/boards", board);
  return { kernel: join(dir, "vmlinuz"), initramfs: join(dir, "initramfs.cpio") };
}

export function imagesMissing(board: string): string | null {
  const images = imagesOf(board);
  return existsSync(images.kernel) && existsSync(images.initramfs) ? null : `${images.initramfs}: run make boot-images (make test does)`;
}

export async function boot(boardName: string, opts: BootOptions): Promise<BootRun> {
  const board = loadBoard(boardName);
  let images = imagesOf(boardName);
  let scratch: string | null = null;
  if (opts.overlay) {
    scratch = mkdtempSync(join(tmpdir(), "hearth-boot-"));
    const initramfs = join(scratch, "initramfs.cpio");
    copyFileSync(images.initramfs, initramfs);
    appendFileSync(initramfs, buildCpio(opts.overlay));
    images = { ...images, initramfs };
  }
  const started = performance.now();
  const qemu = Bun.spawn(qemuArgv(board, images, { append: opts.append }), { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; qemu.kill("SIGKILL"); }, opts.timeoutMs);
  let output = "";
  const pending = [...(opts.interact ?? [])];
  const decoder = new TextDecoder();
  for await (const chunk of qemu.stdout) {
    output += decoder.decode(chunk, { stream: true });
    while (pending.length > 0 && pending[0]!.when.test(output)) {
      qemu.stdin.write(pending.shift()!.send);
      qemu.stdin.flush();
    }
  }
  const exitCode = await qemu.exited;
  clearTimeout(timer);
  const stderr = await new Response(qemu.stderr).text();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  return { console: output + (stderr ? `\n[qemu stderr] ${stderr}` : ""), exitCode, timedOut, ms: performance.now() - started };
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
