// The start-up floor (issue 11 goal 2): how long `hearth --version` takes against a Bun
// hello world compiled exactly the same way (make's $(COMPILE): bench/probe/hello.ts ->
// build/bench/hello-*), so the ratio is what hearth's own code adds to Bun's start.
//   arm64  dist/hearth-arm64 under qemu-aarch64 user mode (TCG: what a slow board feels)
//   native dist/hearth on this host
// Runs interleaved pair by pair (hearth, hello, hearth, hello ...), each pair on a quiet
// machine (bench/lib/quiet.ts); wall time of the whole process, spawn to reaped.
//   bun bench/startup-floor.ts [RUNS]      (default 7 pairs each)
// Then the control client on the aarch64 board (goal 3), from 3 boots of the example image.
import { join } from "node:path";
import { table } from "./lib/markdown.ts";
import { HEARTH, ROOT, requireBuilt } from "./lib/paths.ts";
import { median, ratio, spread } from "./lib/stats.ts";
import { interferenceNote, quietly } from "./lib/quiet.ts";
import { pairs, qemuUser } from "./lib/paired.ts";
import { boot, imagesMissing } from "../test/boot/qemu.ts";

const RUNS = Number(process.argv[2] ?? 7);
const BOARD = "qemu-aarch64", BOARD_BOOTS = 3;
const HEARTH_ARM64 = join(ROOT, "dist/hearth-arm64");
const HELLO = join(ROOT, "build/bench/hello-native");
const HELLO_ARM64 = join(ROOT, "build/bench/hello-arm64");

function row(name: string, hearth: number[], hello: number[]): string[] {
  const ratios = hearth.map((h, i) => h / hello[i]!);
  return [name, spread(hearth), spread(hello), ratio(median(hearth), median(hello)), spread(ratios)];
}

requireBuilt(HEARTH, HEARTH_ARM64, HELLO, HELLO_ARM64);
const rows: string[][] = [];
const qemu = qemuUser();
if (qemu) {
  const [h, b] = await pairs("arm64 under qemu", [...qemu, HEARTH_ARM64, "--version"], [...qemu, HELLO_ARM64], RUNS);
  rows.push(row("arm64, qemu-aarch64 user mode", h, b));
}
const [h, b] = await pairs("native", [HEARTH, "--version"], [HELLO], RUNS);
rows.push(row("native (this host)", h, b));

console.log(`**Start-up floor** — \`hearth --version\` against a Bun hello world compiled the same way ` +
  `(bench/probe/hello.ts, make's flags); ${RUNS} interleaved pairs each; wall ms, median (min–max). ` +
  `Goal (issue 11): arm64 ratio ≤ 1.2.\n`);
console.log(table(["where", "hearth --version ms", "hello world ms", "ratio of medians", "pair ratios"], rows));
await controlClientOnBoard();
console.log(`\n_${interferenceNote()}_`);

/**
 * Goal 3: `hearthctl status echo` on the aarch64 board (QEMU TCG, the example image of
 * `make rootfs`), against `hearth --version` on the same board: the board's self check
 * times both (board/demo/hearth-demo.c) and prints the medians on the console.
 */
async function controlClientOnBoard() {
  const missing = imagesMissing(BOARD);
  if (missing) return console.log(`\n(no ${BOARD} board row: ${missing})`);
  const figures: { status: number; version: number; request: number }[] = [];
  for (let i = 0; i < BOARD_BOOTS; i++) {
    const r = await quietly(`${BOARD} boot`, () => boot(BOARD, { append: "hearth.wants=poweroff-when-up", timeoutMs: 180_000 }));
    const m = r.console.match(/selfcheck: hearthctl status echo (\d+) ms, hearth --version (\d+) ms, the request alone (\d+) ms/);
    if (!m) throw new Error(`${BOARD}: no control client line on the console (exit ${r.exitCode}, timed out ${r.timedOut})`);
    figures.push({ status: Number(m[1]), version: Number(m[2]), request: Number(m[3]) });
  }
  const status = figures.map((f) => f.status), version = figures.map((f) => f.version), request = figures.map((f) => f.request);
  console.log(`\n**Control client on the board** — \`hearthctl status echo\` and \`hearth --version\` on ${BOARD} ` +
    `(QEMU TCG), each the median of 3 interleaved runs inside one boot (the board's self check); ${BOARD_BOOTS} boots, ` +
    `median (min–max) over them. Goal (issue 11): status ≤ 300 ms.\n`);
  console.log(table(["board", "hearthctl status echo ms", "hearth --version ms", "the request alone ms", "status ÷ --version"],
    [[BOARD, spread(status), spread(version), spread(request), ratio(median(status), median(version))]]));
}
