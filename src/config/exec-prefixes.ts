// systemd's command-line prefixes (systemd.service(5), "Command lines"), read off the
// front of a command's first word in any order, each at most once:
//   "-"  a failure of the command is ignored
//   "@"  the second word is the argv[0] the program sees
//   ":"  no $NAME / ${NAME} substitution
//   "+"  full privileges: user, group, capabilities and sandboxing keys do not apply
//   "!"  user, group and supplementary_groups do not apply (the rest does)
//   "!!" as "!", but only on a kernel without ambient capabilities (Linux < 4.3): hearth
//        needs one with them (ambient_capabilities), so "!!" changes nothing here
// "+" excludes "!" and "!!", as in systemd.
import type { ExecCommand } from "./types.ts";

export type PrefixFlags = Omit<ExecCommand, "argv" | "argv0"> & { separateArgv0: boolean };

export type PrefixRead = { flags: PrefixFlags; program: string } | { error: string };

export function readExecPrefixes(first: string): PrefixRead {
  const flags: PrefixFlags = { ignoreFailure: false, separateArgv0: false };
  let ambientOnly = false; // "!!"
  let i = 0;
  const twice = (c: string): PrefixRead => ({ error: `the prefix "${c}" is given twice` });
  for (; i < first.length; i++) {
    const c = first[i]!;
    if (c === "-") {
      if (flags.ignoreFailure) return twice(c);
      flags.ignoreFailure = true;
    } else if (c === "@") {
      if (flags.separateArgv0) return twice(c);
      flags.separateArgv0 = true;
    } else if (c === ":") {
      if (flags.noEnvironmentExpansion) return twice(c);
      flags.noEnvironmentExpansion = true;
    } else if (c === "+") {
      if (flags.privileges === "full") return twice(c);
      if (flags.privileges !== undefined || ambientOnly) return { error: 'the prefix "+" cannot go with "!" or "!!"' };
      flags.privileges = "full";
    } else if (c === "!") {
      if (flags.privileges === "full") return { error: 'the prefix "!" cannot go with "+"' };
      if (flags.privileges === "keep-ids" || ambientOnly) return { error: 'the prefixes "!" and "!!" may be given once, and not both' };
      if (first[i + 1] === "!") {
        ambientOnly = true;
        i++;
      } else {
        flags.privileges = "keep-ids";
      }
    } else {
      break;
    }
  }
  return { flags, program: first.slice(i) };
}

/** The command with its flags, leaving out those not given (so plain commands stay { argv, ignoreFailure }). */
export function withPrefixes(argv: string[], flags: PrefixFlags, argv0: string | undefined): ExecCommand {
  const command: ExecCommand = { argv, ignoreFailure: flags.ignoreFailure };
  if (argv0 !== undefined) command.argv0 = argv0;
  if (flags.privileges !== undefined) command.privileges = flags.privileges;
  if (flags.noEnvironmentExpansion) command.noEnvironmentExpansion = true;
  return command;
}
