// The boot race's workload: 30 services, the same for every init. Pure data and
// functions (critical path, a topological order); each init's own files are written
// from it by bench/boot-race/peers.ts.
//
//   a1 -> a2 -> a3 -> a4 ─┐
//   b1 -> b2 -> b3 ───────┴─> join        notify, 200 ms each: the critical path, 1 s
//   b1 ···> cli2 ···> sockd2               cli2 starts after b1 and connects to sockd2
//   cli1 ···> sockd1                       sockd1/sockd2: socket-activated servers (200 ms)
//   n1 … n9                                independent notify services, 200 ms
//   s1 … s9                                independent simple services, ready at once
//
// "->" is ordering on readiness (after + requires). "···>" is a connection: with socket
// activation the client needs no ordering on its server (the init holds the socket and
// the connection starts the server); an init without it starts the server as a plain
// service and orders the client after it, as one would configure it there.

export const PROBE = "/usr/bin/race-probe";
export const DELAY_MS = 200;

export interface Service {
  name: string;
  /** Time from its start until it is ready (the probe's sleep), in ms. */
  delayMs: number;
  /** Readiness-ordered dependencies (after + requires). */
  after: string[];
  /** "notify": tells the init when it is ready; "simple": ready once started. */
  type: "notify" | "simple";
  /** A server on this abstract socket, socket-activated where the init can do it. */
  listen?: string;
  /** A client of this abstract socket (name of the server service in `server`). */
  connect?: { address: string; server: string };
}

function build(): Service[] {
  const s: Service[] = [];
  const notify = (name: string, after: string[] = []) => s.push({ name, delayMs: DELAY_MS, after, type: "notify" });
  for (let i = 1; i <= 4; i++) notify(`a${i}`, i > 1 ? [`a${i - 1}`] : []);
  for (let i = 1; i <= 3; i++) notify(`b${i}`, i > 1 ? [`b${i - 1}`] : []);
  notify("join", ["a4", "b3"]);
  for (const n of [1, 2]) s.push({ name: `sockd${n}`, delayMs: DELAY_MS, after: [], type: "notify", listen: `@race-sockd${n}` });
  s.push({ name: "cli1", delayMs: 0, after: [], type: "notify", connect: { address: "@race-sockd1", server: "sockd1" } });
  s.push({ name: "cli2", delayMs: 0, after: ["b1"], type: "notify", connect: { address: "@race-sockd2", server: "sockd2" } });
  for (let i = 1; i <= 9; i++) notify(`n${i}`);
  for (let i = 1; i <= 9; i++) s.push({ name: `s${i}`, delayMs: 0, after: [], type: "simple" });
  return s;
}

export const SERVICES: readonly Service[] = build();

/** Ordering for an init without socket activation: a client also waits for its server. */
export function afterWithoutSocketActivation(svc: Service): string[] {
  return svc.connect ? [...svc.after, svc.connect.server] : svc.after;
}

/**
 * The physical limit: the longest chain of readiness delays, where a client of a
 * socket-activated server is chained to it (its answer needs the server ready). Returns
 * the time and the chain.
 */
export function criticalPath(services: readonly Service[] = SERVICES): { ms: number; chain: string[] } {
  const byName = new Map(services.map((s) => [s.name, s]));
  const memo = new Map<string, { ms: number; chain: string[] }>();
  const finish = (name: string): { ms: number; chain: string[] } => {
    const hit = memo.get(name);
    if (hit) return hit;
    const svc = byName.get(name)!;
    let best = { ms: 0, chain: [] as string[] };
    for (const dep of afterWithoutSocketActivation(svc)) {
      const f = finish(dep);
      if (f.ms > best.ms) best = f;
    }
    const own = { ms: best.ms + svc.delayMs, chain: [...best.chain, name] };
    memo.set(name, own);
    return own;
  };
  let top = { ms: 0, chain: [] as string[] };
  for (const s of services) {
    const f = finish(s.name);
    if (f.ms > top.ms) top = f;
  }
  return top;
}

/** A sequential start: every delay one after the other. */
export function sequentialSum(services: readonly Service[] = SERVICES): number {
  return services.reduce((t, s) => t + s.delayMs, 0);
}

/** The services in an order that starts every one after all it waits for (servers before clients). */
export function topologicalOrder(services: readonly Service[] = SERVICES): Service[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const done = new Set<string>();
  const out: Service[] = [];
  const visit = (svc: Service, path: string[]) => {
    if (done.has(svc.name)) return;
    if (path.includes(svc.name)) throw new Error(`cycle: ${[...path, svc.name].join(" -> ")}`);
    for (const dep of afterWithoutSocketActivation(svc)) visit(byName.get(dep)!, [...path, svc.name]);
    done.add(svc.name);
    out.push(svc);
  };
  for (const s of services) visit(s, []);
  return out;
}
