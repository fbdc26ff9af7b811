// Socket activation with real peers through sockets hearth made: the seeds' echo server
// on libsystemd (accept = false with two named sockets, and accept = true),
// python3-systemd's listen_fds, clients that need no ordering, and sockets that fail.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { join } from "node:path";
import { PEER_SOURCES, PEERS } from "../support/harness.ts";
import { Session } from "../support/session.ts";
import { datagrams, exchange, freePort } from "../support/clients.ts";

const ECHO = join(PEERS, "echo-libsystemd");
const PY_LISTEN = join(PEER_SOURCES, "listen-python.py");

const session = new Session();
afterEach(() => session.end());
const logs = (unit: string) => session.logs(unit);
const until = session.until.bind(session);

describe("accept = false: the libsystemd echo server", () => {
  test("two named sockets; a client that connects while it is stopped is answered once it starts", async () => {
    const dir = session.scratch("sk");
    const path = join(dir, "sub/echo.sk"); // the directory is made by hearth
    const port = await freePort();
    const seqpacket = `@hearth-test-seq-${process.pid}`;
    const m = await session.start({
      echo: `
[service]
type = "notify"
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${path}"
fd_name = "alpha"
socket_mode = "0600"

[[socket]]
listen_stream = "127.0.0.1:${port}"
fd_name = "beta"

[[socket]]
listen_sequential_packet = "${seqpacket}"
fd_name = "gamma"
`,
    });
    const before = await m.unit("echo");
    expect(before.active).toBe("inactive");
    expect(before.sockets.map((s: { listen: string; state: string }) => `${s.listen} ${s.state}`))
      .toEqual([`${path} (Stream) listening`, `127.0.0.1:${port} (Stream) listening`, `${seqpacket} (SequentialPacket) listening`]);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    // Not running: the connection is made by the kernel on hearth's socket, the answer
    // comes from the service started for it.
    const first = await exchange({ path }, "hello\n");
    expect(first.answer).toBe("hello\n");
    const running = await m.waitForState("echo", "active");
    expect(running.sockets.map((s: { state: string }) => s.state)).toEqual(["running", "running", "running"]);
    const text = await until("the echo server's lines", async () => {
      const l = await logs("echo");
      return l.includes("fd 4 name=beta") && l;
    });
    expect(text).toContain("fd 3 name=alpha listening stream");
    expect(text).toContain("fd 4 name=beta listening stream");
    expect((await exchange({ host: "127.0.0.1", port }, "tcp\n")).answer).toBe("tcp\n");
    const packet = Bun.spawnSync(["/usr/bin/python3", "-c",
      `import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect("\\0${seqpacket.slice(1)}"); s.send(b"packet"); print(s.recv(64).decode())`]);
    expect(packet.stdout.toString()).toBe("packet\n");
    expect(await logs("echo")).toContain("fd 5 name=gamma listening stream");

    // Stopped by hand: the sockets stay, and the next client starts it again.
    expect((await m.ctl("stop", "echo")).code).toBe(0);
    expect((await m.unit("echo")).active).toBe("inactive");
    expect((await exchange({ host: "127.0.0.1", port }, "again\n")).answer).toBe("again\n");
    const again = await m.waitForState("echo", "active");
    expect(again.mainPid).not.toBe(running.mainPid);
    await m.waitForOutput(new RegExp(`Incoming traffic on 127\\.0\\.0\\.1:${port} \\(Stream\\): activating`));
  });

  test("a client that queued before the service was ready is not lost (slow start)", async () => {
    const path = join(session.scratch("sk"), "slow.sk");
    const m = await session.start({
      slow: `
[service]
type = "notify"
exec_start_pre = ["/bin/sleep 0.5"]
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${path}"
`,
    });
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => exchange({ path }, `client ${i}\n`)));
    expect(clients.map((c) => c.answer)).toEqual(Array.from({ length: 20 }, (_, i) => `client ${i}\n`));
    expect(Math.min(...clients.map((c) => c.answeredMs))).toBeGreaterThan(450);
    const log = await logs("slow");
    expect(log).toContain("fd 3 name=slow listening stream"); // the default name: the unit's
  });
});

describe("accept = true: the libsystemd echo server, one instance per connection", () => {
  test("each connection gets an instance with REMOTE_ADDR/REMOTE_PORT, listed while it lives", async () => {
    const port = await freePort();
    const m = await session.start({
      "per@": `
[unit]
description = "echo per connection"

[service]
exec_start = ["${ECHO}", "--accept"]

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
`,
    });
    const template = await m.unit("per");
    expect(template).toMatchObject({ active: "active", sub: "listening", kind: "template", accepted: 0, connected: 0 });

    const socket = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.on("connect", resolve));
    const got = new Promise<string>((resolve) => socket.once("data", (d) => resolve(d.toString())));
    socket.write("ping\n");
    expect(await got).toBe("ping\n");
    const list = await m.ctlJson<{ units: { name: string; active: string; instanceOf?: string; peer?: string }[] }>("list");
    // systemd's name: connections before this one, the local end, the remote end.
    const name = `per@0-127.0.0.1:${port}-127.0.0.1:${socket.localPort}`;
    const instance = list.units.find((u) => u.name === name)!;
    expect(instance).toMatchObject({ active: "active", instanceOf: "per", peer: `127.0.0.1:${socket.localPort}` });
    expect((await m.ctl("list")).stdout).toMatch(new RegExp(`${name.replaceAll(".", "\\.")}\\s+active\\s+running\\s+\\d+\\s+connection from 127.0.0.1:${socket.localPort}`));
    expect(await m.unit("per")).toMatchObject({ accepted: 1, connected: 1 });
    await until("REMOTE_ADDR in the log", async () => (await logs("per")).includes(`connection from 127.0.0.1 port ${socket.localPort}`));

    socket.end();
    await until("the instance to go", async () => {
      const units = (await m.ctlJson<{ units: { name: string }[] }>("list")).units;
      return !units.some((u) => u.name === name);
    });
    expect(await m.unit("per")).toMatchObject({ accepted: 1, connected: 0 });

    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => exchange({ host: "127.0.0.1", port }, `c${i}\n`)));
    expect(many.map((c) => c.answer).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}\n`).sort());
    expect((await m.unit("per")).accepted).toBe(31);
  });

  test("max_connections: further clients wait in the backlog, none is refused", async () => {
    const port = await freePort();
    const m = await session.start({
      "two@": `
[service]
exec_start = ["${ECHO}", "--accept"]

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
max_connections = 2
`,
    });
    const held = await Promise.all([0, 1].map(async () => {
      const s = connect({ host: "127.0.0.1", port });
      await new Promise((resolve) => s.on("connect", resolve));
      return s;
    }));
    await until("two instances", async () => (await m.unit("two")).connected === 2);
    const waiting = exchange({ host: "127.0.0.1", port }, "third\n");
    // An absence: a third instance that came anyway would only be missed, never
    // invented, by a slow machine.
    await Bun.sleep(300);
    expect((await m.unit("two")).connected).toBe(2); // the third waits in the kernel
    held[0]!.end();
    expect((await waiting).answer).toBe("third\n");
    held[1]!.end();
  });

  test("max_connections_per_source: a further connection from the same peer is closed unanswered", async () => {
    const port = await freePort();
    const m = await session.start({
      "one@": `
[service]
exec_start = ["${ECHO}", "--accept"]

[[socket]]
listen_stream = "127.0.0.1:${port}"
accept = true
max_connections_per_source = 1
`,
    });
    const held = connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => held.on("connect", resolve));
    await until("one instance", async () => (await m.unit("one")).connected === 1);
    // Closed by hearth with the request unread: an end without answer, or a reset.
    const refused = await exchange({ host: "127.0.0.1", port }, "second\n").then((r) => r.answer, (e: NodeJS.ErrnoException) => String(e.code));
    expect(["", "ECONNRESET"]).toContain(refused);
    await m.waitForOutput(/one: Too many connections from 127\.0\.0\.1 \(1\): connection refused/);
    held.end();
    await until("the instance to go", async () => (await m.unit("one")).connected === 0);
    expect((await exchange({ host: "127.0.0.1", port }, "third\n")).answer).toBe("third\n");
  });
});

describe("python3-systemd", () => {
  test("daemon.listen_fds_with_names() gets a stream and a datagram socket", async () => {
    const path = join(session.scratch("sk"), "py.sk");
    const udp = await freePort();
    const m = await session.start({
      py: `
[service]
type = "notify"
exec_start = "${PY_LISTEN}"

[[socket]]
listen_stream = "${path}"
fd_name = "lines"

[[socket]]
listen_datagram = "127.0.0.1:${udp}"
fd_name = "grams"
`,
    });
    // The datagram arrives while nothing runs: it is queued, and it starts the service.
    expect(await datagrams(udp, ["d1"])).toEqual(["py: d1"]);
    expect((await exchange({ path }, "x\n", { expected: 6 })).answer).toBe("py: x\n");
    const log = await logs("py");
    expect(log).toContain("fd 3 name=lines stream");
    expect(log).toContain("fd 4 name=grams datagram");
  });
});

describe("ordering", () => {
  test("a client needs no after/requires on a socket-activated server: it just connects", async () => {
    const dir = session.scratch("sk");
    const path = join(dir, "srv.sk");
    const connected = join(dir, "client-connected");
    // The server cannot become ready before the client has connected: its exec_start_pre
    // waits for the client's mark (bounded). So the client surely connects to a server that
    // is not up yet, whatever the machine's load, and still gets its answer.
    const m = await session.start({
      server: `
[unit]
wanted_by = ["multi-user"]

[service]
type = "notify"
exec_start_pre = [["/bin/sh", "-c", "i=0; until [ -e ${connected} ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i+1)); done"]]
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${path}"
`,
      client: `
[unit]
wanted_by = ["multi-user"]

[service]
type = "oneshot"
remain_after_exit = true
exec_start = ["/usr/bin/python3", "-c", "import socket; s=socket.socket(socket.AF_UNIX); s.connect('${path}'); open('${connected}', 'w').close(); s.sendall(b'hi'); print('answer', s.recv(9).decode(), flush=True)"]
`,
    });
    const client = await m.waitForState("client", "active");
    const server = await m.unit("server");
    expect(server.active).toBe("active");
    expect(client.activatingAt).toBeLessThan(server.activeAt); // it started before the server was up
    expect(await logs("client")).toContain("answer hi");
  });
});

describe("sockets that cannot be made", () => {
  test("an address in use and a directory that cannot be made fail their units; the rest boots; a start by hand retries", async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    const dir = session.scratch("sk");
    writeFileSync(join(dir, "file"), "");
    const m = await session.start({
      busy: `
[unit]
wanted_by = ["multi-user"]

[service]
exec_start = "${ECHO}"

[[socket]]
listen_stream = "127.0.0.1:${port}"
`,
      nodir: `
[service]
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${join(dir, "file/sub/x.sk")}"
`,
      fine: `
[unit]
wanted_by = ["multi-user"]

[service]
exec_start = "/bin/sleep 30"
`,
    });
    await m.waitForState("fine", "active");
    const busy = await m.unit("busy");
    expect(busy).toMatchObject({ active: "failed", result: "resources" });
    expect(busy.sockets[0]).toMatchObject({ state: "failed", error: `127.0.0.1:${port} (Stream): bind port ${port}: Address already in use (EADDRINUSE)` });
    expect((await m.ctl("status", "busy")).stdout).toContain(`Listen: 127.0.0.1:${port} (Stream) failed: 127.0.0.1:${port} (Stream): bind port ${port}: Address already in use`);
    await m.waitForOutput(new RegExp(`busy: cannot listen: 127\\.0\\.0\\.1:${port} \\(Stream\\): bind port ${port}: Address already in use \\(EADDRINUSE\\)`));
    await m.waitForOutput(/Failed to start busy: its socket could not be made/);
    const nodir = await m.unit("nodir");
    expect(nodir.active).toBe("failed");
    expect(nodir.sockets[0].error).toContain(`cannot create directory ${join(dir, "file/sub")}: ENOTDIR`);

    const refused = await m.ctl("start", "busy");
    expect(refused.code).toBe(1);
    await new Promise((resolve) => squatter.close(resolve));
    expect((await m.ctl("start", "busy")).code).toBe(0);
    expect((await m.unit("busy")).sockets[0].state).toBe("running");
    expect(existsSync(join(dir, "file"))).toBe(true);
  });
});

describe("FIFOs and socket files", () => {
  test("a line written into a FIFO starts its service, which reads it from fd 3", async () => {
    const dir = session.scratch("sk");
    const fifo = join(dir, "in.fifo");
    const out = join(dir, "out");
    const m = await session.start({
      reader: `
[service]
exec_start = ["/bin/sh", "-c", "head -n 1 <&3 > ${out}"]

[[socket]]
listen_fifo = "${fifo}"
socket_mode = "0620"
`,
    });
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(statSync(fifo).mode & 0o777).toBe(0o620);
    writeFileSync(fifo, "through the fifo\n"); // hearth holds it open: the open does not block
    await until("the service to read the line", async () => existsSync(out) && readFileSync(out, "utf8") === "through the fifo\n");
    await until("the service to be done", async () => (await m.unit("reader")).active === "inactive");
    expect((await m.unit("reader")).sockets[0].state).toBe("listening");
  });

  test("remove_on_stop removes the file when the manager ends; without it the file stays", async () => {
    const dir = session.scratch("sk");
    const m = await session.start({
      files: `
[service]
exec_start = "${ECHO}"

[[socket]]
listen_stream = "${join(dir, "gone.sk")}"
remove_on_stop = true

[[socket]]
listen_stream = "${join(dir, "kept.sk")}"
`,
    });
    expect(existsSync(join(dir, "gone.sk"))).toBe(true);
    expect(await m.stop()).toBe(0);
    expect(existsSync(join(dir, "gone.sk"))).toBe(false);
    expect(existsSync(join(dir, "kept.sk"))).toBe(true);
  });
});
