// Sizes in bytes as unit files write them (a module of its own: src/config/conditions.ts
// needs it, and the schema imports that module before values.ts can be evaluated).

const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?$/i;
const SIZE_FACTOR: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes: an integer, or a number with a 1024-based suffix ("64K", "1.5M", "2GiB"). */
export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const factor = match[2] ? SIZE_FACTOR[match[2].toUpperCase()]! : 1;
  return Math.round(Number(match[1]) * factor);
}
