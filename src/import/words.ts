// systemd's value syntax: words split at whitespace with quotes ('…' and "…", also in the
// middle of a word) and C escapes (\n \t \x41 \101 \u00e9 \s …), as extract_first_word
// does with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE; command lines with their prefixes; and the
// specifiers that are the same for every system unit.

export class WordError extends Error {}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", s: " ",
  "\\": "\\", '"': '"', "'": "'",
};

/** One C escape at text[i] (the character after the backslash); returns it and how many characters it took. */
function unescapeOne(text: string, i: number): { text: string; length: number } {
  const c = text[i];
  if (c === undefined) throw new WordError("a backslash ends the value");
  if (c in SIMPLE_ESCAPES) return { text: SIMPLE_ESCAPES[c]!, length: 1 };
  const hex = (digits: number) => {
    const part = text.slice(i + 1, i + 1 + digits);
    if (part.length !== digits || !/^[0-9a-fA-F]+$/.test(part)) throw new WordError(`bad escape \\${c}${part}`);
    const code = parseInt(part, 16);
    if (code === 0) throw new WordError("\\0 (a NUL byte) cannot be passed");
    return { text: String.fromCodePoint(code), length: 1 + digits };
  };
  if (c === "x") return hex(2);
  if (c === "u") return hex(4);
  if (c === "U") return hex(8);
  if (/[0-7]/.test(c)) {
    const part = text.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(part)) throw new WordError(`bad octal escape \\${part}`);
    const code = parseInt(part, 8);
    if (code === 0) throw new WordError("\\0 (a NUL byte) cannot be passed");
    return { text: String.fromCharCode(code), length: 3 };
  }
  // systemd refuses other escapes in command lines but keeps separators such as "\;".
  return { text: c, length: 1 };
}

/** A word, and whether any of it was quoted or escaped (a quoted ";" separates nothing). */
export interface Word {
  text: string;
  quoted: boolean;
}

export function splitWords(value: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value[i]!)) i++;
    if (i >= value.length) break;
    let text = "";
    let quoted = false;
    while (i < value.length && !/\s/.test(value[i]!)) {
      const c = value[i]!;
      if (c === "'" || c === '"') {
        quoted = true;
        i++;
        for (;;) {
          if (i >= value.length) throw new WordError(`unterminated ${c === '"' ? "double" : "single"} quote`);
          const q = value[i]!;
          if (q === c) {
            i++;
            break;
          }
          if (q === "\\") {
            const escaped = unescapeOne(value, i + 1);
            text += escaped.text;
            i += 1 + escaped.length;
          } else {
            text += q;
            i++;
          }
        }
      } else if (c === "\\") {
        quoted = true;
        const escaped = unescapeOne(value, i + 1);
        text += escaped.text;
        i += 1 + escaped.length;
      } else {
        text += c;
        i++;
      }
    }
    words.push({ text, quoted });
  }
  return words;
}

/** The words' texts; throws WordError. */
export function words(value: string): string[] {
  return splitWords(value).map((w) => w.text);
}

/** The prefixes systemd allows before a program (systemd.service(5), "Command lines"). */
export const EXEC_PREFIXES = ["-", "@", ":", "+", "!!", "!"] as const;
export type ExecPrefix = (typeof EXEC_PREFIXES)[number];

export interface SystemdCommand {
  prefixes: ExecPrefix[];
  /** With "@", the program is argv[0]'s path and argv[0] is the next word. */
  program: string;
  args: string[]; // with "@", args[0] is the argv[0] the program sees
}

/** The commands of one Exec*= value: a lone unquoted ";" separates several. Throws WordError. */
export function parseCommands(value: string): SystemdCommand[] {
  const groups: Word[][] = [[]];
  for (const word of splitWords(value)) {
    if (word.text === ";" && !word.quoted) groups.push([]);
    else groups.at(-1)!.push(word);
  }
  return groups.filter((g) => g.length > 0).map((group) => {
    let first = group[0]!.text;
    const prefixes: ExecPrefix[] = [];
    for (;;) {
      const prefix = EXEC_PREFIXES.find((p) => first.startsWith(p));
      if (prefix === undefined) break;
      if (prefixes.includes(prefix)) throw new WordError(`the prefix "${prefix}" is given twice`);
      prefixes.push(prefix);
      first = first.slice(prefix.length);
    }
    const rest = group.slice(1).map((w) => w.text);
    if (first === "") {
      // "- /bin/foo" is not a thing; systemd wants the prefixes stuck to the program.
      throw new WordError("the program is missing after the prefixes");
    }
    if (prefixes.includes("@") && rest.length === 0) throw new WordError('"@" needs the argv[0] word after the program');
    return { prefixes, program: first, args: rest };
  });
}

/** Specifiers that mean the same in every system unit (systemd.unit(5), "Specifiers"). */
export const FIXED_SPECIFIERS: Record<string, string> = {
  t: "/run", S: "/var/lib", C: "/var/cache", L: "/var/log", E: "/etc", T: "/tmp", V: "/var/tmp",
};

/** Writes out the fixed specifiers; "%%" and the unit's own (%i, %n …) are left for hearth. */
export function expandFixedSpecifiers(value: string): string {
  return value.replace(/%(.)/gs, (match, c: string) => FIXED_SPECIFIERS[c] ?? match);
}

/** systemd's parse_boolean. */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (["1", "yes", "y", "true", "t", "on"].includes(v)) return true;
  if (["0", "no", "n", "false", "f", "off"].includes(v)) return false;
  return undefined;
}
