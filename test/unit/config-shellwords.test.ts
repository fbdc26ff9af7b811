// Splitting command strings like a POSIX shell, without running one.
import { describe, expect, test } from "bun:test";
import { ShellSyntaxError, splitShellWords, splitShellWordsDetailed } from "../../src/config/shellwords.ts";

describe("splitShellWords", () => {
  const cases: [string, string[]][] = [
    ["/bin/echo hello world", ["/bin/echo", "hello", "world"]],
    ["  a \t b\n c  ", ["a", "b", "c"]],
    ["", []],
    ["a 'b c' d", ["a", "b c", "d"]],
    [`a "b c" d`, ["a", "b c", "d"]],
    [`a 'it''s'`, ["a", "its"]],
    [`'a'"b"c`, ["abc"]],
    [`a '' ""`, ["a", "", ""]],
    [`a\\ b`, ["a b"]],
    [`\\'x\\'`, ["'x'"]],
    [`"a\\"b"`, ['a"b']],
    [`"a\\\\b"`, ["a\\b"]],
    [`"a\\$b"`, ["a$b"]],
    [`"a\\nb"`, ["a\\nb"]], // inside double quotes, \n is not an escape
    [`'a\\b'`, ["a\\b"]], // nothing is an escape inside single quotes
    ["a \\\nb", ["a", "b"]], // line continuation
    ["echo $HOME ~ *.txt", ["echo", "$HOME", "~", "*.txt"]], // no expansion
    ["a|b > c", ["a|b", ">", "c"]], // no operators either
  ];
  for (const [line, words] of cases) {
    test(JSON.stringify(line), () => expect(splitShellWords(line)).toEqual(words));
  }

  test("marks quoted and escaped words", () => {
    expect(splitShellWordsDetailed(`a '|' \\> "x"y |`).map((w) => w.quoted)).toEqual([false, true, true, true, false]);
  });

  const errors: [string, string, number][] = [
    ["echo 'abc", "unterminated single quote (opened at column 6)", 5],
    [`echo "abc`, "unterminated double quote (opened at column 6)", 5],
    [`echo "a\\"`, "unterminated double quote (opened at column 6)", 5],
    ["echo abc\\", "trailing backslash escapes nothing", 8],
  ];
  for (const [line, message, offset] of errors) {
    test(`error: ${JSON.stringify(line)}`, () => {
      let error: unknown;
      try {
        splitShellWords(line);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ShellSyntaxError);
      expect((error as ShellSyntaxError).message).toBe(message);
      expect((error as ShellSyntaxError).offset).toBe(offset);
    });
  }
});
