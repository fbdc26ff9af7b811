// `hearthctl logs --boot -1`: the previous boot's persistent log (/var/log/hearth/boot-1.log*)
// and how that boot ended. Read from the files, without PID 1: it works in a rescue
// shell too.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bootEnd } from "./boot-end.ts";
import { PERSISTENT_LOG_DIR, previousBootFiles } from "./persistent.ts";
import { readRegularFile } from "../config/read-file.ts";

const MAX_BYTES = 16 * 1024 * 1024;

function tryRead(path: string, max = 4096): string | null {
  try {
    return readFileSync(path, "utf8").slice(0, max);
  } catch {
    return null;
  }
}

export function previousBootMain(argv: string[], out: (line: string) => void = (l) => console.log(l)): number {
  const at = argv.indexOf("--boot");
  const which = argv[at + 1];
  if (which !== "-1") {
    out("hearthctl logs --boot: only -1 (the previous boot) is kept");
    return 2;
  }
  const files = previousBootFiles(PERSISTENT_LOG_DIR);
  const lines: string[] = [];
  for (const f of files) {
    const r = readRegularFile(f, MAX_BYTES);
    if ("bytes" in r) lines.push(...new TextDecoder().decode(r.bytes).split("\n").filter((l) => l !== ""));
  }
  let watchdogs: string[] = [];
  try { watchdogs = readdirSync("/sys/class/watchdog"); } catch { /* none */ }
  let pstore: string[] = [];
  try { pstore = readdirSync("/sys/fs/pstore"); } catch { /* not mounted */ }
  const end = bootEnd({
    watchdogBootStatus: watchdogs.map((w) => {
      const s = tryRead(join("/sys/class/watchdog", w, "bootstatus"));
      return s === null || s.trim() === "" ? null : Number(s.trim());
    }),
    pstore: pstore.map((name) => ({ name, head: (tryRead(join("/sys/fs/pstore", name), 512) ?? "").split("\n")[0]! })),
    lines,
  });
  if (files.length === 0) out(`-- no log of the previous boot in ${PERSISTENT_LOG_DIR}`);
  for (const l of lines) out(l);
  out(`-- the previous boot ended: ${end.text}`);
  return 0;
}
