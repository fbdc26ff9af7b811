// private_tmp as systemd's PrivateTmp=: one /tmp and one /var/tmp per unit, shared by all
// its processes (exec_start_pre's files are seen by exec_start), bound over /tmp and
// /var/tmp in each process's mount namespace (src/exec/mount-plan.ts), and removed when
// the unit stops. On the host they are /tmp/hearth-private-UNIT-XXXXXX/tmp (and the same
// under /var/tmp, where there is one; beside the /tmp one where /var/tmp is read-only):
// the outer directory is mode 0700, so no one else reaches in; the inner one is a /tmp,
// mode 1777.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export interface PrivateTmp {
  tmp: string;
  varTmp: string | null;
  /** The outer directories, removed at the end. */
  roots: string[];
}

function makeOne(base: string, unit: string): { root: string; tmp: string } {
  const root = mkdtempSync(join(base, `hearth-private-${unit.replace(/[^A-Za-z0-9_.@-]/g, "_")}-`));
  const tmp = join(root, "tmp");
  mkdirSync(tmp);
  chmodSync(tmp, 0o1777); // past the umask
  return { root, tmp };
}

/** The unit's two directories; throws why not (the spawn fails with it). */
export function makePrivateTmp(unit: string): PrivateTmp {
  const tmp = makeOne("/tmp", unit);
  let hasVarTmp = false;
  try {
    hasVarTmp = statSync("/var/tmp").isDirectory();
  } catch {}
  if (!hasVarTmp) return { tmp: tmp.tmp, varTmp: null, roots: [tmp.root] };
  try {
    const varTmp = makeOne("/var/tmp", unit);
    return { tmp: tmp.tmp, varTmp: varTmp.tmp, roots: [tmp.root, varTmp.root] };
  } catch {
    // A read-only /var (a board's root file system): the unit's /var/tmp lives beside its /tmp.
    const varTmp = join(tmp.root, "var-tmp");
    mkdirSync(varTmp);
    chmodSync(varTmp, 0o1777);
    return { tmp: tmp.tmp, varTmp, roots: [tmp.root] };
  }
}

/** Removes them with what the processes left (rmSync never follows a symlink out). */
export function removePrivateTmp(dirs: PrivateTmp): void {
  for (const root of dirs.roots) rmSync(root, { recursive: true, force: true });
}
