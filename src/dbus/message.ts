// The D-Bus wire format (the specification's "Message Protocol"), reduced to what hearth
// says and hears on the system bus: method calls whose arguments are strings and uint32s
// out; any message in, of which the header fields and a body of basic types are read.
// Pure and bounded: every length is checked against what is there before it is used,
// and anything that does not add up throws MalformedMessage (the connection closes).

export const enum MessageType { MethodCall = 1, MethodReturn = 2, Error = 3, Signal = 4 }

/** NO_REPLY_EXPECTED: the bus sends no reply (AddMatch's "OK" is not worth a round trip). */
export const FLAG_NO_REPLY_EXPECTED = 1;

/** The specification's limit on a whole message (2^27 bytes). */
export const PROTOCOL_MAX_MESSAGE = 134_217_728;
/** The fixed part of a header: endianness, type, flags, version, body length, serial, fields length. */
export const FIXED_HEADER = 16;

export class MalformedMessage extends Error {}

export type BasicValue = string | number | boolean;

export interface Message {
  type: number;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature: string;
  /** The body's values when its signature holds basic types only; null otherwise (not read). */
  body: BasicValue[] | null;
}

// ---------------------------------------------------------------- writing

/** Little-endian, with the alignment the specification counts from the message's start. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  align(n: number) {
    const pad = (n - (this.length % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  byte(v: number) {
    this.room(1);
    this.buf[this.length++] = v;
  }

  uint32(v: number) {
    this.align(4);
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  setUint32(at: number, v: number) {
    this.view.setUint32(at, v, true);
  }

  private text(bytes: Uint8Array) {
    this.room(bytes.length + 1);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    this.buf[this.length++] = 0;
  }

  string(v: string) {
    const bytes = new TextEncoder().encode(v);
    this.uint32(bytes.length);
    this.text(bytes);
  }

  signature(v: string) {
    const bytes = new TextEncoder().encode(v);
    this.byte(bytes.length);
    this.text(bytes);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface MethodCall {
  serial: number;
  destination: string;
  path: string;
  interface: string;
  member: string;
  /** "s" and "u" only: what hearth sends. */
  signature?: string;
  args?: (string | number)[];
  flags?: number;
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8, unixFds: 9 } as const;

/** One method call, ready to write on the connection. */
export function encodeMethodCall(call: MethodCall): Uint8Array {
  const signature = call.signature ?? "";
  const args = call.args ?? [];
  if (signature.length !== args.length || /[^su]/.test(signature)) throw new Error(`unsupported body signature ${JSON.stringify(signature)}`);
  const body = new Writer();
  for (let i = 0; i < args.length; i++) {
    if (signature[i] === "s") body.string(String(args[i]));
    else body.uint32(Number(args[i]) >>> 0);
  }
  const w = new Writer();
  w.byte(0x6c); // 'l'
  w.byte(MessageType.MethodCall);
  w.byte(call.flags ?? 0);
  w.byte(1);
  w.uint32(body.length);
  w.uint32(call.serial);
  w.uint32(0); // the fields' length, set below
  const fieldsStart = w.length;
  const field = (code: number, sig: string, write: () => void) => {
    w.align(8);
    w.byte(code);
    w.signature(sig);
    write();
  };
  field(FIELD.path, "o", () => w.string(call.path));
  field(FIELD.destination, "s", () => w.string(call.destination));
  field(FIELD.interface, "s", () => w.string(call.interface));
  field(FIELD.member, "s", () => w.string(call.member));
  if (signature !== "") field(FIELD.signature, "g", () => w.signature(signature));
  w.setUint32(12, w.length - fieldsStart);
  w.align(8);
  const head = w.bytes();
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body.bytes(), head.length);
  return out;
}

// ---------------------------------------------------------------- reading

/**
 * The whole length of the message that starts `buf` (at least FIXED_HEADER bytes), from
 * its fixed header; throws if the header cannot be a message's.
 */
export function messageLength(buf: Uint8Array): number {
  if (buf.length < FIXED_HEADER) throw new MalformedMessage("short header");
  const little = endianness(buf[0]!);
  if (buf[3] !== 1) throw new MalformedMessage(`protocol version ${buf[3]}, not 1`);
  if (buf[1]! < 1 || buf[1]! > 4) throw new MalformedMessage(`message type ${buf[1]}`);
  const view = new DataView(buf.buffer, buf.byteOffset, FIXED_HEADER);
  const bodyLength = view.getUint32(4, little);
  const fieldsLength = view.getUint32(12, little);
  if (fieldsLength > PROTOCOL_MAX_MESSAGE || bodyLength > PROTOCOL_MAX_MESSAGE) throw new MalformedMessage("length over the protocol's limit");
  const total = align8(FIXED_HEADER + fieldsLength) + bodyLength;
  if (total > PROTOCOL_MAX_MESSAGE) throw new MalformedMessage(`message of ${total} bytes, over the protocol's limit`);
  return total;
}

function endianness(b: number): boolean {
  if (b === 0x6c) return true; // 'l'
  if (b === 0x42) return false; // 'B'
  throw new MalformedMessage(`endianness byte 0x${b.toString(16)}`);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

class Reader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly buf: Uint8Array, private readonly little: boolean, private readonly end = buf.length) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  align(n: number) {
    const to = Math.ceil(this.pos / n) * n;
    if (to > this.end) throw new MalformedMessage("padding past the end");
    for (let i = this.pos; i < to; i++) if (this.buf[i] !== 0) throw new MalformedMessage("non-zero padding");
    this.pos = to;
  }

  need(n: number) {
    if (this.pos + n > this.end) throw new MalformedMessage("value past the end");
  }

  byte(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uint16(): number {
    this.align(2);
    this.need(2);
    const v = this.view.getUint16(this.pos, this.little);
    this.pos += 2;
    return v;
  }

  uint32(): number {
    this.align(4);
    this.need(4);
    const v = this.view.getUint32(this.pos, this.little);
    this.pos += 4;
    return v;
  }

  private text(length: number): string {
    this.need(length + 1);
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    if (this.buf[this.pos + length] !== 0) throw new MalformedMessage("string without its terminating NUL");
    if (bytes.includes(0)) throw new MalformedMessage("NUL inside a string");
    this.pos += length + 1;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new MalformedMessage("string that is not UTF-8");
    }
  }

  string(): string {
    return this.text(this.uint32());
  }

  signature(): string {
    const s = this.text(this.byte());
    if (!/^[a-z({})]*$/i.test(s)) throw new MalformedMessage(`bad signature ${JSON.stringify(s.slice(0, 40))}`);
    return s;
  }

  /** One value of a basic type; null for a container (the caller does not read on). */
  basic(code: string): BasicValue | null {
    switch (code) {
      case "y": return this.byte();
      case "b": {
        const v = this.uint32();
        if (v > 1) throw new MalformedMessage("boolean other than 0 or 1");
        return v === 1;
      }
      case "n": { const v = this.uint16(); return v > 0x7fff ? v - 0x10000 : v; }
      case "q": return this.uint16();
      case "i": return this.uint32() | 0;
      case "u": case "h": return this.uint32();
      case "s": case "o": return this.string();
      case "g": return this.signature();
      default: return null;
    }
  }
}

/** A whole message (`buf` is exactly messageLength(buf) bytes). */
export function decodeMessage(buf: Uint8Array): Message {
  const total = messageLength(buf);
  if (buf.length !== total) throw new MalformedMessage(`${buf.length} bytes for a message of ${total}`);
  const little = endianness(buf[0]!);
  const view = new DataView(buf.buffer, buf.byteOffset, FIXED_HEADER);
  const bodyLength = view.getUint32(4, little);
  const serial = view.getUint32(8, little);
  if (serial === 0) throw new MalformedMessage("serial 0");
  const fieldsEnd = FIXED_HEADER + view.getUint32(12, little);
  const msg: Message = { type: buf[1]!, flags: buf[2]!, serial, signature: "", body: null };
  const r = new Reader(buf, little, fieldsEnd);
  r.pos = FIXED_HEADER;
  while (r.pos < fieldsEnd) {
    r.align(8);
    const code = r.byte();
    const sig = r.signature();
    const value = sig.length === 1 ? r.basic(sig) : null;
    if (value === null) throw new MalformedMessage(`header field ${code} of type ${JSON.stringify(sig)}`);
    const want = FIELD_TYPES[code];
    if (want !== undefined && want !== sig) throw new MalformedMessage(`header field ${code} of type ${sig}, not ${want}`);
    switch (code) {
      case FIELD.path: msg.path = value as string; break;
      case FIELD.interface: msg.interface = value as string; break;
      case FIELD.member: msg.member = value as string; break;
      case FIELD.errorName: msg.errorName = value as string; break;
      case FIELD.replySerial: msg.replySerial = value as number; break;
      case FIELD.destination: msg.destination = value as string; break;
      case FIELD.sender: msg.sender = value as string; break;
      case FIELD.signature: msg.signature = value as string; break;
      default: break; // unknown fields are ignored, as the specification says
    }
  }
  const bodyStart = align8(fieldsEnd);
  for (let i = fieldsEnd; i < bodyStart; i++) if (buf[i] !== 0) throw new MalformedMessage("non-zero padding");
  msg.body = readBody(buf, little, bodyStart, bodyStart + bodyLength, msg.signature);
  return msg;
}

const FIELD_TYPES: Record<number, string> = { 1: "o", 2: "s", 3: "s", 4: "s", 5: "u", 6: "s", 7: "s", 8: "g", 9: "u" };

function readBody(buf: Uint8Array, little: boolean, start: number, end: number, signature: string): BasicValue[] | null {
  if (!/^[ybnqiuhsog]*$/.test(signature)) return null;
  // Alignment counts from the message's start; the body starts 8-aligned, so a reader on
  // the body alone aligns the same.
  const r = new Reader(buf.subarray(start, end), little);
  const values: BasicValue[] = [];
  for (const code of signature) values.push(r.basic(code)!);
  if (r.pos !== end - start) throw new MalformedMessage("body longer than its signature says");
  return values;
}
