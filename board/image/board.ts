// A board's one small file (board/NAME/board.toml): its kernel, console, modules, QEMU
// flags and watchdog device. Pure: text in, a checked Board out.

import { parse } from "smol-toml";

export interface Board {
  name: string;
  description: string;
  arch: "arm64" | "amd64"; // Debian's names
  bunTarget: string;
  cc: string;
  kernelPackage: string;
  console: string;
  cmdline: string;
  modules: string[];
  watchdogDevice: string;
  qemu: { binary: string; args: string[] } | null; // null: a real board, not booted here
}

export function parseBoard(name: string, text: string): Board {
  const raw = parse(text) as Record<string, unknown>;
  const str = (key: string): string => {
    const v = raw[key];
    if (typeof v !== "string" || v === "") throw new Error(`board/${name}/board.toml: '${key}' must be a non-empty string`);
    return v;
  };
  const list = (v: unknown, what: string): string[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new Error(`board/${name}/board.toml: '${what}' must be a list of strings`);
    return v as string[];
  };
  const arch = str("arch");
  if (arch !== "arm64" && arch !== "amd64") throw new Error(`board/${name}/board.toml: arch must be "arm64" or "amd64"`);
  const q = raw.qemu as Record<string, unknown> | undefined;
  return {
    name, description: str("description"), arch, bunTarget: str("bun_target"), cc: str("cc"),
    kernelPackage: str("kernel_package"), console: str("console"), cmdline: str("cmdline"),
    modules: list(raw.modules ?? [], "modules"), watchdogDevice: str("watchdog_device"),
    qemu: q ? { binary: String(q.binary), args: list(q.args, "qemu.args") } : null,
  };
}

/** The Bun binary's architecture name (process.arch) for a Debian architecture. */
export function bunArch(board: Board): "arm64" | "x64" {
  return board.arch === "amd64" ? "x64" : "arm64";
}
