// A systemd .socket file as [[socket]] tables of its service's unit: one per Listen*= line,
// each with the file's other [Socket] settings; its [Unit] and [Install] say things only
// about the socket unit, which hearth does not have.

import { keysOf } from "../config/schema.ts";
import { LISTEN_KEYS as LISTEN_KINDS, parseListen, socketFilePath, type ListenKind } from "../config/socket-address.ts";
import { Conversion, convertAssignments, type Note } from "./convert.ts";
import { LISTEN_KEYS, SOCKET_UNIT_IGNORED } from "./directives.ts";
import type { Assignment } from "./unit-file.ts";
import { expandFixedSpecifiers } from "./words.ts";
import { valueProblem } from "./validate.ts";
import type { Source } from "./importer.ts";

/** A listen line that makes a file: a unix socket at a path, or a FIFO. */
function isFileListen(key: string, value: string): boolean {
  const kind = (LISTEN_KINDS as Record<string, ListenKind | undefined>)[key];
  const spec = kind === undefined ? null : parseListen(kind, value);
  return spec !== null && typeof spec !== "string" && socketFilePath(spec) !== null;
}

/** One [[socket]] per Listen*= line, each with the file's other [Socket] settings. */
export function convertSocket(socket: Source, service: Source, notes: Note[]): { table: Record<string, unknown>; origins: Map<string, Assignment[]> }[] {
  const conv = new Conversion(socket.path, notes);
  const listens: { key: string; value: string; from: Assignment }[] = [];
  const others: Assignment[] = [];
  for (const a of socket.assignments) {
    if (a.section !== "Socket") {
      const same = service.assignments.some((s) => s.section === a.section && s.key === a.key && s.value === a.value);
      const why = same ? "the service says the same" : SOCKET_UNIT_IGNORED[`${a.section}.${a.key}`];
      if (why !== undefined || a.key.startsWith("X-") || a.section.startsWith("X-")) conv.note("ignored", a, why ?? "an extension key (X-), ignored by systemd too");
      else conv.drop(a, `a socket's [${a.section}] ${a.key}: hearth makes every [[socket]] when the manager starts, with no dependencies or conditions of its own`, `socket ${a.section}.${a.key}`);
    } else if (a.key in LISTEN_KEYS) {
      if (a.value === "") {
        listens.length = 0; // an empty Listen*= clears every listen line before it
        continue;
      }
      const spec = keysOf("socket").get(LISTEN_KEYS[a.key]!);
      if (!spec) {
        conv.drop(a, `hearth has no ${LISTEN_KEYS[a.key]}`);
        continue;
      }
      const value = expandFixedSpecifiers(a.value);
      const problem = valueProblem(spec.type, value);
      if (problem === null) listens.push({ key: spec.name, value, from: a });
      else conv.drop(a, problem, `${a.key} (address)`);
    } else if (a.key !== "Service") {
      others.push(a); // Service= is where the socket went
    }
  }
  convertAssignments(others, conv);
  const shared = conv.out.socket;
  // systemd names the fds after the socket unit, suffix included (LISTEN_FDNAMES=foo.socket).
  // A template's instance foo@bar.socket names them foo@bar.socket: %i is expanded by hearth.
  const fdName = socket.stem.endsWith("@") ? `${socket.stem}%i.${socket.suffix}` : socket.fileName;
  if (shared.fd_name === undefined && keysOf("socket").has("fd_name") && valueProblem(keysOf("socket").get("fd_name")!.type, fdName) === null) {
    shared.fd_name = fdName;
  }
  if (listens.length === 0) conv.notes.push({ kind: "dropped", file: socket.path, line: 0, key: "", value: "", why: "no Listen*= line converted: the socket listens on nothing", source: socket.path, group: "(no listen)" });
  // Symlinks= name the socket's one node in the file system: its table alone has them.
  const { symlinks, ...forAll } = shared;
  const onFile = symlinks === undefined ? [] : listens.filter((l) => isFileListen(l.key, l.value));
  if (symlinks !== undefined && onFile.length !== 1) {
    for (const a of conv.origins.get("socket.symlinks") ?? []) {
      conv.drop(a, `systemd refuses a socket with Symlinks= and ${onFile.length === 0 ? "no" : "more than one"} socket file or FIFO`);
    }
  }
  // Each table's keys by where they came from: its own listen line and the shared ones.
  const sharedOrigins = new Map<string, Assignment[]>();
  for (const [key, from] of conv.origins) sharedOrigins.set(key.replace(/^socket\./, ""), from);
  return listens.map((listen) => ({
    table: { [listen.key]: listen.value, ...forAll, ...(onFile.length === 1 && onFile[0] === listen ? { symlinks } : {}) },
    origins: new Map([[listen.key, [listen.from]], ...sharedOrigins]),
  }));
}

