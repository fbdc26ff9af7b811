// Service watchdog lateness: how long after a missed deadline the manager acts (the
// timer fires and SIGABRT goes out in the same turn of the loop). Two runs side by side:
// the manager idle, and the manager busy (services flooding their stdout and the notify
// socket). Figures: p50/p99/max of the lateness recorded in each watchdog exit.
// Run: bun bench/service-watchdog.ts [seconds per run, default 10]
// Needs build/peers/notify-libsystemd (make deps) and dist/hearth (make build).
import { join } from "node:path";
import { PEERS, cleanup, launchManager, writeConf } from "../test/support/harness.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const WATCHED = 20;

function units(busy: boolean): Record<string, string> {
  const u: Record<string, string> = {};
  for (let i = 0; i < WATCHED; i++) {
    u[`wd-${i}`] = `[unit]\nwanted_by = ["multi-user"]\n[service]\ntype = "notify"\nwatchdog_sec = 0.2\n` +
      `restart = "always"\nrestart_sec = 0.05\nstart_limit_interval_sec = 0\n` +
      `exec_start = ["${join(PEERS, "notify-libsystemd")}"]\nenvironment = { PING = "0" }\n`;
  }
  if (busy) {
    for (let i = 0; i < 4; i++) u[`flood-out-${i}`] = `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["yes", "a line of output from a chatty service"]\n`;
    for (let i = 0; i < 2; i++) {
      u[`flood-notify-${i}`] = `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["/usr/bin/python3", "-c", ` +
        `"import os,socket\\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\ns.connect(os.environ['NOTIFY_SOCKET'])\\ni=0\\nwhile True:\\n  i+=1\\n  s.send(b'STATUS=busy %%d' % i)"]\n`;
    }
  }
  return u;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function run(busy: boolean) {
  const conf = writeConf(units(busy));
  const m = await launchManager(conf);
  const cpu0 = cpuTicks(m.proc.pid);
  await Bun.sleep(SECONDS * 1000);
  const cpu1 = cpuTicks(m.proc.pid);
  const late: number[] = [];
  for (let i = 0; i < WATCHED; i++) {
    const u = await m.unit(`wd-${i}`);
    for (const e of u.exits) if (e.cause === "watchdog" && typeof e.lateMs === "number") late.push(e.lateMs);
  }
  await m.stop();
  cleanup(m, conf);
  late.sort((a, b) => a - b);
  return { busy, samples: late.length, p50: percentile(late, 50), p99: percentile(late, 99), max: late.at(-1) ?? NaN, cpu: (cpu1 - cpu0) / 100 / SECONDS };
}

/** utime+stime of a process in clock ticks (USER_HZ = 100 on Linux). */
function cpuTicks(pid: number): number {
  const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "latin1") as string;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

const idle = await run(false);
const busy = await run(true);
const fmt = (x: number) => x.toFixed(2);
console.log(`service watchdog lateness, ${WATCHED} services with watchdog_sec=0.2 never pinging, ${SECONDS}s per run`);
console.log("run    samples  p50 ms  p99 ms  max ms  manager CPU");
for (const r of [idle, busy]) {
  console.log(`${r.busy ? "busy" : "idle"}   ${String(r.samples).padStart(7)}  ${fmt(r.p50).padStart(6)}  ${fmt(r.p99).padStart(6)}  ${fmt(r.max).padStart(6)}  ${(r.cpu * 100).toFixed(0)}%`);
}
console.log(`p99 busy/idle: ${fmt(busy.p99 / Math.max(idle.p99, 0.01))}x; target: p99 under 20 ms while busy -> ${busy.p99 < 20 ? "met" : "MISSED"}`);
