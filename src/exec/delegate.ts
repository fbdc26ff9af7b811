// delegate (systemd's Delegate=): the unit's cgroup is handed to the service to manage,
// with the controllers it asks for enabled for it. Pure: which cgroup v2 controllers a
// value names. systemd's names are taken: cpuacct is part of cpu in v2, blkio is io;
// devices and the bpf-* names are BPF programs on the cgroup (nothing to enable: owning
// the cgroup is what lets the service attach its own).

const V2_CONTROLLER: Record<string, string | null> = {
  cpu: "cpu", cpuacct: "cpu", cpuset: "cpuset", io: "io", blkio: "io", memory: "memory", pids: "pids",
  devices: null, "bpf-firewall": null, "bpf-devices": null, "bpf-foreign": null, "bpf-socket-bind": null,
  "bpf-restrict-network-interfaces": null,
};

/** What to delegate: none, every controller the cgroup can have, or these (v2 names). */
export type Delegation = null | "all" | string[];

/** The delegate value read: true, false, or lists of controller names ("pids memory cpu"); a problem when a name is unknown. */
export function delegation(value: boolean | string[] | undefined): Delegation | { problem: string } {
  if (value === undefined || value === false) return null;
  if (value === true) return "all";
  const names = value.flatMap((line) => line.trim().split(/\s+/).filter(Boolean));
  const unknown = names.filter((n) => !(n in V2_CONTROLLER));
  if (unknown.length > 0) return { problem: `unknown controller ${unknown.join(", ")} (one of ${Object.keys(V2_CONTROLLER).join(", ")})` };
  return [...new Set(names.map((n) => V2_CONTROLLER[n]).filter((c): c is string => c !== null))];
}
