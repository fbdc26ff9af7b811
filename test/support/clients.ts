// Clients for socket activation tests: a stream request/answer, UDP datagrams, free ports.
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";

/** A TCP port nothing listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type StreamTarget = { path: string } | { host: string; port: number };

export interface Exchange {
  answer: string;
  connectedMs: number; // connect() done, since the start
  answeredMs: number; // the whole answer in, since the start
}

/**
 * Connects, sends `message`, and reads until `expected` bytes came back (default: the
 * message's length) or the peer closes. Rejects on a refused connection or after timeoutMs.
 */
export function exchange(target: StreamTarget, message: string, opts: { expected?: number; timeoutMs?: number } = {}): Promise<Exchange> {
  const expected = opts.expected ?? Buffer.byteLength(message);
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(target as never);
    let connectedMs = -1;
    let answer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no (full) answer within ${opts.timeoutMs ?? 10_000} ms; got ${JSON.stringify(answer)}`));
    }, opts.timeoutMs ?? 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ answer, connectedMs, answeredMs: performance.now() - start });
    };
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      connectedMs = performance.now() - start;
      socket.write(message);
    });
    socket.on("data", (chunk: string) => {
      answer += chunk;
      if (Buffer.byteLength(answer) >= expected) finish();
    });
    socket.on("end", finish);
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Sends each message as one UDP datagram from one socket and collects the answers;
 * resolves with them once `expected` arrived, or after timeoutMs with what came.
 */
export async function datagrams(port: number, messages: string[], opts: { expected?: number; timeoutMs?: number } = {}): Promise<string[]> {
  const socket = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  const answers: string[] = [];
  const expected = opts.expected ?? messages.length;
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.timeoutMs ?? 10_000);
    socket.on("message", (data) => {
      answers.push(data.toString());
      if (answers.length >= expected) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  for (const m of messages) socket.send(m, port, "127.0.0.1");
  await done;
  socket.close();
  return answers;
}

/** Runs a client program (dbus-send, dbclient, ssh…) to its end: its exit code and all it printed. */
export async function runClient(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: stdout + stderr };
}
