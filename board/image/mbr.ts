// The classic MBR partition table (the one the Raspberry Pi's boot ROM and firmware
// read): 446 bytes of boot code (none here), a 32-bit disk signature at 440, four
// 16-byte entries at 446, and 0x55 0xAA at 510. Pure: the 512 bytes of sector 0.

export const SECTOR = 512;

export interface MbrPartition {
  /** 0x0c: FAT32 with LBA addressing (what the Pi firmware looks for); 0x83: Linux. */
  type: number;
  firstLba: number;
  sectors: number;
  bootable?: boolean;
}

/** CHS of a sector as 255 heads x 63 sectors geometry; past cylinder 1023 the "too far" marker. */
export function chs(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (255 * 63));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / 63) % 255;
  const sector = (lba % 63) + 1;
  return [head, ((cylinder >> 2) & 0xc0) | sector, cylinder & 0xff];
}

export function mbr(diskSignature: number, partitions: MbrPartition[]): Uint8Array {
  if (partitions.length > 4) throw new Error("an MBR holds at most 4 primary partitions");
  const out = new Uint8Array(SECTOR);
  const view = new DataView(out.buffer);
  view.setUint32(440, diskSignature >>> 0, true);
  const sorted = [...partitions].sort((a, b) => a.firstLba - b.firstLba);
  sorted.forEach((p, i) => {
    const last = p.firstLba + p.sectors - 1;
    if (p.firstLba < 1 || p.sectors < 1 || last > 0xffffffff) throw new Error(`partition ${i + 1}: sectors ${p.firstLba}..${last} do not fit an MBR`);
    const next = sorted[i + 1];
    if (next && next.firstLba <= last) throw new Error(`partition ${i + 1} overlaps partition ${i + 2}`);
    const at = 446 + 16 * i;
    out[at] = p.bootable ? 0x80 : 0;
    out.set(chs(p.firstLba), at + 1);
    out[at + 4] = p.type;
    out.set(chs(last), at + 5);
    view.setUint32(at + 8, p.firstLba, true);
    view.setUint32(at + 12, p.sectors, true);
  });
  out[510] = 0x55;
  out[511] = 0xaa;
  return out;
}
