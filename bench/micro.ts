// Micro figures, each against a reference measured in the same run. Prints markdown.
//
// Run: bun bench/micro.ts [notify] [memory] [ctl]   (all three by default)
//   notify — notify datagrams per second the manager absorbs from one flooding client
//            (build/bench/notify-flood, blocking sends: nothing is dropped, the sender goes
//            as fast as the manager reads), against a bare C receiver (recvmsg with
//            SO_PASSCRED and nothing else); event-loop lag meanwhile: round trips of
//            `ping` on one open control connection every 10 ms, flood vs idle.
//   memory — hearth run's resident memory with 0, 100, 200 and 400 trivial units
//            (probes that sleep), and its growth per 100 units (least-squares slope),
//            against s6 (s6-svscan + one s6-supervise per unit) and runit (runsvdir +
//            one runsv per unit): PSS (shared pages divided among their users) summed
//            over the supervisor's processes, so that 400 small processes are not
//            counted 400 times for one libc.
//   ctl    — time to a status answer with 200 units running: `hearth ctl status UNIT`
//            (the compiled client: a new process), a raw client on the control socket
//            (connect, one JSON line each way, close), against `s6-svstat DIR` and
//            `sv status DIR` (new processes too).
// Each measurement waits for a quiet machine first, and is repeated when disturbed (bench/lib/quiet.ts).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "bun";
import { makeUnits, type BenchUnit } from "./lib/graph.ts";
import { table } from "./lib/markdown.ts";
import { FLOOD, HEARTH, LAUNCH, PROBE, requireBuilt, scratchDir } from "./lib/paths.ts";
import { anonKiB, cpuNs, pssKiB, rssKiB } from "./lib/proc.ts";
import { fmt, median, percentile, ratio, slope, spread } from "./lib/stats.ts";
import { BenchRun, Launched, type Flavour } from "./lib/supervisors.ts";
import { createRecord } from "./lib/record.ts";
import { interferenceNote, quietly } from "./lib/quiet.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FLOOD_SECONDS = 4;
const PING_EVERY_MS = 10;

// ---- a raw control client --------------------------------------------------------------

/** One open connection to hearth's control socket; request() sends a line, awaits one. */
class ControlConnection {
  private pending: ((line: string) => void) | null = null;
  private buffer = "";
  private constructor(private socket: Socket<undefined> | null) {}

  static async open(runDir: string): Promise<ControlConnection> {
    const c = new ControlConnection(null);
    c.socket = await Bun.connect({
      unix: join(runDir, "control.sock"),
      socket: {
        data: (_s, chunk) => {
          c.buffer += chunk.toString();
          const nl = c.buffer.indexOf("\n");
          if (nl < 0) return;
          const line = c.buffer.slice(0, nl);
          c.buffer = c.buffer.slice(nl + 1);
          const p = c.pending;
          c.pending = null;
          p?.(line);
        },
      },
    });
    return c;
  }

  /** Round trip of one request, in ms. */
  async request(body: object): Promise<number> {
    const t0 = performance.now();
    const answered = new Promise<string>((resolve) => (this.pending = resolve));
    this.socket!.write(JSON.stringify(body) + "\n");
    await answered;
    return performance.now() - t0;
  }

  close() {
    this.socket?.end();
  }
}

async function waitForFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(path)) {
    if (performance.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
}

// ---- notify throughput and event-loop lag ---------------------------------------------------

interface FloodResult {
  rate: number; // datagrams per second
  lagMs: number[];
  cpuPct: number;
  lastStatusSeen: boolean;
}

/** hearth run with one idle unit, or with a flooding one; pings the control socket meanwhile. */
async function hearthUnderFlood(flood: boolean): Promise<FloodResult> {
  const dir = scratchDir(flood ? "flood" : "idle");
  const countFile = join(dir, "count");
  const units: Record<string, string> = {
    idle: `[service]\nexec_start = ["sleep", "3600"]\n`,
  };
  if (flood) units.flood = `[service]\nnotify_access = "main"\nexec_start = ${JSON.stringify([FLOOD, "send", String(FLOOD_SECONDS), countFile])}\n`;
  const conf = join(dir, "conf"), runDir = join(dir, "run");
  for (const [name, body] of Object.entries(units)) {
    await Bun.write(join(conf, "units", `${name}.toml`), `[unit]\nwanted_by = ["multi-user"]\n${body}`);
  }
  const record = createRecord(dir, 0);
  const sup = await Launched.start({
    flavour: "hearth", argv: [HEARTH, "run", "-c", conf, "-r", runDir], stopSignal: "SIGTERM", supervisorPids: (m) => [m],
  }, record, 0, join(dir, "log"));
  try {
    await waitForFile(join(runDir, "control.sock"), 10_000);
    const conn = await ControlConnection.open(runDir);
    const lag: number[] = [];
    const cpu0 = cpuNs(sup.pid), t0 = performance.now();
    const end = t0 + FLOOD_SECONDS * 1000;
    while (performance.now() < end) {
      lag.push(await conn.request({ verb: "ping" }));
      await Bun.sleep(PING_EVERY_MS);
    }
    const cpuPct = ((cpuNs(sup.pid) - cpu0) / 1e6 / (performance.now() - t0)) * 100;
    conn.close();
    if (!flood) return { rate: NaN, lagMs: lag, cpuPct, lastStatusSeen: false };
    await waitForFile(countFile, 10_000);
    const [count, seconds] = readFileSync(countFile, "utf8").trim().split(" ").map(Number) as [number, number];
    await Bun.sleep(200); // what is still queued in the socket
    const p = Bun.spawn([HEARTH, "ctl", "-r", runDir, "status", "flood", "--json"], { stdout: "pipe" });
    const status = JSON.parse(await new Response(p.stdout).text());
    return { rate: count / seconds, lagMs: lag, cpuPct, lastStatusSeen: status.units[0].statusText === String(count) };
  } finally {
    await sup.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The reference receiver: notify-flood sink, fed by the same client. */
async function sinkRate(): Promise<number> {
  const dir = scratchDir("sink");
  const path = join(dir, "notify.sock"), countFile = join(dir, "count");
  const sink = Bun.spawn([FLOOD, "sink", path, String(FLOOD_SECONDS + 1)], { stdout: "pipe" });
  const reader = sink.stdout.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  const sender = Bun.spawn([FLOOD, "send", String(FLOOD_SECONDS), countFile], { env: { NOTIFY_SOCKET: path } });
  await waitForFile(countFile, (FLOOD_SECONDS + 5) * 1000);
  sender.kill();
  await Promise.all([sender.exited, sink.exited]);
  const [count, seconds] = readFileSync(countFile, "utf8").trim().split(" ").map(Number) as [number, number];
  rmSync(dir, { recursive: true, force: true });
  return count / seconds;
}

async function notifySection(): Promise<string> {
  const idle: FloodResult[] = [], busy: FloodResult[] = [], sink: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    idle.push(await quietly("hearth idle", () => hearthUnderFlood(false)));
    busy.push(await quietly("hearth under flood", () => hearthUnderFlood(true)));
    sink.push(await quietly("bare receiver", sinkRate));
  }
  const allLag = (rs: FloodResult[]) => rs.flatMap((r) => r.lagMs);
  const rates = busy.map((r) => r.rate);
  const idleP99 = percentile(allLag(idle), 99);
  const rows = [
    ["bare C receiver (reference)", spread(sink.map((r) => r / 1000)), "1.00", "–", "–", "–", "–"],
    ["hearth run", spread(rates.map((r) => r / 1000)), ratio(median(rates), median(sink)),
      fmt(percentile(allLag(busy), 50)), fmt(percentile(allLag(busy), 99)), ratio(percentile(allLag(busy), 99), idleP99),
      spread(busy.map((r) => r.cpuPct))],
    ["hearth run, idle (reference)", "–", "–", fmt(percentile(allLag(idle), 50)), fmt(idleP99), "1.00", spread(idle.map((r) => r.cpuPct))],
  ];
  const lost = busy.filter((r) => !r.lastStatusSeen).length;
  return `**Notify throughput and event-loop lag** — one client flooding STATUS=n for ${FLOOD_SECONDS} s, ${ROUNDS} rounds; ` +
    `lag: ${allLag(busy).length} control pings under flood, ${allLag(idle).length} idle (pooled over the rounds). ` +
    `Last STATUS= seen by \`hearth ctl status\` equal to the last one sent: ${ROUNDS - lost}/${ROUNDS} rounds.\n\n` +
    table(["receiver", "k datagrams/s", "× reference", "ping p50 ms", "ping p99 ms", "p99 × idle", "manager CPU %"], rows);
}

// ---- memory ------------------------------------------------------------------------------------

const SIZES = [0, 100, 200, 400];
const MEMORY_FLAVOURS: Flavour[] = ["hearth", "s6", "runit"];

/** n units that become ready at once and then sleep. */
function trivialUnits(n: number): BenchUnit[] {
  return Array.from({ length: n }, (_, index) => ({ index, name: `t${String(index).padStart(3, "0")}`, delayMs: 0, deps: [] }));
}

interface Memory {
  pssKiB: number;
  rssKiB: number;
  anonKiB: number;
}

async function measureMemory(flavour: Flavour, n: number): Promise<Memory> {
  const run = await BenchRun.ready(flavour, trivialUnits(n));
  try {
    await Bun.sleep(1000); // settle: start-up garbage collected, buffers returned
    const pids = run.sup.supervisorPids();
    const sum = (f: (pid: number) => number) => pids.reduce((a, p) => a + f(p), 0);
    return { pssKiB: sum(pssKiB), rssKiB: sum(rssKiB), anonKiB: sum(anonKiB) };
  } finally {
    await run.stop();
  }
}

async function memorySection(): Promise<string> {
  const samples = new Map<string, Memory[]>(); // "flavour/n"
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of SIZES) {
      for (let i = 0; i < MEMORY_FLAVOURS.length; i++) {
        const flavour = MEMORY_FLAVOURS[(i + round) % MEMORY_FLAVOURS.length]!;
        const key = `${flavour}/${n}`;
        samples.set(key, [...(samples.get(key) ?? []), await quietly(`${flavour} memory`, () => measureMemory(flavour, n))]);
      }
    }
  }
  const mib = (kib: number) => kib / 1024;
  const med = (flavour: string, n: number, pick: (m: Memory) => number) => median(samples.get(`${flavour}/${n}`)!.map(pick));
  const growth = (flavour: string) => slope(SIZES, SIZES.map((n) => med(flavour, n, (m) => m.pssKiB))) * 100;
  const rows = MEMORY_FLAVOURS.map((f) => [
    f === "hearth" ? "hearth run" : f === "s6" ? "s6-svscan + s6-supervise" : "runsvdir + runsv",
    fmt(mib(med(f, 0, (m) => m.rssKiB))),
    fmt(mib(med(f, 0, (m) => m.anonKiB))),
    ...SIZES.map((n) => spread(samples.get(`${f}/${n}`)!.map((m) => mib(m.pssKiB)))),
    fmt(mib(growth(f))),
    ratio(growth(f), growth("hearth")),
  ]);
  return `**Resident memory** — MiB, ${ROUNDS} rounds, medians (min–max); after all units are up and 1 s of quiet. ` +
    `PSS summed over the supervisor's processes; growth: least-squares slope of PSS over ${SIZES.join(", ")} units. ` +
    `Idle anonymous: RssAnon at 0 units, the memory no page cache holds (the rest of hearth's RSS is the file pages ` +
    `of the Bun executable it has touched).\n\n` +
    table(["supervisor", "idle RSS", "idle anonymous", ...SIZES.map((n) => `PSS @${n}`), "PSS growth per 100 units", "× hearth"], rows);
}

// ---- time to a status answer ------------------------------------------------------------------

const CTL_SPAWNED = 20;
const CTL_RAW = 100;

async function timeCommand(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  await p.exited;
  return performance.now() - t0;
}

async function rawStatus(runDir: string, unit: string): Promise<number> {
  const t0 = performance.now();
  const conn = await ControlConnection.open(runDir);
  await conn.request({ verb: "status", units: [unit], lines: 10, follow: false });
  conn.close();
  return performance.now() - t0;
}

/** With `units` up under one supervisor: the times of its status clients, by client. */
async function statusTimes(flavour: Flavour, units: BenchUnit[], unit: BenchUnit): Promise<Record<string, number[]>> {
  const run = await BenchRun.ready(flavour, units);
  const clients: Record<string, () => Promise<number>> = {};
  if (flavour === "hearth") {
    clients["hearth ctl status UNIT"] = () => timeCommand([HEARTH, "ctl", "-r", run.setup.runDir!, "status", unit.name]);
    clients["raw socket client (connect, request, answer)"] = () => rawStatus(run.setup.runDir!, unit.name);
  } else if (flavour === "s6") {
    clients["s6-svstat DIR"] = () => timeCommand(["s6-svstat", run.setup.serviceDir!(unit)]);
  } else {
    clients["sv status DIR"] = () => timeCommand(["sv", "status", run.setup.serviceDir!(unit)]);
  }
  const times: Record<string, number[]> = {};
  try {
    for (const [name, once] of Object.entries(clients)) {
      const n = name.startsWith("raw") ? CTL_RAW : CTL_SPAWNED;
      for (let i = 0; i < 3; i++) await once(); // warm the page cache
      times[name] = [];
      for (let i = 0; i < n; i++) times[name].push(await once());
    }
  } finally {
    await run.stop();
  }
  return times;
}

async function ctlSection(): Promise<string> {
  const units = trivialUnits(200);
  const unit = units[100]!;
  const times = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const flavour of MEMORY_FLAVOURS) {
      const measured = await quietly(`${flavour} status`, () => statusTimes(flavour, units, unit));
      for (const [name, xs] of Object.entries(measured)) times.set(name, [...(times.get(name) ?? []), ...xs]);
    }
  }
  const base = median(times.get("hearth ctl status UNIT")!);
  const rows = [...times].map(([name, xs]) => [name, fmt(median(xs)), `${fmt(percentile(xs, 10))}–${fmt(percentile(xs, 90))}`, ratio(median(xs), base)]);
  return `**Time to a status answer** — 200 units running; ${ROUNDS} rounds of ${CTL_SPAWNED} spawned clients ` +
    `(${CTL_RAW} raw requests), pooled; ms, median and p10–p90.\n\n` +
    table(["client", "median ms", "p10–p90 ms", "× hearth ctl"], rows);
}

// ---- main --------------------------------------------------------------------------------------

const SECTIONS: Record<string, () => Promise<string>> = { notify: notifySection, memory: memorySection, ctl: ctlSection };

requireBuilt(HEARTH, PROBE, LAUNCH, FLOOD);
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SECTIONS);
for (const name of chosen) {
  const section = SECTIONS[name];
  if (!section) {
    console.error(`unknown section ${name}; expected ${Object.keys(SECTIONS).join(", ")}`);
    process.exit(2);
  }
  console.log(await section());
  console.log();
}
console.log(`_${interferenceNote()}_`);
