// The boot race's pure parts: the workload graph, each init's files, the console parser.
import { describe, expect, test } from "bun:test";
import { median, parseConsole, parseHearthPhases, phaseTable, type BootResult } from "../../bench/boot-race.ts";
import { busyboxRcS, finitConf, hearthUnit, openrcScript, systemdService, systemdTarget } from "../../bench/boot-race/peers.ts";
import { criticalPath, sequentialSum, SERVICES, topologicalOrder } from "../../bench/boot-race/workload.ts";
import { parseDependsRecurse, parseReadelf } from "../../board/image/libs.ts";

const svc = (name: string) => SERVICES.find((s) => s.name === name)!;

describe("workload", () => {
  test("30 services, two of them socket-activated servers", () => {
    expect(SERVICES.length).toBe(30);
    expect(new Set(SERVICES.map((s) => s.name)).size).toBe(30);
    expect(SERVICES.filter((s) => s.listen).map((s) => s.name)).toEqual(["sockd1", "sockd2"]);
  });
  test("critical path is the a-chain then join: 1 s; sequential sum 3.8 s", () => {
    expect(criticalPath()).toEqual({ ms: 1000, chain: ["a1", "a2", "a3", "a4", "join"] });
    expect(sequentialSum()).toBe(3800);
  });
  test("topological order puts every dependency and server first", () => {
    const order = topologicalOrder().map((s) => s.name);
    expect(order.length).toBe(30);
    for (const s of SERVICES) {
      for (const d of [...s.after, ...(s.connect ? [s.connect.server] : [])]) expect(order.indexOf(d)).toBeLessThan(order.indexOf(s.name));
    }
  });
});

describe("each init's files", () => {
  test("hearth: ordering, notify, a socket and no wanted_by for a server", () => {
    expect(hearthUnit(svc("a2"))).toContain('requires = ["a1"]\nafter = ["a1"]');
    const server = hearthUnit(svc("sockd1"));
    expect(server).toContain('listen_stream = "@race-sockd1"');
    expect(server).not.toContain("wanted_by");
    expect(hearthUnit(svc("s1"))).toContain('type = "simple"');
  });
  test("systemd: the client has no ordering on its socket-activated server", () => {
    expect(systemdService(svc("cli2"))).toContain("After=race-b1.service");
    expect(systemdService(svc("cli2"))).not.toContain("race-sockd2.service");
    expect(systemdTarget()).toContain("race-sockd1.socket");
    expect(systemdTarget()).not.toContain("race-sockd1.service");
  });
  test("without socket activation the client waits for its server", () => {
    expect(finitConf()).toContain("service [2345] name:race :cli2 <pid/race:b1,pid/race:sockd2> /usr/bin/race-probe cli2 0 --connect @race-sockd2 --pidfile /run/cli2.pid");
    expect(openrcScript(svc("cli1"))).toContain("need race-sockd1");
    const rcs = busyboxRcS().split("\n");
    expect(rcs.findIndex((l) => l.includes("race-probe sockd1 "))).toBeLessThan(rcs.findIndex((l) => l.includes("race-probe cli1 ")));
  });
});

describe("console", () => {
  test("handover, ready lines (first one counts), errors, interleaved output", () => {
    const text = "[    1.500000] Run /init as init process\r\n" +
      "[  OK  ] Started x.[    2.000000] race: ready a1\r\n[    2.100000] race: ready a1\n" +
      "[    2.250000] race: error b1: connect: refused\n[    2.300000] race: ready s";
    const p = parseConsole(text);
    expect(p.handover).toBe(1.5);
    expect([...p.ready]).toEqual([["a1", 2]]);
    expect(p.errors).toEqual(["b1: connect: refused"]);
  });
  test("each init's own marks: systemd and finit say in the kernel log when they run and start a service", () => {
    const systemd = "[    1.200000] Run /init as init process\n[    1.450000] systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM)\n" +
      "[    1.900000] systemd[1]: Starting race-a1.service - race a1...\n[    1.950000] systemd[1]: Starting race-b1.service - race b1...\n";
    expect(parseConsole(systemd)).toMatchObject({ handover: 1.2, initRunning: 1.45, firstStart: 1.9 });
    const finit = "[    1.000000] Run /init as init process\n[    1.518445] finit[1]:Finit v4.2, entering runlevel S\n" +
      "\x1b[K Starting race a1[    1.945108] finit[1]:Starting race:a1[81]\n";
    expect(parseConsole(finit)).toMatchObject({ initRunning: 1.518445, firstStart: 1.945108 });
    expect(parseConsole("[    1.0] Run /init as init process\n")).toMatchObject({ initRunning: null, firstStart: null });
  });
  test("hearth's phases come from its Startup finished line, and fill the table's columns", () => {
    const line = "         Startup finished in 1213 ms (kernel) + 1247 ms (runtime) + 420 ms (hearth code) + 1237 ms (configuration) + 982 ms (first spawn) + 1569 ms (units) = 6668 ms; 31 units ready\r\n";
    const phases = parseHearthPhases(line)!;
    expect(phases).toEqual({ kernel: 1213, runtime: 1247, "hearth code": 420, configuration: 1237, "first spawn": 982, units: 1569 });
    expect(parseHearthPhases("Startup finished in 12 ms (run")).toBeNull(); // a line still arriving
    const r: BootResult = { peer: "hearth", round: 0, ok: true, ready: 30, wallS: 9, allReady: 4.1, firstReady: 3.9, initRunning: 1.667, firstStart: 3.886, hearthPhases: phases };
    const table = phaseTable([r, { ...r, peer: "finit", hearthPhases: undefined, initRunning: undefined }], ["hearth", "finit"]);
    expect(table).toContain("| hearth | 1.667 s | 3.886 s | 3.900 s | 4.100 s |");
    expect(table).toContain("| finit | — | 3.886 s |");
    expect(table).toContain("runtime 1247, hearth code 420, configuration 1237");
  });
  test("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe("libs", () => {
  test("readelf output", () => {
    const text = "      [Requesting program interpreter: /lib/ld-linux-aarch64.so.1]\n" +
      " 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n" +
      " 0x000000000000001d (RUNPATH)            Library runpath: [/usr/lib/aarch64-linux-gnu/systemd]\n";
    expect(parseReadelf(text)).toEqual({ interp: "/lib/ld-linux-aarch64.so.1", needed: ["libc.so.6"], runpath: ["/usr/lib/aarch64-linux-gnu/systemd"] });
  });
  test("apt-cache depends --recurse: the packages of the architecture that are libraries or asked for", () => {
    const text = "systemd:arm64\n  Depends: libc6:arm64\nlibc6:arm64\n  Depends: libgcc-s1:arm64\nmount:arm64\nlibc6\n<sysv-rc:arm64>\n";
    expect(parseDependsRecurse(text, "arm64", ["systemd"])).toEqual(["libc6", "systemd"]);
  });
});
