// A small client of QEMU's machine protocol (QMP) on a unix socket: the events QEMU
// reports (WATCHDOG when the emulated watchdog fires, RESET, SHUTDOWN with its reason),
// each with QEMU's own timestamp, and commands (send-key for Ctrl-Alt-Del).

import { existsSync } from "node:fs";

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** When QEMU says it happened: ms since the epoch (host clock). */
  at: number;
}

type Pending = { resolve: (value: unknown) => void; reject: (e: Error) => void };

export class Qmp {
  readonly events: QmpEvent[] = [];
  private buffer = "";
  private readonly pending: Pending[] = [];
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((r) => (this.greeted = r));

  private constructor(private readonly socket: import("bun").Socket<undefined>) {}

  /** Connects (QEMU runs with wait=on, so it starts the guest once we are here) and negotiates. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(path)) {
      if (Date.now() > deadline) throw new Error(`QMP socket ${path} never appeared`);
      await Bun.sleep(20);
    }
    let qmp!: Qmp;
    const socket = await Bun.connect({
      unix: path,
      socket: {
        data: (_s, chunk) => qmp.receive(chunk.toString("utf8")),
        close: () => qmp.closed(),
        error: () => qmp.closed(),
      },
    });
    qmp = new Qmp(socket);
    await qmp.greeting;
    await qmp.execute("qmp_capabilities");
    return qmp;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    });
  }

  /** Ctrl-Alt-Del on the guest's keyboard, as `sendkey ctrl-alt-delete` in the monitor. */
  ctrlAltDel(): Promise<unknown> {
    return this.execute("send-key", { keys: ["ctrl", "alt", "delete"].map((k) => ({ type: "qcode", data: k })) });
  }

  first(event: string): QmpEvent | undefined {
    return this.events.find((e) => e.event === event);
  }

  close() {
    this.socket.end();
  }

  private receive(text: string) {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === "") continue;
      const msg = JSON.parse(line) as Record<string, any>;
      if ("QMP" in msg) this.greeted();
      else if ("event" in msg) {
        const t = msg.timestamp as { seconds: number; microseconds: number };
        this.events.push({ event: msg.event, data: msg.data ?? {}, at: t.seconds * 1000 + t.microseconds / 1000 });
      } else if ("return" in msg) this.pending.shift()?.resolve(msg.return);
      else if ("error" in msg) this.pending.shift()?.reject(new Error(`QMP: ${JSON.stringify(msg.error)}`));
    }
  }

  private closed() {
    for (const p of this.pending.splice(0)) p.reject(new Error("QMP connection closed"));
  }
}
