// The seccomp directives of a unit and whether it needs a filter at all: what the manager
// and the spawner ask of every spawn. The filters themselves (./seccomp.ts, with the
// system call tables) are loaded only for a unit that has one.

/** The seccomp directives of a unit, as read from its file. */
export interface SeccompOptions {
  /** Lines of names and @groups; the first decides: "~" a deny list, else an allow list. */
  systemCallFilter?: string[];
  /** "kill", an errno name ("EPERM") or number; unset: kill. */
  systemCallErrorNumber?: string | number | null;
  systemCallArchitectures?: string[];
  systemCallLog?: string[];
  /** Lines of AF_* names; "~" first: all but those; "none": no socket() at all. */
  restrictAddressFamilies?: string[];
  /** true: no new namespaces; a list: only those ("~": all but those). */
  restrictNamespaces?: boolean | string[];
  restrictRealtime?: boolean;
  restrictSuidSgid?: boolean;
  lockPersonality?: boolean;
  memoryDenyWriteExecute?: boolean;
  protectClock?: boolean;
  protectHostname?: boolean;
  /** As systemd, these mount directives refuse system calls too: @raw-io, @module, syslog. */
  privateDevices?: boolean;
  protectKernelModules?: boolean;
  protectKernelLogs?: boolean;
}

/** Whether any directive asks for a seccomp filter. */
export function wantsSeccomp(opts: SeccompOptions): boolean {
  return Boolean(opts.systemCallFilter?.length || opts.systemCallArchitectures?.length || opts.systemCallLog?.length
    || opts.restrictAddressFamilies?.length || (opts.restrictNamespaces !== undefined && opts.restrictNamespaces !== false)
    || opts.restrictRealtime || opts.restrictSuidSgid || opts.lockPersonality || opts.memoryDenyWriteExecute
    || opts.protectClock || opts.protectHostname || opts.privateDevices || opts.protectKernelModules || opts.protectKernelLogs);
}
