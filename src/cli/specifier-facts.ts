// What %H, %m, %b, %v, %t … of unit files stand for on this machine (src/config/specifiers.ts
// is pure: the facts are read here, once, before the configuration is loaded).
import { readFileSync } from "node:fs";
import { homedir, hostname, release, userInfo } from "node:os";
import type { SpecifierFacts } from "../config/specifiers.ts";
import { directoryBases } from "../manager/unit-directories.ts";

/** The facts for the system manager (PID 1), or for `hearth run` as systemd --user has them. */
export function gatherSpecifierFacts(systemMode: boolean, runDir: string): SpecifierFacts {
  const bases = directoryBases(systemMode, runDir, process.env, homedir());
  const machine = {
    hostname: hostname(), machineId: firstLine("/etc/machine-id"),
    bootId: firstLine("/proc/sys/kernel/random/boot_id").replaceAll("-", ""), kernelRelease: release(),
    runtime: bases.runtime, state: bases.state, cache: bases.cache, logs: bases.logs, configuration: bases.configuration,
  };
  if (systemMode) return { ...machine, hostnameFromSystemToml: true, user: "root", uid: 0, group: "root", gid: 0, home: "/root" };
  const me = userInfo();
  return { ...machine, user: me.username, uid: me.uid, group: groupName(me.gid), gid: me.gid, home: me.homedir };
}

function firstLine(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n")[0]!.trim();
  } catch {
    return "";
  }
}

/** The group's name from /etc/group; its number when it has none there. */
function groupName(gid: number): string {
  try {
    for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id === String(gid)) return name;
    }
  } catch {
    // no /etc/group: the number stands for it
  }
  return String(gid);
}
