// User and group names to ids, from /etc/passwd and /etc/group (passwd(5), group(5)).
// No NSS: an embedded board has files only. The parsers are pure; readUserDatabase
// reads the files.

import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface UserDatabase {
  users: PasswdEntry[];
  groups: GroupEntry[];
}

/** Lines of a colon-separated file, without comments, blank lines and NIS "+"/"-" entries. */
function records(text: string): string[][] {
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "" && !line.startsWith("#") && !/^[+-]/.test(line))
    .map((line) => line.split(":"));
}

function parseId(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  const id = Number(text);
  return id <= 0xffff_fffe ? id : null; // (uid_t)-1 is "no id"
}

/** name:password:uid:gid:gecos:home:shell; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const fields of records(text)) {
    const [name, , uidText, gidText, gecos = "", home = "", shell = ""] = fields;
    const uid = parseId(uidText);
    const gid = parseId(gidText);
    if (!name || uid === null || gid === null) continue;
    entries.push({ name, uid, gid, gecos, home, shell });
  }
  return entries;
}

/** name:password:gid:member,member; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const fields of records(text)) {
    const [name, , gidText, memberText = ""] = fields;
    const gid = parseId(gidText);
    if (!name || gid === null) continue;
    entries.push({ name, gid, members: memberText.split(",").filter((m) => m !== "") });
  }
  return entries;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Reads ETC/passwd and ETC/group; a missing file counts as empty. */
export function readUserDatabase(etc: string = "/etc"): UserDatabase {
  return {
    users: parsePasswd(readOptional(join(etc, "passwd"))),
    groups: parseGroup(readOptional(join(etc, "group"))),
  };
}

/** A user by name or by numeric id ("65534"); the first matching line wins. */
export function findUser(db: UserDatabase, spec: string): PasswdEntry | null {
  const id = parseId(spec);
  return db.users.find((u) => (id !== null ? u.uid === id : u.name === spec)) ?? null;
}

/** A group id by name or number; a number need not be listed in the file. */
export function findGroupId(db: UserDatabase, spec: string): number | null {
  const id = parseId(spec);
  if (id !== null) return id;
  return db.groups.find((g) => g.name === spec)?.gid ?? null;
}

/** The gids of the groups that list `user` as a member (group(5) member lists). */
export function memberships(db: UserDatabase, user: string): number[] {
  return db.groups.filter((g) => g.members.includes(user)).map((g) => g.gid);
}

export interface Credentials {
  uid?: number;
  gid?: number;
  groups?: number[];
}

export interface CredentialSpec {
  user?: string | null;
  group?: string | null;
  supplementaryGroups?: string[];
}

/**
 * The ids a service runs with, as systemd derives them: User= gives the uid and the
 * primary gid; Group= replaces the gid; the supplementary groups are what initgroups(3)
 * gives the user with that gid (the gid and every group listing the user), plus
 * SupplementaryGroups=. A numeric user missing from passwd gets gid = uid.
 */
export function resolveCredentials(db: UserDatabase, spec: CredentialSpec): Credentials | { error: string } {
  let uid: number | undefined;
  let gid: number | undefined;
  let userName: string | undefined;
  if (spec.user) {
    const user = findUser(db, spec.user);
    const numeric = parseId(spec.user);
    if (!user && numeric === null) return { error: `unknown user "${spec.user}"` };
    uid = user?.uid ?? numeric!;
    gid = user?.gid ?? numeric!;
    userName = user?.name;
  }
  if (spec.group) {
    const groupId = findGroupId(db, spec.group);
    if (groupId === null) return { error: `unknown group "${spec.group}"` };
    gid = groupId;
  }
  const groups: number[] = [];
  if (gid !== undefined && uid !== undefined) groups.push(gid);
  if (userName !== undefined) groups.push(...memberships(db, userName));
  for (const name of spec.supplementaryGroups ?? []) {
    const groupId = findGroupId(db, name);
    if (groupId === null) return { error: `unknown group "${name}"` };
    groups.push(groupId);
  }
  const result: Credentials = {};
  if (uid !== undefined) result.uid = uid;
  if (gid !== undefined) result.gid = gid;
  if (uid !== undefined || groups.length > 0) result.groups = [...new Set(groups)];
  return result;
}
