// The .modinfo section of a kernel module (an ELF64 relocatable, little-endian on both
// boards): NUL-separated "key=value" strings, among them name= and depends=. Enough to
// write modules.dep for the modules an image carries, without depmod on the host. Pure.

export function readModinfo(elf: Uint8Array): Map<string, string[]> {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (view.getUint32(0, false) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error("not a little-endian ELF64 file");
  }
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: view.getUint32(at, true), offset: Number(view.getBigUint64(at + 0x18, true)), size: Number(view.getBigUint64(at + 0x20, true)) };
  };
  const names = section(shstrndx);
  const nameOf = (offset: number) => {
    let end = names.offset + offset;
    while (elf[end] !== 0) end++;
    return new TextDecoder().decode(elf.subarray(names.offset + offset, end));
  };
  const info = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== ".modinfo") continue;
    for (const entry of new TextDecoder().decode(elf.subarray(s.offset, s.offset + s.size)).split("\0")) {
      const eq = entry.indexOf("=");
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      info.set(key, [...(info.get(key) ?? []), entry.slice(eq + 1)]);
    }
  }
  return info;
}

/** The names in depends= ("watchdog,foo"), or none. */
export function moduleDepends(info: Map<string, string[]>): string[] {
  return (info.get("depends") ?? []).flatMap((d) => d.split(",")).map((d) => d.trim()).filter((d) => d !== "");
}
