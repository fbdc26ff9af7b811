// One connection to the bus, as bytes in and bytes out (no I/O here): the SASL
// handshake (AUTH EXTERNAL with our uid, BEGIN), Hello, then for each watched name an
// AddMatch on the bus driver's NameOwnerChanged for that name and a GetNameOwner (after
// the match, so that no change falls between the two). Every byte from the bus is
// hostile until checked: a line or a message that does not add up ends the connection
// with the reason (the caller closes it and connects again later).
import {
  decodeMessage, encodeMethodCall, FIXED_HEADER, FLAG_NO_REPLY_EXPECTED, MalformedMessage, type Message, MessageType,
  messageLength,
} from "./message.ts";

export const BUS_DRIVER = "org.freedesktop.DBus";
const DRIVER_PATH = "/org/freedesktop/DBus";

/** The longest line of the handshake we read ("OK <32 hex digits>\r\n" is 37 bytes). */
const MAX_AUTH_LINE = 512;
/** Messages larger than this are skipped unread (the bus driver's are a few hundred bytes). */
export const MAX_MESSAGE = 64 * 1024;

export interface ProtocolEvents {
  send(bytes: Uint8Array): void;
  /** The owner of a watched name, as the bus says it now (null: none). */
  owner(name: string, owner: string | null): void;
  /** The connection cannot go on: why. */
  fail(reason: string): void;
}

type Phase = "auth" | "messages" | "failed";

export class BusProtocol {
  private phase: Phase = "auth";
  private pending: Uint8Array = new Uint8Array(0);
  private skipping = 0; // bytes of an oversized message still to drop
  private serial = 0;
  private readonly calls = new Map<number, { kind: "hello" | "owner"; name?: string }>();
  /** Whether Hello was answered: the bus knows us. */
  helloDone = false;

  constructor(private readonly uid: number, private readonly names: readonly string[], private readonly on: ProtocolEvents) {}

  /** The first bytes: the credentials byte, then AUTH EXTERNAL with our uid in hex. */
  start() {
    const hexUid = Buffer.from(String(this.uid), "ascii").toString("hex");
    this.on.send(Buffer.from(`\0AUTH EXTERNAL ${hexUid}\r\n`, "ascii"));
  }

  /** Bytes read from the bus. */
  receive(chunk: Uint8Array) {
    if (this.phase === "failed") return;
    try {
      this.pending = this.pending.length === 0 ? chunk.slice() : concat(this.pending, chunk);
      if (this.phase === "auth") this.readAuthLine();
      if (this.phase === "messages") this.readMessages();
    } catch (e) {
      this.failWith(e instanceof MalformedMessage ? `malformed message from the bus: ${e.message}` : String((e as Error).message ?? e));
    }
  }

  private failWith(reason: string) {
    if (this.phase === "failed") return;
    this.phase = "failed";
    this.pending = new Uint8Array(0);
    this.on.fail(reason);
  }

  private readAuthLine() {
    const end = indexOfCrlf(this.pending);
    if (end < 0) {
      if (this.pending.length > MAX_AUTH_LINE) this.failWith(`handshake line longer than ${MAX_AUTH_LINE} bytes`);
      return;
    }
    const line = Buffer.from(this.pending.subarray(0, end)).toString("latin1");
    this.pending = this.pending.slice(end + 2);
    if (!/^OK [0-9a-fA-F]{32}$/.test(line)) {
      return this.failWith(`authentication refused: ${JSON.stringify(line.slice(0, 100))}`);
    }
    this.phase = "messages";
    this.on.send(Buffer.from("BEGIN\r\n", "ascii"));
    this.call("hello", undefined, "Hello");
    for (const name of this.names) {
      const rule = `type='signal',sender='${BUS_DRIVER}',path='${DRIVER_PATH}',interface='${BUS_DRIVER}',member='NameOwnerChanged',arg0='${name}'`;
      this.send({ member: "AddMatch", signature: "s", args: [rule], flags: FLAG_NO_REPLY_EXPECTED });
      this.call("owner", name, "GetNameOwner", "s", [name]);
    }
  }

  private send(m: { member: string; signature?: string; args?: (string | number)[]; flags?: number }): number {
    const serial = ++this.serial;
    this.on.send(encodeMethodCall({ serial, destination: BUS_DRIVER, path: DRIVER_PATH, interface: BUS_DRIVER, ...m }));
    return serial;
  }

  private call(kind: "hello" | "owner", name: string | undefined, member: string, signature?: string, args?: string[]) {
    this.calls.set(this.send({ member, signature, args }), { kind, name });
  }

  private readMessages() {
    for (;;) {
      if (this.skipping > 0) {
        const drop = Math.min(this.skipping, this.pending.length);
        this.skipping -= drop;
        this.pending = this.pending.subarray(drop);
        if (this.skipping > 0) return;
      }
      if (this.pending.length < FIXED_HEADER) break;
      const length = messageLength(this.pending);
      if (length > MAX_MESSAGE) {
        this.skipping = length;
        continue;
      }
      if (this.pending.length < length) break;
      const msg = decodeMessage(this.pending.subarray(0, length));
      this.pending = this.pending.subarray(length);
      this.dispatch(msg);
      if (this.phase === "failed") return;
    }
    this.pending = this.pending.slice(); // drop the consumed part's memory
  }

  private dispatch(msg: Message) {
    // Only the bus driver speaks for names (the bus sets sender itself: no client can
    // pose as it); other peers' messages to us are ignored.
    if (msg.sender !== BUS_DRIVER) return;
    if (msg.type === MessageType.Signal) return this.onSignal(msg);
    if (msg.type !== MessageType.MethodReturn && msg.type !== MessageType.Error) return;
    const call = msg.replySerial === undefined ? undefined : this.calls.get(msg.replySerial);
    if (!call) return;
    this.calls.delete(msg.replySerial!);
    if (call.kind === "hello") {
      if (msg.type === MessageType.Error) return this.failWith(`Hello refused: ${msg.errorName ?? "?"}`);
      this.helloDone = true;
      return;
    }
    if (msg.type === MessageType.Error) {
      // NameHasNoOwner is the answer "nobody"; any other error says nothing about the name.
      if (msg.errorName === `${BUS_DRIVER}.Error.NameHasNoOwner`) this.on.owner(call.name!, null);
      else this.failWith(`GetNameOwner(${call.name}) failed: ${msg.errorName ?? "?"}`);
      return;
    }
    const owner = msg.body?.[0];
    if (msg.signature !== "s" || typeof owner !== "string") return this.failWith(`GetNameOwner(${call.name}) answered with signature ${JSON.stringify(msg.signature)}`);
    this.on.owner(call.name!, owner);
  }

  private onSignal(msg: Message) {
    if (msg.member !== "NameOwnerChanged" || msg.interface !== BUS_DRIVER || msg.path !== DRIVER_PATH) return;
    if (msg.signature !== "sss" || msg.body === null) return this.failWith(`NameOwnerChanged with signature ${JSON.stringify(msg.signature)}`);
    const [name, , owner] = msg.body as string[];
    if (!this.names.includes(name!)) return;
    this.on.owner(name!, owner === "" ? null : owner!);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlf(buf: Uint8Array): number {
  for (let i = 0; i + 1 < buf.length; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return -1;
}
