// struct utmp (utmpx) as glibc and musl lay it out on Linux, the same on x86_64, aarch64,
// arm and i386 (ut_tv and ut_session are 32-bit everywhere, for compatibility with 32-bit
// programs reading the same files): 384 bytes. <utmp.h>, <bits/utmp.h>.

export const UTMP_SIZE = 384;

/** ut_type values. */
export const UT_TYPE = { INIT_PROCESS: 5, LOGIN_PROCESS: 6, USER_PROCESS: 7, DEAD_PROCESS: 8 } as const;

const OFF = {
  type: 0, // short, then 2 bytes padding
  pid: 4, // pid_t
  line: 8, // char[32]: the tty without "/dev/"
  id: 40, // char[4]: the inittab id
  user: 44, // char[32]
  host: 76, // char[256]
  exitTermination: 332, // short
  exitStatus: 334, // short
  session: 336, // int32
  tvSec: 340, // int32
  tvUsec: 344, // int32
  addrV6: 348, // int32[4], then 20 reserved bytes
} as const;
const FIELD = { line: 32, id: 4, user: 32 } as const;

export interface UtmpRecord {
  type: number;
  pid: number;
  line: string;
  id: string;
  user: string;
  exitTermination?: number;
  exitStatus?: number;
  session: number;
  timeMs: number; // wall clock, ms since the epoch
}

function putString(view: Uint8Array, offset: number, size: number, text: string) {
  const bytes = Buffer.from(text, "utf8").subarray(0, size); // not NUL-terminated when full, as in C
  view.set(bytes, offset);
}

export function encodeUtmp(r: UtmpRecord): Uint8Array {
  const buf = new Uint8Array(UTMP_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setInt16(OFF.type, r.type, true);
  dv.setInt32(OFF.pid, r.pid, true);
  putString(buf, OFF.line, FIELD.line, r.line);
  putString(buf, OFF.id, FIELD.id, r.id);
  putString(buf, OFF.user, FIELD.user, r.user);
  dv.setInt16(OFF.exitTermination, r.exitTermination ?? 0, true);
  dv.setInt16(OFF.exitStatus, r.exitStatus ?? 0, true);
  dv.setInt32(OFF.session, r.session, true);
  dv.setInt32(OFF.tvSec, Math.floor(r.timeMs / 1000), true);
  dv.setInt32(OFF.tvUsec, Math.floor((r.timeMs % 1000) * 1000), true);
  return buf;
}

/** The fields a record is matched and read back by. */
export function decodeUtmp(buf: Uint8Array): UtmpRecord {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const str = (off: number, size: number) => {
    const raw = buf.subarray(off, off + size);
    const end = raw.indexOf(0);
    return Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString("utf8");
  };
  return {
    type: dv.getInt16(OFF.type, true), pid: dv.getInt32(OFF.pid, true), line: str(OFF.line, FIELD.line),
    id: str(OFF.id, FIELD.id), user: str(OFF.user, FIELD.user),
    exitTermination: dv.getInt16(OFF.exitTermination, true), exitStatus: dv.getInt16(OFF.exitStatus, true),
    session: dv.getInt32(OFF.session, true), timeMs: dv.getInt32(OFF.tvSec, true) * 1000 + Math.floor(dv.getInt32(OFF.tvUsec, true) / 1000),
  };
}
