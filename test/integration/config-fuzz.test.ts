// Fuzzing the configuration: the good unit files of test/fixtures, mutated (byte flips,
// truncation, huge numbers, deep nesting, odd unicode, duplicated keys, control
// characters, huge keys and values) beside things in units/ that are not files (a FIFO,
// a directory, links to nothing and to a device). `hearth check` must finish, exit 0 or 1,
// and print only bounded FILE:LINE:COL lines; a real `hearth run` on such a directory
// must start the one good unit and stay small.
//
// The seed is fixed and printed: HEARTH_FUZZ_SEED=N replays a run, HEARTH_FUZZ_BATCHES=N
// runs more batches.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, hearthCommand, ROOT, startManager, tempDir, type RunningManager } from "../support/harness.ts";
import { seededRandom } from "../support/random.ts";

const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20_261_206);
const BATCHES = Number(process.env.HEARTH_FUZZ_BATCHES ?? 8);
const FILES_PER_BATCH = 16;
const CHECK_TIMEOUT_MS = 15_000;
/** A diagnostic line: the file, maybe LINE:COL, the severity; nothing unbounded. */
const DIAGNOSTIC = /^\/[^\n]*?(:\d+:\d+)?: (error|warning): [^\n]+$/;
const SUMMARY = /^\d+ units?, \d+ errors?, \d+ warnings?$/;
const MAX_LINE = 700; // the path of a temporary directory, a label and a 400-character message

console.log(`config fuzz: seed ${SEED}, ${BATCHES} batches (HEARTH_FUZZ_SEED=${SEED} replays it)`);

const FIXTURES = join(ROOT, "test/fixtures");
const SOURCES: string[] = ["config/good/units", "twenty/units"].flatMap((dir) =>
  readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith(".toml")).map((f) => readFileSync(join(FIXTURES, dir, f), "utf8")));
const SYSTEM = readFileSync(join(FIXTURES, "config/good/system.toml"), "utf8");

const HUGE_NUMBERS = ["4294967296", "2147483647", "9007199254740993", "99999999999999999999", "-1", "1e308", "-0", "inf", "nan", "0x7fffffffffffffff", "1_000_000_000_000"];
const ODD_TEXT = ["\u202e", "\u2028", "\u0085", "\ufeff", "\ud800", "é", "😀", "\u0000", "\x01", "\x1b[31m", "\r", "\x7f", "\\", "\"", "'''", "[", "{", "=", "\n[service]\n", "\n[[socket]]\n"];

type Mutator = (text: string, rand: () => number) => string | Uint8Array;
const pick = <T>(list: readonly T[], rand: () => number): T => list[Math.floor(rand() * list.length)]!;
const at = (text: string, rand: () => number) => Math.floor(rand() * (text.length + 1));
const lines = (text: string) => text.split("\n");

const MUTATORS: Record<string, Mutator> = {
  flipBytes(text, rand) {
    const bytes = new TextEncoder().encode(text);
    for (let n = 1 + Math.floor(rand() * 8); n > 0; n--) bytes[Math.floor(rand() * bytes.length)]! ^= 1 << Math.floor(rand() * 8);
    return bytes;
  },
  truncate: (text, rand) => text.slice(0, at(text, rand)),
  hugeNumber(text, rand) {
    const numbers = [...text.matchAll(/\b\d+(\.\d+)?\b/g)];
    if (numbers.length === 0) return `${text}\n[service]\nlog_buffer_lines = ${pick(HUGE_NUMBERS, rand)}\n`;
    const hit = pick(numbers, rand);
    return text.slice(0, hit.index) + pick(HUGE_NUMBERS, rand) + text.slice(hit.index! + hit[0].length);
  },
  deepNesting(text, rand) {
    const depth = 10 + Math.floor(rand() * 3000);
    const [open, close] = rand() < 0.5 ? ["{a=", "}"] : ["[", "]"];
    const value = `${open.repeat(depth)}1${close.repeat(depth)}`;
    return rand() < 0.5 ? `${text}\nx = ${value}\n` : `[${"a.".repeat(depth)}b]\n${text}`;
  },
  oddText(text, rand) {
    let out = text;
    for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
      const i = at(out, rand);
      out = out.slice(0, i) + pick(ODD_TEXT, rand) + out.slice(i);
    }
    return out;
  },
  duplicateKey(text, rand) {
    const all = lines(text);
    const keys = all.filter((line) => /^\w+\s*=/.test(line));
    if (keys.length === 0) return text;
    all.splice(Math.floor(rand() * all.length), 0, pick(keys, rand));
    return all.join("\n");
  },
  longValue: (text, rand) => `${text}\n[service]\nworking_directory = """${"line\n".repeat(Math.floor(rand() * 20_000))}"""\n`,
  longKey: (text, rand) => `${text}\n${"exec_start".repeat(1 + Math.floor(rand() * 50_000))} = 1\n`,
  manyKeys(text, rand) {
    const count = Math.floor(rand() * 5_000);
    return `${text}\n[service]\n${Array.from({ length: count }, (_, i) => `k${i} = ${i}`).join("\n")}\n`;
  },
};

/** One mutated text: a fixture with one to three mutations. */
function mutate(source: string, rand: () => number): { text: string | Uint8Array; how: string[] } {
  let text: string | Uint8Array = source;
  const how: string[] = [];
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const name = pick(Object.keys(MUTATORS), rand);
    how.push(name);
    text = MUTATORS[name]!(typeof text === "string" ? text : new TextDecoder().decode(text), rand);
  }
  return { text, how };
}

/** Things in units/ that are not unit files. */
function addOddEntries(units: string): void {
  Bun.spawnSync(["mkfifo", join(units, "fifo.toml")]);
  mkdirSync(join(units, "dir.toml"));
  symlinkSync("/nonexistent/gone.toml", join(units, "dangling.toml"));
  symlinkSync("/dev/zero", join(units, "zero.toml"));
  symlinkSync("loop.toml", join(units, "loop.toml"));
  writeFileSync(join(units, "empty.toml"), "");
  writeFileSync(join(units, "big.toml"), `# ${"x".repeat(300_000)}\n`);
}

/** A configuration directory of mutated files; returns it and what was done, to print on failure. */
function batch(index: number, withSystem: boolean): { dir: string; made: string[] } {
  const rand = seededRandom(SEED + index);
  const dir = tempDir(`fuzz-${index}`);
  const units = join(dir, "units");
  mkdirSync(units);
  const made: string[] = [];
  for (let i = 0; i < FILES_PER_BATCH; i++) {
    const { text, how } = mutate(pick(SOURCES, rand), rand);
    writeFileSync(join(units, `f${i}.toml`), text);
    made.push(`f${i}.toml: ${how.join(", ")}`);
  }
  if (withSystem) {
    const { text, how } = mutate(SYSTEM, rand);
    writeFileSync(join(dir, "system.toml"), text);
    made.push(`system.toml: ${how.join(", ")}`);
  }
  addOddEntries(units);
  return { dir, made };
}

const dirs: string[] = [];
afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

describe(`hearth check on mutated configurations (seed ${SEED})`, () => {
  for (let index = 0; index < BATCHES; index++) {
    test(`batch ${index}: check finishes, exits 0 or 1, prints only bounded diagnostic lines`, async () => {
      const { dir, made } = batch(index, index % 2 === 0);
      dirs.push(dir);
      const context = `seed ${SEED}, batch ${index}:\n  ${made.join("\n  ")}`;
      const proc = Bun.spawn([...hearthCommand(), "check", "-c", dir], { stdout: "pipe", stderr: "pipe" });
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; proc.kill("SIGKILL"); }, CHECK_TIMEOUT_MS);
      const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
      const code = await proc.exited;
      clearTimeout(timer);
      if (timedOut) throw new Error(`check did not finish in ${CHECK_TIMEOUT_MS} ms; ${context}`);
      if (code !== 0 && code !== 1) throw new Error(`check exited ${code}; ${context}\nstderr:\n${err.slice(0, 4000)}`);
      expect(err).toBe("");
      const printed = out.split("\n").filter((line) => line !== "");
      expect(printed.at(-1)).toMatch(SUMMARY);
      const bad = printed.slice(0, -1).filter((line) => !DIAGNOSTIC.test(line) || line.length > MAX_LINE);
      if (bad.length > 0) throw new Error(`${bad.length} malformed lines, first: ${JSON.stringify(bad[0]!.slice(0, 300))}; ${context}`);
    });
  }
});

describe(`hearth run beside mutated units (seed ${SEED})`, () => {
  let m: RunningManager | null = null;
  afterAll(async () => {
    await m?.stop();
    cleanup(m);
  });

  test("the one good unit starts; the manager keeps answering and stays small", async () => {
    const { dir, made } = batch(BATCHES, true);
    dirs.push(dir);
    writeFileSync(join(dir, "units", "zz-good.toml"), `[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["/bin/sleep", "300"]\n`);
    m = await startManager(dir, ["--target", "multi-user"]); // whatever system.toml's default_target became
    const good = await m.waitForState("zz-good", "active", 15_000).catch((e: Error) => {
      throw new Error(`${e.message.slice(0, 3000)}\nseed ${SEED}:\n  ${made.join("\n  ")}`);
    });
    expect(good.active).toBe("active");
    expect((await m.ctl("list")).code).toBe(0);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${m.proc.pid}/status`, "utf8"))?.[1]);
    console.log(`manager RSS beside ${made.length} mutated units: ${rss} kB`);
    expect(rss).toBeLessThan(250_000);
    expect(m.text()).not.toMatch(/internal error|RangeError|TypeError/);
    for (const line of m.output) expect(line.length).toBeLessThan(MAX_LINE + 200);
  });
});
