// The "newc" cpio format the kernel unpacks an initramfs from (Documentation/
// driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header, the
// name, the data, each padded to 4 bytes; "TRAILER!!!" at the end. Written by us, so
// the image can hold root-owned files and device nodes (/dev/console) without root.
// Uncompressed: under TCG the kernel unpacks a 100 MB binary faster than it gunzips it.

export interface CpioEntry {
  name: string; // relative, no leading "/" ("sbin/init")
  mode: number; // with the type bits: 0o100755 for a file, 0o040755 a directory, 0o120777 a symlink, 0o020600 a char device
  data?: Uint8Array; // file contents, or a symlink's target
  rdevMajor?: number;
  rdevMinor?: number;
  mtime?: number; // seconds since the epoch; else the archive's
}

export const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;

const hex = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Header and name of one entry, padded; the data (padded by dataPadding) follows it. Pure. */
export function entryHeader(e: CpioEntry, ino: number, mtime: number): Uint8Array {
  const name = Buffer.from(`${e.name}\0`, "utf8");
  const size = e.data?.byteLength ?? 0;
  const nlink = (e.mode & 0o170000) === S_IFDIR ? 2 : 1;
  const fields = [ino, e.mode, 0, 0, nlink, e.mtime ?? mtime, size, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.byteLength, 0];
  const header = Buffer.from(`070701${fields.map(hex).join("")}`, "ascii");
  return Buffer.concat([header, name, new Uint8Array(pad4(header.byteLength + name.byteLength))]);
}

export function dataPadding(size: number): Uint8Array {
  return new Uint8Array(pad4(size));
}

export const TRAILER: CpioEntry = { name: "TRAILER!!!", mode: 0 };

/** A whole archive in memory (for tests and small images). Pure. */
export function buildCpio(entries: CpioEntry[], mtime = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  [...entries, TRAILER].forEach((e, i) => {
    parts.push(entryHeader(e, e === TRAILER ? 0 : i + 1, mtime));
    if (e.data) parts.push(e.data, dataPadding(e.data.byteLength));
  });
  return Buffer.concat(parts);
}
