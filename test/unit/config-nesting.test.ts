// The nesting limit at its edge: the loader skips the character walk for text with too few
// "[", "{" and "." to nest past 16, so text just past the limit must still be refused
// (with the walk's own position) and text at the limit still read.
import { describe, expect, test } from "bun:test";
import type { LoadedConfig } from "../../src/config/types.ts";
import { fromTexts } from "../fixtures/config/fake-env.ts";

const service = (extra: string) => `[service]\nexec_start = "/bin/true"\n${extra}\n`;
const NESTED = "nested deeper than 16 (arrays, inline tables or dotted keys): not read further";

function placed(config: LoadedConfig): string[] {
  return config.diagnostics.filter((d) => d.file === "units/u.toml").map((d) => `${d.line}:${d.col}: ${d.message}`);
}

describe("nesting at the limit of 16", () => {
  test("17 arrays within each other are refused where the 17th opens; 16 are read", () => {
    expect(placed(fromTexts({ u: service(`x = ${"[".repeat(17)}1${"]".repeat(17)}`) }))).toEqual([`3:21: ${NESTED}`]);
    const sixteen = placed(fromTexts({ u: service(`x = ${"[".repeat(16)}1${"]".repeat(16)}`) }));
    expect(sixteen.some((line) => line.includes("nested deeper"))).toBe(false);
  });

  test("17 inline tables within each other are refused; 16 are read", () => {
    const nested = (depth: number) => `x = ${"{a=".repeat(depth)}1${"}".repeat(depth)}`;
    expect(placed(fromTexts({ u: service(nested(17)) }))).toEqual([`3:53: ${NESTED}`]);
    expect(placed(fromTexts({ u: service(nested(16)) })).some((line) => line.includes("nested deeper"))).toBe(false);
  });

  test("a dotted key of 17 parts is refused; one of 16 parts is read", () => {
    const key = (parts: number) => Array.from({ length: parts }, (_, i) => `k${i}`).join(".");
    expect(placed(fromTexts({ u: service(`${key(17)} = 1`) }))).toEqual([`3:58: ${NESTED}`]);
    expect(placed(fromTexts({ u: service(`${key(16)} = 1`) })).some((line) => line.includes("nested deeper"))).toBe(false);
  });
});
