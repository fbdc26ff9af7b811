// The D-Bus client hearth's PID 1 speaks (src/dbus/): the wire format, the handshake and
// what it makes of hostile bytes; and what a dbus service does with the owners it is told.
import { describe, expect, test } from "bun:test";
import { decodeMessage, encodeMethodCall, MalformedMessage, messageLength } from "../../src/dbus/message.ts";
import { BusProtocol, MAX_MESSAGE } from "../../src/dbus/protocol.ts";
import { BusWatcher } from "../../src/dbus/watcher.ts";
import { busNameProblem, unixSocketOfAddress } from "../../src/dbus/names.ts";
import { buildConfig } from "../../src/config/load.ts";
import { EngineSim as Sim } from "../support/engine-sim.ts";
import { service } from "../support/units.ts";

/** A message as the bus sends it: written with the encoder, then its type, sender, reply serial and body patched in. */
function fromBus(opts: { type: number; member?: string; replySerial?: number; sender?: string; errorName?: string; signature?: string; args?: string[] }): Uint8Array {
  // Hand-built (little-endian), header fields in the order the bus writes them.
  const fields: [number, string, string | number][] = [];
  if (opts.member) fields.push([1, "o", "/org/freedesktop/DBus"], [2, "s", "org.freedesktop.DBus"], [3, "s", opts.member]);
  if (opts.errorName) fields.push([4, "s", opts.errorName]);
  if (opts.replySerial !== undefined) fields.push([5, "u", opts.replySerial]);
  fields.push([7, "s", opts.sender ?? "org.freedesktop.DBus"]);
  if (opts.signature) fields.push([8, "g", opts.signature]);
  const out: number[] = [0x6c, opts.type, 0, 1, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
  const pad = (n: number) => { while (out.length % n) out.push(0); };
  const u32 = (v: number) => { pad(4); out.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24); };
  const str = (s: string) => { const b = Buffer.from(s); u32(b.length); out.push(...b, 0); };
  for (const [code, sig, value] of fields) {
    pad(8);
    out.push(code, 1, sig.charCodeAt(0), 0);
    if (sig === "u") u32(value as number);
    else if (sig === "g") out.push((value as string).length, ...Buffer.from(value as string), 0);
    else str(value as string);
  }
  const fieldsLength = out.length - 16;
  pad(8);
  const bodyStart = out.length;
  for (const a of opts.args ?? []) str(a);
  const bytes = new Uint8Array(out);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, out.length - bodyStart, true);
  view.setUint32(12, fieldsLength, true);
  return bytes;
}

function connected(names = ["org.example.A"]) {
  const sent: Uint8Array[] = [];
  const owners: [string, string | null][] = [];
  const failures: string[] = [];
  const p = new BusProtocol(0, names, { send: (b) => sent.push(b), owner: (n, o) => owners.push([n, o]), fail: (r) => failures.push(r) });
  p.start();
  p.receive(Buffer.from("OK 0123456789abcdef0123456789abcdef\r\n"));
  return { p, sent, owners, failures };
}

describe("the D-Bus wire format", () => {
  test("a method call decodes to what was encoded", () => {
    const bytes = encodeMethodCall({ serial: 7, destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "RequestName", signature: "su", args: ["org.example.A", 4] });
    expect(messageLength(bytes)).toBe(bytes.length);
    const m = decodeMessage(bytes);
    expect(m).toMatchObject({ type: 1, serial: 7, member: "RequestName", signature: "su", body: ["org.example.A", 4] });
  });

  test("malformed headers are refused with a reason", () => {
    const good = encodeMethodCall({ serial: 1, destination: "a.b", path: "/", interface: "a.b", member: "M" });
    const bad = (patch: (b: Uint8Array) => void) => { const b = good.slice(); patch(b); return () => decodeMessage(b); };
    expect(bad((b) => (b[0] = 0x78))).toThrow(MalformedMessage); // endianness
    expect(bad((b) => (b[3] = 2))).toThrow(MalformedMessage); // version
    expect(bad((b) => new DataView(b.buffer).setUint32(12, 0xfffffff0, true))).toThrow(MalformedMessage);
    expect(bad((b) => new DataView(b.buffer).setUint32(8, 0, true))).toThrow(MalformedMessage); // serial 0
    expect(bad((b) => (b[b.length - 3] = 0x41))).toThrow(MalformedMessage); // a string loses its NUL / padding not zero
  });

  test("bus names and addresses", () => {
    expect(busNameProblem("org.freedesktop.Avahi")).toBeNull();
    expect(busNameProblem("avahi")).toContain("two elements");
    expect(busNameProblem(":1.42")).toContain("unique");
    expect(busNameProblem("org.9x")).toContain("starts with a digit");
    expect(unixSocketOfAddress("unix:path=/run/dbus/system_bus_socket")).toEqual({ socket: "/run/dbus/system_bus_socket" });
    expect(unixSocketOfAddress("tcp:host=x;unix:abstract=bus%2dx,guid=00")).toEqual({ socket: "@bus-x" });
    expect("problem" in unixSocketOfAddress("tcp:host=localhost,port=1")).toBe(true);
  });
});

describe("the bus connection", () => {
  test("authenticates with its uid, then says Hello, AddMatch and GetNameOwner for each name", () => {
    const { sent, failures } = connected(["org.example.A", "org.example.B"]);
    expect(Buffer.from(sent[0]!).toString("latin1")).toBe("\0AUTH EXTERNAL 30\r\n");
    expect(Buffer.from(sent[1]!).toString("latin1")).toBe("BEGIN\r\n");
    const members = sent.slice(2).map((b) => decodeMessage(b).member);
    expect(members).toEqual(["Hello", "AddMatch", "GetNameOwner", "AddMatch", "GetNameOwner"]);
    expect(decodeMessage(sent[3]!).body![0]).toContain("arg0='org.example.A'");
    expect(failures).toEqual([]);
  });

  test("reports owners from GetNameOwner answers and NameOwnerChanged, in order", () => {
    const { p, owners, failures } = connected();
    p.receive(fromBus({ type: 3, replySerial: 3, errorName: "org.freedesktop.DBus.Error.NameHasNoOwner", signature: "s", args: ["no"] }));
    p.receive(fromBus({ type: 4, member: "NameOwnerChanged", signature: "sss", args: ["org.example.A", "", ":1.7"] }));
    p.receive(fromBus({ type: 4, member: "NameOwnerChanged", signature: "sss", args: ["org.example.Other", "", ":1.8"] }));
    p.receive(fromBus({ type: 4, member: "NameOwnerChanged", signature: "sss", args: ["org.example.A", ":1.7", ""] }));
    expect(owners).toEqual([["org.example.A", null], ["org.example.A", ":1.7"], ["org.example.A", null]]);
    expect(failures).toEqual([]);
  });

  test("a signal from another peer posing as the bus driver's is ignored", () => {
    const { p, owners, failures } = connected();
    p.receive(fromBus({ type: 4, member: "NameOwnerChanged", sender: ":1.99", signature: "sss", args: ["org.example.A", "", ":1.99"] }));
    expect(owners).toEqual([]);
    expect(failures).toEqual([]);
  });

  test("an answer split across reads is put together", () => {
    const { p, owners } = connected();
    const bytes = fromBus({ type: 2, replySerial: 3, signature: "s", args: [":1.5"] });
    for (let i = 0; i < bytes.length; i += 3) p.receive(bytes.subarray(i, i + 3));
    expect(owners).toEqual([["org.example.A", ":1.5"]]);
  });

  test("hostile input ends the connection with a reason, once", () => {
    const refused = new BusProtocol(0, ["a.b"], { send: () => {}, owner: () => {}, fail: (r) => refusedWhy.push(r) });
    const refusedWhy: string[] = [];
    refused.start();
    refused.receive(Buffer.from("REJECTED EXTERNAL\r\n"));
    expect(refusedWhy).toEqual(['authentication refused: "REJECTED EXTERNAL"']);

    const long = connectedFresh();
    long.p.start();
    long.p.receive(new Uint8Array(600).fill(0x41));
    expect(long.failures[0]).toContain("handshake line longer");

    const { p, failures, owners } = connected();
    p.receive(new Uint8Array(16).fill(0xff));
    p.receive(fromBus({ type: 2, replySerial: 3, signature: "s", args: [":1.5"] }));
    expect(failures.length).toBe(1);
    expect(failures[0]).toContain("malformed message from the bus");
    expect(owners).toEqual([]); // nothing after the failure is read
  });

  test("a message larger than the bound is skipped, and what follows it read", () => {
    const { p, owners, failures } = connected();
    const big = fromBus({ type: 4, member: "Big", signature: "s", args: ["x".repeat(MAX_MESSAGE + 10)] });
    p.receive(big.subarray(0, 1000));
    p.receive(big.subarray(1000));
    p.receive(fromBus({ type: 2, replySerial: 3, signature: "s", args: [":1.5"] }));
    expect(failures).toEqual([]);
    expect(owners).toEqual([["org.example.A", ":1.5"]]);
  });
});

function connectedFresh() {
  const failures: string[] = [];
  return { p: new BusProtocol(0, ["a.b"], { send: () => {}, owner: () => {}, fail: (r) => failures.push(r) }), failures };
}

describe('type = "dbus" in the engine', () => {
  const named = () => new Sim(service("avahi", { type: "dbus", bus_name: "org.freedesktop.Avahi" }));
  const owner = (sim: Sim, o: string | null) => sim.send({ type: "bus-name-owner", name: "org.freedesktop.Avahi", owner: o });

  test("starts when the name gets an owner, not before", () => {
    const sim = named();
    sim.start("avahi");
    expect(sim.sub("avahi")).toBe("start");
    owner(sim, ":1.3");
    expect(sim.sub("avahi")).toBe("running");
  });

  test("an owner from before the start is not taken for readiness: it waits for a change, as systemd", () => {
    const sim = named();
    owner(sim, ":1.3");
    sim.start("avahi");
    expect(sim.sub("avahi")).toBe("start");
    owner(sim, ":1.4");
    expect(sim.sub("avahi")).toBe("running");
  });

  test("losing the name stops it, with success, and no restart on-failure", () => {
    const sim = new Sim(service("avahi", { type: "dbus", bus_name: "org.freedesktop.Avahi", restart: "on-failure" }));
    sim.start("avahi");
    owner(sim, ":1.3");
    owner(sim, null);
    expect(sim.sub("avahi")).toBe("stop-sigterm");
    sim.exit("avahi", { kind: "killed", signal: 15, coreDumped: false });
    expect(sim.sub("avahi")).toBe("dead");
    expect(sim.rt("avahi").result).toBe("success");
  });
});

describe("bus_name in a unit file", () => {
  const load = (service: string) => buildConfig({ system: null, units: [{ name: "x", file: "x.toml", text: `[service]\nexec_start = ["/bin/true"]\n${service}\n` }], diagnostics: [] }, { isExecutable: () => true, exists: () => true });
  test('type = "dbus" without bus_name is an error; a bad name is named', () => {
    expect(load('type = "dbus"').diagnostics.map((d) => d.message).join("\n")).toContain('type = "dbus" needs bus_name: the name whose owner makes the service ready');
    expect(load('type = "dbus"\nbus_name = "avahi"').diagnostics.map((d) => d.message).join("\n")).toContain('"avahi" is not a D-Bus name');
    expect(load('type = "dbus"\nbus_name = "org.freedesktop.Avahi"').units.get("x")?.service?.bus_name).toBe("org.freedesktop.Avahi");
  });
});

describe("the manager's bus connection (fake socket and clock)", () => {
  /** A fake of what BusWatcher needs: one socket at a time, a reactor that calls back on demand, timers by hand. */
  function fakeIo(connectable: () => boolean) {
    const io = {
      fd: -1, nextFd: 10, written: [] as string[], inbox: [] as (Uint8Array | "eof")[], closed: [] as number[],
      watched: null as null | ((r: { readable: boolean; writable: boolean; hangup: boolean }) => void),
      timers: new Map<number, { ms: number; fn: () => void }>(), nextTimer: 1, connects: 0,
      reactor: {
        watch: (_fd: number, _i: unknown, cb: never) => { io.watched = cb; },
        unwatch: () => { io.watched = null; },
        size: 0, staleEventsDropped: 0,
      },
      connect: (_socket: string) => {
        io.connects++;
        if (!connectable()) throw new Error("ECONNREFUSED");
        io.fd = io.nextFd++;
        return io.fd;
      },
      read: (_fd: number, buf: Uint8Array) => {
        const next = io.inbox.shift();
        if (next === undefined) return "again" as const;
        if (next === "eof") return "eof" as const;
        buf.set(next);
        return next.length;
      },
      write: (_fd: number, data: Uint8Array) => { io.written.push(Buffer.from(data).toString("latin1")); return data.length; },
      close: (fd: number) => { io.closed.push(fd); io.fd = -1; },
      setTimer: (ms: number, fn: () => void) => { const id = io.nextTimer++; io.timers.set(id, { ms, fn }); return id; },
      clearTimer: (id: unknown) => { io.timers.delete(id as number); },
      /** Deliver bytes from the bus. */
      feed(...chunks: (Uint8Array | "eof")[]) {
        io.inbox.push(...chunks);
        io.watched?.({ readable: true, writable: false, hangup: false });
      },
      /** Fire the pending timer of this length. */
      fire(ms: number) {
        const hit = [...io.timers].find(([, t]) => t.ms === ms);
        if (!hit) throw new Error(`no ${ms} ms timer among ${[...io.timers.values()].map((t) => t.ms)}`);
        io.timers.delete(hit[0]);
        hit[1].fn();
      },
    };
    return io;
  }

  function watcher(connectable = () => true) {
    const io = fakeIo(connectable);
    const owners: [string, string | null][] = [];
    const logs: string[] = [];
    const w = new BusWatcher(io as never, {
      socket: "/run/bus", uid: 0, names: ["org.example.A"], owner: (n, o) => owners.push([n, o]), log: (_l, t) => logs.push(t),
    });
    return { io, w, owners, logs };
  }
  const OK = Buffer.from("OK 0123456789abcdef0123456789abcdef\r\n");

  test("no bus yet: it tries again on a growing delay, and at once when kicked", () => {
    let up = false;
    const { io, w } = watcher(() => up);
    w.kick();
    expect(io.connects).toBe(1);
    io.fire(100);
    io.fire(200);
    expect(io.connects).toBe(3);
    up = true;
    w.kick(); // a unit became active: maybe the bus
    expect(io.connects).toBe(4);
    expect(io.written[0]).toBe("\0AUTH EXTERNAL 30\r\n");
    expect(io.timers.size).toBe(1); // the handshake's timeout only
    w.close();
    expect(io.timers.size).toBe(0);
  });

  test("the bus closing the connection is followed by a new one, which asks for the owners again", () => {
    const { io, w, owners } = watcher();
    w.kick();
    io.feed(OK, fromBus({ type: 2, replySerial: 3, signature: "s", args: [":1.5"] }));
    expect(owners).toEqual([["org.example.A", ":1.5"]]);
    io.feed("eof");
    expect(io.closed).toEqual([10]);
    io.fire(100);
    expect(io.fd).toBe(11);
    io.feed(OK, fromBus({ type: 3, replySerial: 3, errorName: "org.freedesktop.DBus.Error.NameHasNoOwner" }));
    expect(owners).toEqual([["org.example.A", ":1.5"], ["org.example.A", null]]);
    w.close();
  });

  test("a malformed message or a silent bus closes the connection with the reason, and it is made again", () => {
    const { io, w, logs } = watcher();
    w.kick();
    io.feed(OK, new Uint8Array(16).fill(0xff));
    expect(io.closed).toEqual([10]);
    expect(logs.join("\n")).toContain("malformed message from the bus");
    io.fire(100);
    io.fire(30_000); // no answer to AUTH
    expect(io.closed).toEqual([10, 11]);
    expect(logs.join("\n")).toContain("no answer to the handshake");
    io.fire(200);
    expect(io.fd).toBe(12);
    w.close();
    expect(io.closed).toEqual([10, 11, 12]);
  });
});
