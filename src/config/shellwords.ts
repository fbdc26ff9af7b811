// Split a command string into words the way a POSIX shell does, and nothing more:
// quotes and backslashes are honoured, but no variable, glob or tilde is expanded and
// no shell is ever run. `a 'b c' "d\"e"` -> ["a", "b c", "d\"e"].

export interface ShellWord {
  text: string;
  /** Some part of the word was quoted or escaped: `'|'` is an argument, never an operator. */
  quoted: boolean;
}

export class ShellSyntaxError extends Error {
  /** 0-based offset in the command string where the problem starts. */
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

const BLANK = new Set([" ", "\t", "\n", "\r"]);
/** Inside double quotes a backslash escapes only these (POSIX 2.2.3). */
const ESCAPABLE_IN_DOUBLE_QUOTES = new Set(["$", "`", '"', "\\", "\n"]);

export function splitShellWords(line: string): string[] {
  return splitShellWordsDetailed(line).map((word) => word.text);
}

export function splitShellWordsDetailed(line: string): ShellWord[] {
  const words: ShellWord[] = [];
  let text: string | null = null; // null between words; "" is a word begun by '' or ""
  let quoted = false;
  const endWord = () => {
    if (text !== null) words.push({ text, quoted });
    text = null;
    quoted = false;
  };

  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (BLANK.has(c)) {
      endWord();
    } else if (c === "\\") {
      if (i + 1 >= line.length) throw new ShellSyntaxError("trailing backslash escapes nothing", i);
      i++;
      if (line[i] === "\n") continue; // line continuation
      text = (text ?? "") + line[i];
      quoted = true;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError(`unterminated single quote (opened at column ${i + 1})`, i);
      text = (text ?? "") + line.slice(i + 1, end);
      quoted = true;
      i = end;
    } else if (c === '"') {
      const { content, end } = readDoubleQuoted(line, i);
      text = (text ?? "") + content;
      quoted = true;
      i = end;
    } else {
      text = (text ?? "") + c;
    }
  }
  endWord();
  return words;
}

/** Reads from the opening quote at `open`; returns the unescaped content and the closing quote's offset. */
function readDoubleQuoted(line: string, open: number): { content: string; end: number } {
  let content = "";
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') return { content, end: i };
    if (c === "\\" && i + 1 < line.length && ESCAPABLE_IN_DOUBLE_QUOTES.has(line[i + 1]!)) {
      i++;
      if (line[i] !== "\n") content += line[i];
    } else {
      content += c;
    }
  }
  throw new ShellSyntaxError(`unterminated double quote (opened at column ${open + 1})`, open);
}

/** Words a shell would treat as operators; unquoted in a command, they are a sign someone expects a shell. */
export const SHELL_OPERATORS = new Set(["|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", "2>", "2>&1", "&>"]);
