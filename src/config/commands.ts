// Commands: exec_start and the exec_* lists, and the check that their programs exist.
//
// A command is an argv array or one string split like a shell would (no shell runs).
// The program may carry systemd's prefixes ("-", "@", ":", "+", "!", "!!": ./exec-prefixes.ts).
// A program given by bare name is looked up in PATH when the configuration is loaded,
// and argv[0] becomes its absolute path.

import { accessSync, constants, statSync, type Stats } from "node:fs";
import { readRegularFile } from "./read-file.ts";
import type { ExecCommand } from "./types.ts";
import type { Site } from "./diagnostics.ts";
import { SHELL_OPERATORS, ShellSyntaxError, splitShellWordsDetailed } from "./shellwords.ts";
import { describeValue, quote } from "./describe.ts";
import { readExecPrefixes, withPrefixes } from "./exec-prefixes.ts";

/** What the loader may ask of the filesystem; tests inject their own. */
export interface LoadEnv {
  /** True for an executable regular file. */
  isExecutable(path: string): boolean;
  /** True if anything exists at path. */
  exists(path: string): boolean;
  /** The first `max` bytes of a regular file (to read a #! line); null if there is none. */
  head?(path: string, max: number): Uint8Array | null;
}

export const hostEnv: LoadEnv = {
  isExecutable(path) {
    // stat first: a missing file is the common case on a search path, and a throw costs
    // more than the lookup itself (an Error with its stack, each time).
    if (!statIfAny(path)?.isFile()) return false; // directories are "executable" too
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  exists(path) {
    return statIfAny(path) !== undefined;
  },
  head(path, max) {
    const read = readRegularFile(path, max);
    return "bytes" in read ? read.bytes : null;
  },
};

function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // EACCES, ENOTDIR, ELOOP: nothing there for us
  }
}

/**
 * `env` answering each question once: one load asks about the same programs many times
 * (every unit of a board may run the same /usr/bin/foo, and bare names try six paths).
 */
export function memoizedEnv(env: LoadEnv): LoadEnv {
  const executable = new Map<string, boolean>();
  const exists = new Map<string, boolean>();
  const heads = new Map<string, Uint8Array | null>();
  const once = <T>(cache: Map<string, T>, path: string, ask: () => T): T => {
    if (!cache.has(path)) cache.set(path, ask());
    return cache.get(path)!;
  };
  const head = env.head;
  return {
    isExecutable: (path) => once(executable, path, () => env.isExecutable(path)),
    exists: (path) => once(exists, path, () => env.exists(path)),
    ...(head ? { head: (path: string, max: number) => once(heads, `${max}:${path}`, () => head.call(env, path, max)) } : {}),
  };
}

/** The kernel reads this much of a script for its #! line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;

/**
 * Why execve would fail on a script's #! line, or null: a missing interpreter, or a line
 * ending in CR (a script saved with DOS line endings), which the kernel takes as part of
 * the name. Only the check's own reading: the kernel has the last word.
 */
export function interpreterProblem(program: string, env: LoadEnv): string | null {
  const head = env.head?.(program, SHEBANG_BYTES);
  if (!head || head[0] !== 0x23 || head[1] !== 0x21) return null; // no "#!"
  const end = head.indexOf(0x0a);
  const line = new TextDecoder().decode(head.subarray(2, end < 0 ? head.length : end));
  const words = line.split(/[ \t]+/).filter((word) => word !== "");
  const interpreter = words[0];
  if (interpreter === undefined) return `${program}: its #! line names no interpreter`;
  if (line.endsWith("\r")) {
    return `${program}: its #! line ends in a carriage return (DOS line endings): the kernel would look for ${quote(words.at(-1)!)}`;
  }
  if (!interpreter.startsWith("/") || env.isExecutable(interpreter)) return null;
  return `${program}: its interpreter ${interpreter} (#! line) ${env.exists(interpreter) ? "is not executable" : "does not exist"}`;
}

/** Where bare program names are looked up: systemd's fixed default, not the caller's $PATH. */
export const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export type ProgramLookup = { path: string } | { problem: string };

export function resolveProgram(program: string, env: LoadEnv): ProgramLookup {
  if (program.startsWith("/")) {
    if (env.isExecutable(program)) return { path: program };
    return { problem: env.exists(program) ? `${program} is not executable` : `${program} does not exist` };
  }
  if (program.includes("/")) {
    return { problem: `${quote(program)} is a relative path: give an absolute path, or a bare name to look up in PATH` };
  }
  const candidates = SEARCH_PATH.map((dir) => `${dir}/${program}`);
  const executable = candidates.find((path) => env.isExecutable(path));
  if (executable !== undefined) return { path: executable };
  const present = candidates.find((path) => env.exists(path));
  if (present !== undefined) return { problem: `${present} is not executable` };
  return { problem: `${quote(program)} not found in PATH (${SEARCH_PATH.join(":")})` };
}

/**
 * exec_start: an argv array, or one string; or several commands (a oneshot's), as an
 * array of argv arrays (the loader keeps the first as exec_start, the rest as exec_start_next).
 */
export function readCommand(value: unknown, site: Site): ExecCommand | ExecCommand[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => Array.isArray(item))) return readOneCommand(value, site, "");
  const commands = readCommandList(value, site);
  return commands?.length === 1 ? commands[0] : commands;
}

const ARGV_HINT =
  ' (an array of strings is a list of commands, one per item; for one command with arguments write [["/bin/kill", "-HUP"]] or "/bin/kill -HUP")';

/** exec_start_pre and the other lists: a string (one command), or an array of strings or of argv arrays. */
export function readCommandList(value: unknown, site: Site): ExecCommand[] | undefined {
  if (typeof value === "string") {
    const command = readOneCommand(value, site, "");
    return command && [command];
  }
  if (!Array.isArray(value)) {
    site.error(`expected a command string, or an array of commands, got ${describeValue(value)}`);
    return undefined;
  }
  // ["/bin/kill", "-HUP"] is two commands here; if an item reads like an argument, say so.
  const mayBeOneArgv = value.length >= 2 && value.every((item) => typeof item === "string");
  const commands: ExecCommand[] = [];
  let valid = true;
  value.forEach((item, index) => {
    const itemSite = site.item(index);
    if (typeof item !== "string" && !Array.isArray(item)) {
      itemSite.error(`expected a command string or an argv array, got ${describeValue(item)}`);
      valid = false;
      return;
    }
    const hint = mayBeOneArgv && index > 0 && !/\s/.test(item as string) ? ARGV_HINT : "";
    const command = readOneCommand(item, itemSite, hint);
    if (command) commands.push(command);
    else valid = false;
  });
  return valid ? commands : undefined;
}

function readOneCommand(value: unknown, site: Site, hint: string): ExecCommand | undefined {
  if (typeof value === "string") {
    const argv = splitCommandString(value, site);
    return argv && toExecCommand(argv, () => site, hint);
  }
  if (Array.isArray(value)) {
    const argv = readArgvArray(value, site);
    return argv && toExecCommand(argv, (index) => site.item(index), hint);
  }
  site.error(`expected a command: an argv array like ["/usr/bin/foo", "-v"] or a string, got ${describeValue(value)}`);
  return undefined;
}

function readArgvArray(value: unknown[], site: Site): string[] | undefined {
  if (value.length === 0) {
    site.error("empty command: the program is missing");
    return undefined;
  }
  const wrong = value.findIndex((word) => typeof word !== "string");
  if (wrong >= 0) {
    site.item(wrong).error(`expected a string in the argv array, got ${describeValue(value[wrong])}`);
    return undefined;
  }
  return value as string[];
}

function splitCommandString(text: string, site: Site): string[] | undefined {
  let words;
  try {
    words = splitShellWordsDetailed(text);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    site.error(e.message);
    return undefined;
  }
  if (words.length === 0) {
    site.error("empty command: the program is missing");
    return undefined;
  }
  const unquoted = words.filter((word) => !word.quoted).map((word) => word.text);
  const operator = unquoted.find((word) => SHELL_OPERATORS.has(word));
  if (operator !== undefined) {
    site.warning(`${quote(operator)} is passed to the program as an argument: no shell is run (use ["/bin/sh", "-c", "..."] for shell syntax)`);
  }
  return words.map((word) => word.text);
}

/** Applies systemd's prefixes (./exec-prefixes.ts) and finds the program; `wordSite(i)` is where argv[i] stands. */
function toExecCommand(argv: string[], wordSite: (index: number) => Site, hint: string): ExecCommand | undefined {
  const programSite = wordSite(0);
  const [first, ...rest] = argv as [string, ...string[]];
  const read = readExecPrefixes(first);
  if ("error" in read) {
    programSite.error(read.error);
    return undefined;
  }
  const { flags, program } = read;
  const prefixed = program !== first;
  if (program === "") {
    programSite.error(`the program is missing${prefixed ? ` after the prefix ${quote(first)}` : ""}`);
    return undefined;
  }
  // "@": the word after the program is its argv[0], the arguments follow.
  const argv0 = flags.separateArgv0 ? rest[0] : undefined;
  if (flags.separateArgv0 && (argv0 === undefined || argv0 === "")) {
    programSite.error('the prefix "@" needs the argv[0] to give the program as the next word');
    return undefined;
  }
  const args = flags.separateArgv0 ? rest.slice(1) : rest;
  const lookup = resolveProgram(program, programSite.env);
  const interpreter = "path" in lookup ? interpreterProblem(lookup.path, programSite.env) : null;
  const found = interpreter === null ? lookup : { problem: interpreter };
  if ("path" in found) return withPrefixes([found.path, ...args], flags, argv0);
  // As in systemd, "-" also forgives a program that cannot be run at all.
  if (flags.ignoreFailure && hint === "") {
    programSite.warning(`${found.problem}; the command will fail, which "-" ignores`);
    return withPrefixes(["path" in lookup ? lookup.path : program, ...args], flags, argv0);
  }
  programSite.error(found.problem + hint);
  return undefined;
}
