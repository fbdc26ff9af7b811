// Every benchmark `make bench` runs, in this order: the one place to add one.
// Each entry runs alone as `bun bench/FILE ARGS...`; run-all.ts runs them all and writes
// bench/RESULTS.md. `markdown: true` means the benchmark prints markdown (tables) that go
// into RESULTS.md as they are; otherwise its output is quoted as a code block. run-all
// waits for a quiet machine before each and measures what else ran meanwhile; a `gated`
// benchmark also does so before each of its own measurements.

export interface Benchmark {
  name: string; // for `make bench BENCH="name ..."`
  title: string;
  file: string; // in bench/
  args: string[];
  markdown: boolean;
  /** It waits for quiet and repeats disturbed measurements itself (bench/lib/quiet.ts), and says so. */
  gated?: boolean;
}

export const BENCHMARKS: Benchmark[] = [
  { name: "supervision", title: "Supervision race on the host: 200 units, hearth vs s6 vs runit", file: "supervision.ts", args: ["5"], markdown: true, gated: true },
  { name: "profile", title: "Where hearth spends its time starting the 200-unit graph", file: "profile-start.ts", args: ["3"], markdown: true },
  { name: "startup-floor", title: "Start-up floor: hearth --version vs a Bun hello world compiled the same way (arm64 under qemu, native)", file: "startup-floor.ts", args: ["7"], markdown: true, gated: true },
  { name: "config-load", title: "Configuration loading: hearth check on the boot race's 30 units vs --version (arm64 under qemu, native)", file: "config-load.ts", args: ["7"], markdown: true, gated: true },
  { name: "micro", title: "Micro figures: notify throughput, memory, time to a status answer", file: "micro.ts", args: [], markdown: true, gated: true },
  { name: "spawn", title: "Cost of one spawn: hearth's spawner vs Bun.spawn vs posix_spawn, and with each confinement (as root)", file: "spawn.ts", args: ["500", "--context"], markdown: false },
  { name: "service-watchdog", title: "Service watchdog lateness, idle vs busy", file: "service-watchdog.ts", args: ["10"], markdown: false },
  { name: "socket-activation", title: "Socket activation: first connection on demand, accept = true throughput", file: "socket-activation.ts", args: ["40", "3"], markdown: false },
  { name: "boot-race", title: "Boot race under QEMU: 30 services, hearth vs systemd, finit, BusyBox rcS, OpenRC", file: "boot-race.ts", args: ["--runs", "5"], markdown: true },
];
