// Cost of one spawn of /bin/true: hearth's spawner vs Bun.spawn vs libc posix_spawn.
// Run: bun bench/spawn.ts [N] [--context]   (N spawns per method, default 500; make bench passes --context)
// --context adds hearth spawns with parts of the hardened execution context, to price
// each against a plain one (root only: cgroup, namespace and capabilities need it).
// Interleaved: each round spawns once with every method, in a rotating order, so that
// drift in the machine's load (other work on a shared 2-core box) hits all alike.
//
// Two figures per method, medians over N:
//   launch     — the spawn call alone: until the parent has the pid (hearth and glibc's
//                posix_spawn both use CLONE_VFORK: they return once the child has
//                called execve, so an exec failure is known by then);
//   round trip — launch plus collecting the exit status (waitpid on that pid; for
//                Bun.spawn, `await proc.exited`, i.e. through Bun's event loop).
//
// Measured on the dev box (x86_64, 2 shared cores, Debian 12, Linux 6.1, Bun 1.4.5),
// N=500, three runs, medians in µs (ratio vs hearth):
//   method       launch            round trip
//   hearth       120 / 126 / 130   659 / 728 / 735
//   Bun.spawn    108 / 115 / 115   652 / 741 / 738   (0.88-0.92 / 0.99-1.02)
//   posix_spawn   96 / 103 / 105   625 / 704 / 709   (0.80-0.82 / 0.95-0.97)
// hearth's launch does more than the other two: it resets all 64 signal dispositions,
// starts a session, places stdio on /dev/null and closes every other fd in the child;
// ~5 µs of it is JS (laying out the request). The round trip, which is what a service
// start costs, is within 5% of the others.

// The sandbox (--context, as root), the same box under heavy load from other work (the plain
// hearth spawn at ~500 µs launch / ~3.9 ms round trip instead of 120 / 700), N=300, two runs
// after the plan and filter memo (src/exec/spawner.ts), round trip ratio vs plain hearth:
//   +private_tmp (a mount namespace, one bind)              2.14 / 2.02
//   +chrony-mounts (Debian chrony.service's mount keys)      2.37 / 2.36
//   +chrony-seccomp (its seccomp keys: two filters)          —    / 1.67
//   +chrony-all (both, and a UTS namespace)                  2.44 / 2.27
// Before the memo chrony-all launched in 4948 µs (plan ~1 ms + filters ~0.3 ms of JS per
// spawn), after it in 1585-1794 µs. What is left is the kernel's: a new mount namespace
// (copying the host's mounts, then tearing them down when the process exits) costs about
// one more spawn by itself. So the manager makes one per unit and its later processes join
// it (+chrony-joined, setns into the first one's); two later runs, same load:
//   method           launch ratio   round trip ratio
//   +chrony-all      3.45 / 3.41    1.64 / 2.20
//   +chrony-joined   1.89 / 1.85    1.29 / 1.75   (the other lines of those runs: +uts, which
//                                                   costs nothing, at 1.00 / 1.30: that noisy)

import { ptr } from "bun:ffi";
import { availableParallelism } from "node:os";
import { libc } from "../ffi/libc.ts";
import { openFile } from "../ffi/fd.ts";
import { O } from "../ffi/constants.ts";
import { discoverCgroups } from "../src/exec/cgroup.ts";
import { spawn, type SpawnRequest } from "../src/exec/spawner.ts";
import type { Sandbox } from "../src/exec/mount-plan.ts";
import type { SeccompOptions } from "../src/exec/seccomp.ts";

const N = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 500);
const contextAsked = process.argv.includes("--context");
const withContext = contextAsked && process.getuid?.() === 0;
if (contextAsked && !withContext) console.log("--context skipped: the sandbox spawns need root");
const PROGRAM = "/bin/true";

interface Sample {
  launch: number;
  roundTrip: number;
}

const status = new Int32Array(1);

function waitFor(pid: number): void {
  while (libc.waitpid(pid, status, 0) !== pid) {}
}

function hearthOnce(extra: Partial<SpawnRequest> = {}): Sample {
  const start = performance.now();
  const result = spawn({ path: PROGRAM, argv: ["true"], env: {}, ...extra });
  const launched = performance.now();
  if (!result.ok) throw new Error(result.message);
  waitFor(result.pid);
  return { launch: launched - start, roundTrip: performance.now() - start };
}

async function bunOnce(): Promise<Sample> {
  const start = performance.now();
  const proc = Bun.spawn([PROGRAM], { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: {} });
  const launched = performance.now();
  await proc.exited;
  return { launch: launched - start, roundTrip: performance.now() - start };
}

// posix_spawn(3) with no file actions and no attributes: the libc baseline.
const pathBytes = Buffer.from(`${PROGRAM}\0`);
const argv0 = Buffer.from("true\0");
const argvArray = new BigUint64Array([BigInt(ptr(argv0)), 0n]);
const envArray = new BigUint64Array([0n]);
const pidCell = new Int32Array(1);

function posixSpawnOnce(): Sample {
  const start = performance.now();
  const error = libc.posix_spawn(pidCell, pathBytes, null, null, argvArray, envArray);
  const launched = performance.now();
  if (error !== 0) throw new Error(`posix_spawn: errno ${error}`);
  waitFor(pidCell[0]!);
  return { launch: launched - start, roundTrip: performance.now() - start };
}

const methods: Record<string, () => Sample | Promise<Sample>> = {
  hearth: () => hearthOnce(),
  "Bun.spawn": bunOnce,
  posix_spawn: posixSpawnOnce,
};

if (withContext) {
  const tree = discoverCgroups("run");
  if ("unavailable" in tree) throw new Error(`--context needs cgroup v2: ${tree.unavailable}`);
  process.on("exit", () => tree.close());
  const unit = tree.ensureUnit("bench");
  if ("error" in unit) throw new Error(unit.error);
  Object.assign(methods, {
    "+cgroup": () => hearthOnce({ cgroupFd: unit.cgroupFd }),
    "+caps": () => hearthOnce({ capabilityBoundingSet: ["CAP_NET_BIND_SERVICE"], ambientCapabilities: ["CAP_NET_BIND_SERVICE"] }),
    // every CPU: the cost of the calls, not of waiting for one busy CPU
    "+sched": () => hearthOnce({ cpuAffinity: [...Array(availableParallelism()).keys()], ioScheduling: { class: "idle", priority: 0 } }),
    "+private_tmp": () => hearthOnce({ sandbox: { privateTmp: { tmp: "/tmp", varTmp: null } } }),
    "+ro+hidden": () => hearthOnce({ sandbox: { readOnlyPaths: ["/usr", "/etc"], inaccessiblePaths: ["/root"] } }),
    // Debian 12's chrony.service, the heaviest hardening among Debian's units: its mounts, its seccomp, both
    "+chrony-mounts": () => hearthOnce({ sandbox: CHRONY_MOUNTS }),
    "+chrony-seccomp": () => hearthOnce({ seccomp: CHRONY_SECCOMP }),
    "+uts": () => hearthOnce({ privateUts: true }),
    "+chrony-all": () => hearthOnce({ sandbox: CHRONY_MOUNTS, seccomp: CHRONY_SECCOMP, privateUts: true }),
    // as the manager spawns a unit's later processes: into the namespace its first one got
    "+chrony-joined": () => hearthOnce({ sandbox: CHRONY_MOUNTS, seccomp: CHRONY_SECCOMP, privateUts: true, joinNamespaces: { mnt: chronyNamespace() } }),
  });
}

const CHRONY_MOUNTS: Sandbox = {
  protectSystem: "strict", protectHome: true, privateDevices: false, protectKernelTunables: true, protectKernelModules: true,
  protectKernelLogs: true, protectControlGroups: true, protectProc: "invisible", procSubset: "pid",
  readWritePaths: ["/run", "-/var/spool"], privateTmp: { tmp: "/tmp", varTmp: null },
};
const CHRONY_SECCOMP: SeccompOptions = {
  lockPersonality: true, memoryDenyWriteExecute: true, restrictAddressFamilies: ["AF_INET AF_INET6 AF_UNIX", "AF_NETLINK"],
  restrictNamespaces: true, restrictSuidSgid: true, systemCallArchitectures: ["native"], protectHostname: true,
  systemCallFilter: ["~@cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap"],
};

/** A chrony-confined process's mount namespace, kept open for the joined spawns. */
let chronyNs: number | null = null;
function chronyNamespace(): number {
  if (chronyNs !== null) return chronyNs;
  const first = spawn({ path: "/bin/sleep", argv: ["sleep", "1"], env: {}, sandbox: CHRONY_MOUNTS });
  if (!first.ok) throw new Error(first.message);
  chronyNs = openFile(`/proc/${first.pid}/ns/mnt`, O.RDONLY);
  waitFor(first.pid);
  return chronyNs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
  for (const run of Object.values(methods)) for (let i = 0; i < 20; i++) await run(); // warm-up (and compile)
  const names = Object.keys(methods);
  for (let round = 0; round < N; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!; // rotate who goes first
      samples[name]!.push(await methods[name]!());
    }
  }
  const base = { launch: median(samples.hearth!.map((s) => s.launch)), roundTrip: median(samples.hearth!.map((s) => s.roundTrip)) };
  console.log(`spawn of ${PROGRAM}, N=${N} per method, interleaved, ${process.arch}, Bun ${Bun.version}`);
  console.log("method          launch µs  ratio   round trip µs  ratio");
  for (const name of names) {
    const launch = median(samples[name]!.map((s) => s.launch));
    const roundTrip = median(samples[name]!.map((s) => s.roundTrip));
    console.log(
      `${name.padEnd(15)} ${(launch * 1000).toFixed(0).padStart(9)}  ${(launch / base.launch).toFixed(2).padStart(5)}` +
        `   ${(roundTrip * 1000).toFixed(0).padStart(12)}  ${(roundTrip / base.roundTrip).toFixed(2).padStart(5)}`,
    );
  }
}

await main();
