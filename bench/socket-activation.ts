// Socket activation, side by side in one run (DESIGN §7: ratios, not absolute times).
// Run: bun bench/socket-activation.ts [ROUNDS] [SECONDS]   (defaults 40 and 3)
//
// 1. First-connection latency: a client connects to a unix socket, sends a line and
//    waits for its echo (build/peers/echo-libsystemd, accept = false, type = notify).
//      on demand   hearth holds the socket, the service is stopped: the connection
//                  starts it (trigger, spawn, exec, sd_listen_fds, accept, echo);
//      running     the same service under hearth, already running (a fresh connection);
//      ssa         `systemd-socket-activate -l PATH` (Debian's systemd package): it waits
//                  for the first connection, then execs the same program — the reference
//                  for "on demand" without a service manager around it.
//    ROUNDS rounds, the three interleaved in a rotating order; medians and p90.
//
// 2. Accept = true throughput: 8 clients in a loop (connect, send a line, read the echo,
//    close) against 127.0.0.1, for SECONDS each, three times, interleaved:
//      hearth      a unit with accept = true running `echo-libsystemd --accept` per
//                  connection (an instance NAME@N each, with REMOTE_ADDR);
//      ssa         `systemd-socket-activate --accept` running the same program;
//      no spawn    the running accept = false echo server, one process for all: what the
//                  client side can do at most on this machine.
//
// hearth runs as `hearth run` from dist/hearth when it is built, else from the sources.
import { spawn as spawnProcess, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { exchange, freePort, type StreamTarget } from "../test/support/clients.ts";
import { cleanup, hearthCommand, PEERS, launchManager, tempDir, writeConf } from "../test/support/harness.ts";

const ROUNDS = Number(process.argv[2] ?? 40);
const SECONDS = Number(process.argv[3] ?? 3);
const CLIENTS = 8;
const ECHO = join(PEERS, "echo-libsystemd");
const SSA = "/usr/bin/systemd-socket-activate";
// A stopped service has been stopped for a while: let the stop's own work finish first.
const SETTLE_MS = 50;

// ---------------------------------------------------------------- statistics

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const median = (values: number[]) => quantile(values, 0.5);

// ---------------------------------------------------------------- systemd-socket-activate

/** Starts systemd-socket-activate and resolves once it listens. */
function startSsa(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawnProcess(SSA, args, { stdio: ["ignore", "ignore", "pipe"] });
    let said = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes("Listening on")) resolve(child);
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`${SSA} exited (${code}): ${said}`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await gone;
}

// ---------------------------------------------------------------- load

/** CLIENTS loops of connect/echo/close for `seconds`; connections per second. */
async function throughput(target: StreamTarget, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const loop = async (client: number) => {
    for (let i = 0; performance.now() < end; i++) {
      try {
        await exchange(target, `c${client}-${i}\n`, { timeoutMs: 5000 });
        done++;
      } catch {
        failed++;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => loop(i)));
  if (failed > 0) console.error(`  (${failed} connections failed against ${JSON.stringify(target)})`);
  return done / ((performance.now() - start) / 1000);
}

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const scratch = tempDir("bench-sa");
  const onDemand = join(scratch, "ondemand.sk");
  const running = join(scratch, "running.sk");
  const ssaPath = join(scratch, "ssa.sk");
  const acceptPort = await freePort();
  const conf = writeConf({
    ondemand: `
[service]
type = "notify"
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${onDemand}"
`,
    running: `
[unit]
wanted_by = ["multi-user"]

[service]
type = "notify"
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${running}"
`,
    "peraccept@": `
[service]
exec_start = ["${ECHO}", "--accept"]

[[socket]]
listen_stream = "127.0.0.1:${acceptPort}"
accept = true
max_connections = 256
`,
  });
  const m = await launchManager(conf, ["--log-level", "notice"]);
  await m.waitForState("running", "active");
  try {
    console.log(`socket activation, ${process.arch}, Bun ${Bun.version}, hearth from ${hearthCommand().join(" ")}`);
    await firstConnection(m, { onDemand, running, ssaPath });
    await acceptRate(acceptPort, running);
  } finally {
    await m.stop();
    cleanup(m, conf, scratch);
  }
}

async function firstConnection(m: Awaited<ReturnType<typeof launchManager>>, paths: { onDemand: string; running: string; ssaPath: string }) {
  const samples: Record<string, number[]> = { "on demand": [], running: [], ssa: [] };
  const methods: Record<string, () => Promise<number>> = {
    "on demand": async () => {
      const stopped = await m.ctl("stop", "ondemand");
      if (stopped.code !== 0) throw new Error(`ctl stop: ${stopped.stdout}${stopped.stderr}`);
      await Bun.sleep(SETTLE_MS);
      return (await exchange({ path: paths.onDemand }, "first\n")).answeredMs;
    },
    running: async () => (await exchange({ path: paths.running }, "first\n")).answeredMs,
    ssa: async () => {
      const child = await startSsa(["-l", paths.ssaPath, ECHO]);
      await Bun.sleep(SETTLE_MS);
      try {
        return (await exchange({ path: paths.ssaPath }, "first\n")).answeredMs;
      } finally {
        await stopProcess(child);
      }
    },
  };
  const names = Object.keys(methods);
  for (let i = 0; i < 3; i++) for (const name of names) await methods[name]!(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      samples[name]!.push(await methods[name]!());
    }
  }
  const base = median(samples.running!);
  console.log(`\n1. first-connection latency (connect, send, echo back), ${ROUNDS} rounds interleaved`);
  console.log("   method       median ms   p90 ms   × running");
  for (const name of names) {
    const s = samples[name]!;
    console.log(`   ${name.padEnd(11)} ${median(s).toFixed(2).padStart(9)} ${quantile(s, 0.9).toFixed(2).padStart(8)}   ${(median(s) / base).toFixed(1).padStart(8)}`);
  }
  console.log(`   on demand / ssa: ${(median(samples["on demand"]!) / median(samples.ssa!)).toFixed(2)}`);
}

async function acceptRate(hearthPort: number, runningPath: string) {
  const ssaPort = await freePort();
  const ssa = await startSsa(["--accept", "-l", `127.0.0.1:${ssaPort}`, ECHO, "--accept"]);
  const rates: Record<string, number[]> = { hearth: [], ssa: [], "no spawn": [] };
  const targets: Record<string, StreamTarget> = {
    hearth: { host: "127.0.0.1", port: hearthPort },
    ssa: { host: "127.0.0.1", port: ssaPort },
    "no spawn": { path: runningPath },
  };
  try {
    for (const target of Object.values(targets)) await throughput(target, 0.5); // warm-up
    for (let run = 0; run < 3; run++) {
      for (const name of Object.keys(targets)) rates[name]!.push(await throughput(targets[name]!, SECONDS));
    }
  } finally {
    await stopProcess(ssa);
  }
  console.log(`\n2. accept = true: connections per second, ${CLIENTS} clients, ${SECONDS} s × 3 runs interleaved`);
  console.log("   method       median /s   runs                ÷ ssa");
  for (const name of Object.keys(targets)) {
    const r = rates[name]!;
    console.log(`   ${name.padEnd(11)} ${median(r).toFixed(0).padStart(9)}   ${r.map((x) => x.toFixed(0)).join(", ").padEnd(18)} ${(median(r) / median(rates.ssa!)).toFixed(2).padStart(6)}`);
  }
}

await main();
