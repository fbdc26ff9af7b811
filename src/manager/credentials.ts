// load_credential / set_credential (systemd's LoadCredential= / SetCredential=): files the
// unit's processes read from $CREDENTIALS_DIRECTORY, RUNTIME/credentials/UNIT (mode 0500,
// each file 0400, owned by the unit's user). Written before each process of the unit, as
// systemd sets them up in each child; removed when the unit is down (remove-credentials).
// Unlike systemd the directory is not a mount of its own: it lives on /run's tmpfs.
//
// "ID:PATH" reads an absolute PATH (missing: the start fails), or a relative one from the
// credential stores; "ID" alone is the credential ID of those stores — the manager's own
// $CREDENTIALS_DIRECTORY, /etc/credstore, /run/credstore, /usr/lib/credstore — and is
// skipped when none has it, as in systemd. set_credential's value is used when no
// load_credential of the same ID found a file.

import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceSection } from "../config/types.ts";

/** A credential is read whole into memory: bound it (systemd: CREDENTIAL_SIZE_MAX, 1 MiB). */
const MAX_CREDENTIAL_BYTES = 1024 * 1024;

export function credentialStores(env: Record<string, string | undefined>): string[] {
  const own = env.CREDENTIALS_DIRECTORY?.startsWith("/") ? [env.CREDENTIALS_DIRECTORY] : [];
  return [...own, "/etc/credstore", "/run/credstore", "/usr/lib/credstore"];
}

export function hasCredentials(cfg: ServiceSection): boolean {
  return (cfg.load_credential ?? []).length > 0 || (cfg.set_credential ?? []).length > 0;
}

export function credentialsDirectory(runtimeBase: string, unit: string): string {
  return join(runtimeBase, "credentials", unit);
}

/** An ID as systemd accepts it: a file name. */
function idProblem(id: string): string | null {
  if (id === "" || id === "." || id === ".." || id.includes("/") || id.length > 255) return `credential name ${JSON.stringify(id)} is not a file name`;
  return null;
}

function readBounded(path: string): Buffer | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  if (st.size > MAX_CREDENTIAL_BYTES) throw new Error(`${path} is larger than ${MAX_CREDENTIAL_BYTES} bytes`);
  return readFileSync(path);
}

/** The credentials as ID -> content, by systemd's rules; or why the start fails. */
export function gatherCredentials(cfg: ServiceSection, stores: string[]): Map<string, Buffer> | { error: string } {
  const out = new Map<string, Buffer>();
  try {
    for (const spec of cfg.load_credential ?? []) {
      const colon = spec.indexOf(":");
      const id = colon < 0 ? spec : spec.slice(0, colon);
      const source = colon < 0 ? id : spec.slice(colon + 1);
      const problem = idProblem(id);
      if (problem) return { error: `load_credential: ${problem}` };
      if (source.startsWith("/")) {
        const data = readBounded(source);
        if (data === null) return { error: `load_credential ${id}: ${source}: No such file or directory` };
        out.set(id, data);
        continue;
      }
      for (const store of stores) {
        const data = readBounded(join(store, source));
        if (data !== null) {
          out.set(id, data);
          break;
        }
      }
    }
    for (const spec of cfg.set_credential ?? []) {
      const colon = spec.indexOf(":");
      const id = colon < 0 ? spec : spec.slice(0, colon);
      const problem = idProblem(id);
      if (problem) return { error: `set_credential: ${problem}` };
      if (!out.has(id)) out.set(id, Buffer.from(colon < 0 ? "" : spec.slice(colon + 1)));
    }
  } catch (e) {
    return { error: `credentials: ${(e as Error).message}` };
  }
  return out;
}

/** Writes the directory afresh (a file at a time, renamed into place); its path, or why not. */
export function writeCredentials(dir: string, creds: Map<string, Buffer>, owner: { uid: number; gid: number } | null): { dir: string } | { error: string } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!lstatSync(dir).isDirectory()) return { error: `credentials: ${dir} is not a directory` };
    chmodSync(dir, 0o700); // writable by the manager while it fills it
    for (const [id, data] of creds) {
      const tmp = join(dir, `.${id}.new`);
      rmSync(tmp, { force: true });
      writeFileSync(tmp, data, { mode: 0o400, flag: "wx" });
      if (owner) chownSync(tmp, owner.uid, owner.gid);
      renameSync(tmp, join(dir, id));
    }
    if (owner) chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o500);
    return { dir };
  } catch (e) {
    return { error: `credentials: ${(e as Error).message}` };
  }
}

/** The directory and its files gone (made writable first: 0500 keeps even its owner out); else why not. */
export function removeCredentials(dir: string): string | null {
  try {
    chmodSync(dir, 0o700);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    return null;
  } catch (e) {
    return `credentials: ${(e as Error).message}`;
  }
}
