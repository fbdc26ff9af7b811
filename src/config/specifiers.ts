// systemd's unit specifiers (%i, %n, %H …: systemd.unit(5), "Specifiers"), expanded in
// the string values of unit files. Pure: the facts about the machine and the manager's
// user are gathered by the caller (src/cli) and passed in.

/** What the specifiers that do not come from the unit's name stand for. */
export interface SpecifierFacts {
  hostname: string; // %H
  // PID 1 sets system.toml's [manager] hostname before any unit runs: %H is that one then.
  hostnameFromSystemToml?: boolean;
  machineId: string; // %m (/etc/machine-id)
  bootId: string; // %b (/proc/sys/kernel/random/boot_id, without dashes)
  kernelRelease: string; // %v (uname -r)
  // %t %S %C %L %E: /run /var/lib /var/cache /var/log /etc for the system manager, the
  // XDG directories for a user's (hearth run), as systemd --user.
  runtime: string;
  state: string;
  cache: string;
  logs: string;
  configuration: string;
  // %u %U %g %G %h: the user the manager runs as (systemd ≥ 249: not User=).
  user: string;
  uid: number;
  group: string;
  gid: number;
  home: string;
}

/** Facts for tests and for `hearth check` when nothing better is known. */
export const SYSTEM_FACTS: SpecifierFacts = {
  hostname: "localhost", machineId: "", bootId: "", kernelRelease: "",
  runtime: "/run", state: "/var/lib", cache: "/var/cache", logs: "/var/log", configuration: "/etc",
  user: "root", uid: 0, group: "root", gid: 0, home: "/root",
};

/** A unit's name split as systemd does: "prefix@instance" (the instance may be empty: a template). */
export interface UnitNameParts {
  full: string; // %n: with its systemd suffix (".service")
  name: string; // %N: the name hearth uses
  prefix: string; // %p
  instance: string | null; // %i; null: not an instance (nor a template)
}

/** The parts of a hearth unit name; `suffix` is the systemd type it stands for (".service", ".target" …). */
export function nameParts(name: string, suffix: string): UnitNameParts {
  const at = name.indexOf("@");
  return {
    full: name + suffix, name,
    prefix: at < 0 ? name : name.slice(0, at),
    instance: at < 0 ? null : name.slice(at + 1),
  };
}

/**
 * systemd's unit_name_unescape: "\xNN" is that byte, "-" is "/". Bytes that are not
 * UTF-8 on their own are decoded as a whole (a multi-byte character escaped byte by byte).
 */
export function unescapeName(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "-") bytes.push(0x2f);
    else if (c === "\\" && text[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else for (const b of new TextEncoder().encode(c)) bytes.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** systemd's unit_name_path_unescape: an escaped path ("dev-sda1") as the path it names ("/dev/sda1"). */
export function unescapePath(text: string): string {
  if (text === "" || text === "-") return "/";
  const path = unescapeName(text);
  return path.startsWith("/") ? path : `/${path}`;
}

/** The letters systemd knows for units (systemd.unit(5)); hearth expands these. */
export const SPECIFIERS = "iInNpPjJfHtSCLEhuUgGmbv%";

export type Expanded = { value: string } | { error: string; offset: number };

/**
 * `text` with every %X replaced. An unknown letter, or a "%" that ends the text, is an
 * error at its offset in `text` (systemd refuses the setting).
 */
export function expandSpecifiers(text: string, unit: UnitNameParts, facts: SpecifierFacts): Expanded {
  if (!text.includes("%")) return { value: text };
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "%") {
      out += c;
      continue;
    }
    const letter = text[i + 1];
    const value = letter === undefined ? null : specifier(letter, unit, facts);
    if (value === null) {
      const what = letter === undefined ? "a '%' at the end" : `unknown specifier '%${letter}'`;
      return { error: `${what} (write '%%' for a '%'; known: ${[...SPECIFIERS].map((s) => `%${s}`).join(" ")})`, offset: i };
    }
    out += value;
    i++;
  }
  return { value: out };
}

function specifier(letter: string, u: UnitNameParts, f: SpecifierFacts): string | null {
  const instance = u.instance ?? "";
  // %j: the prefix's last dash-separated part (systemd's specifier_last_component).
  const last = u.prefix.slice(u.prefix.lastIndexOf("-") + 1);
  switch (letter) {
    case "%": return "%";
    case "n": return u.full;
    case "N": return u.name;
    case "p": return u.prefix;
    case "P": return unescapeName(u.prefix);
    case "i": return instance;
    case "I": return unescapeName(instance);
    case "j": return last;
    case "J": return unescapeName(last);
    case "f": return unescapePath(u.instance !== null ? instance : u.prefix);
    case "H": return f.hostname;
    case "m": return f.machineId;
    case "b": return f.bootId;
    case "v": return f.kernelRelease;
    case "t": return f.runtime;
    case "S": return f.state;
    case "C": return f.cache;
    case "L": return f.logs;
    case "E": return f.configuration;
    case "h": return f.home;
    case "u": return f.user;
    case "U": return String(f.uid);
    case "g": return f.group;
    case "G": return String(f.gid);
    default: return null;
  }
}
