// What import knows about systemd's directives beyond the schema: where a name differs
// from the snake_case of the systemd name, which section's keys live in another hearth
// table, which directives change nothing under hearth (ignored, said so), and which keep a
// value hearth has no key for because that value is what hearth does anyway. Everything
// else is found in src/config/schema.ts at run time: a key added there is imported with no
// change here.

import type { TableName } from "../config/schema.ts";
import { parseBoolean } from "./words.ts";

/** systemd section -> the hearth table its keys go to (socket keys go to each [[socket]]). */
export const SECTION_TABLES: Record<string, TableName> = {
  Unit: "unit", Install: "unit", Service: "service", Socket: "socket",
};

/** `ConditionCPUs` -> `condition_cpus`: systemd's name in snake_case, acronyms kept whole. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** Names whose snake_case is not hearth's key, by "Section.Key". */
export const RENAMED: Record<string, string> = {
  "Service.OOMScoreAdjust": "oom_score_adj",
  "Service.UMask": "umask",
  "Service.FileDescriptorStoreMax": "fd_store_max",
  "Service.MemoryLimit": "memory_max", // cgroup v1's name of the same limit
  "Service.TTYVHangup": "tty_vhangup",
  "Service.TTYVTDisallocate": "tty_vt_disallocate",
  "Service.RestrictSUIDSGID": "restrict_suid_sgid",
  "Service.StartLimitInterval": "start_limit_interval_sec", // the name before systemd 230
  "Unit.StartLimitInterval": "start_limit_interval_sec",
  "Unit.ConditionCPUs": "condition_cpus",
  "Unit.AssertCPUs": "assert_cpus",
  "Socket.BindIPv6Only": "bind_ipv6_only",
  "Socket.FileDescriptorName": "fd_name",
  "Install.Alias": "aliases",
  // systemd's names before v231, still read as the same settings
  "Service.ReadWriteDirectories": "read_write_paths",
  "Service.ReadOnlyDirectories": "read_only_paths",
  "Service.InaccessibleDirectories": "inaccessible_paths",
};

/** Keys of one systemd section that hearth keeps in another table. */
export const MOVED: Record<string, TableName> = {
  // systemd moved these from [Service] to [Unit] (v230); hearth keeps them with the service.
  "Unit.StartLimitIntervalSec": "service",
  "Unit.StartLimitInterval": "service",
  "Unit.StartLimitBurst": "service",
  "Unit.StartLimitAction": "service",
};

/**
 * Directives with no behaviour under hearth, by "Section.Key" ("*" for any section).
 * They are reported as ignored (with -v), never counted as a loss.
 */
export const IGNORED: Record<string, string> = {
  "Unit.Documentation": "documentation links only",
  "Unit.SourcePath": "where a generator read the unit from",
  "Install.Also": "hearth has no enabling: every imported unit with wanted_by is live; import the other units too",
};

/**
 * Directives hearth has no key for whose value here is what hearth does anyway, by
 * "Section.Key" -> the value(s) (as systemd's parse_boolean reads them for yes/no).
 */
export const HEARTH_DOES_THIS: Record<string, { values: string[]; why: string }> = {
  "Service.SendSIGKILL": { values: ["yes"], why: "hearth always sends SIGKILL to what is left after timeout_stop_sec" },
  "Service.GuessMainPID": { values: ["yes"], why: "hearth guesses the main pid of a forking service without pid_file, as systemd does" },
  "Unit.StopWhenUnneeded": { values: ["no"], why: "systemd's default" },
  "Service.DynamicUser": { values: ["no"], why: "systemd's default" },
};

/**
 * A socket's [Unit] and [Install] merged into its service's file: the ones that say
 * something only about the socket unit, which hearth does not have (every [[socket]] is
 * made when the manager starts, before any unit). Others are dropped.
 */
export const SOCKET_UNIT_IGNORED: Record<string, string> = {
  "Unit.Description": "the socket's description; the unit keeps its service's",
  "Unit.Documentation": "documentation links only",
  "Unit.Before": "orders the socket unit, which hearth makes before any unit starts",
  "Unit.After": "orders the socket unit, which hearth makes before any unit starts",
  "Unit.PartOf": "the socket is part of its service's unit in hearth",
  "Unit.DefaultDependencies": "the socket unit's own dependencies; hearth's sockets have none",
  "Install.WantedBy": "hearth makes every [[socket]] when the manager starts: no target pulls it in",
  "Install.RequiredBy": "hearth makes every [[socket]] when the manager starts: no target pulls it in",
  "Install.Also": "hearth has no enabling",
};

/** The listen directives of [Socket] and hearth's key for each (when the schema has it). */
export const LISTEN_KEYS: Record<string, string> = {
  ListenStream: "listen_stream",
  ListenDatagram: "listen_datagram",
  ListenSequentialPacket: "listen_sequential_packet",
  ListenFIFO: "listen_fifo",
  ListenNetlink: "listen_netlink",
  ListenSpecial: "listen_special",
  ListenMessageQueue: "listen_message_queue",
  ListenUSBFunction: "listen_usb_function",
};

/**
 * List directives whose every assignment is one item, not words split at spaces (a path
 * may hold spaces; "DeviceAllow=/dev/null rw" is one rule; a "~" applies to its whole
 * SystemCallFilter= or RestrictAddressFamilies= line, and hearth's lists are those lines).
 */
export const ONE_ITEM_PER_ASSIGNMENT = new Set([
  "EnvironmentFile", "DeviceAllow", "LogExtraFields", "ExecPaths", "NoExecPaths", "SystemCallFilter", "RestrictAddressFamilies",
]);

/** systemd unit types whose names hearth writes without the suffix. */
export const SUFFIX_DROPPED = new Set(["service", "target"]);

/** Targets named differently in hearth. */
export const TARGET_NAMES: Record<string, string> = {
  "default.target": "multi-user", // systemd's alias of the boot target; hearth's default is multi-user
};

/** systemd's parse_sec_fix_0: a timeout of 0 means no timeout (hearth's engine agrees; say it plainly). */
const zeroIsInfinity = (v: string) => (/^0+(\.0*)?\s*(us|usec|ms|msec|s|sec|m|min)?$/.test(v) ? "infinity" : v);

/** Values systemd accepts in other words than hearth's, by "Section.Key". */
export const VALUE_SYNONYMS: Record<string, (value: string) => string> = {
  "Service.TimeoutSec": zeroIsInfinity,
  "Service.TimeoutStartSec": zeroIsInfinity,
  "Service.TimeoutStopSec": zeroIsInfinity,
  // ioprio classes by number, as systemd reads them.
  "Service.IOSchedulingClass": (v) => ({ "0": "none", "1": "realtime", "2": "best-effort", "3": "idle" })[v] ?? v,
  // socket_address_bind_ipv6_only_or_bool_from_string: a boolean means ipv6-only or both.
  "Socket.BindIPv6Only": (v) => {
    const b = parseBoolean(v);
    return b === undefined ? v : b ? "ipv6-only" : "both";
  },
  // socket_timestamping_from_string_harder: parse_time()'s names of the units, and a boolean (yes: ns).
  "Socket.Timestamping": (v) => {
    const unit = ({ usec: "us", "µs": "us", "μs": "us", nsec: "ns" } as Record<string, string>)[v];
    if (unit !== undefined || v === "us" || v === "ns" || v === "off") return unit ?? v;
    const b = parseBoolean(v);
    return b === undefined ? v : b ? "ns" : "off";
  },
};

/** The exit status names systemd reads in SuccessExitStatus= and friends (LSB and BSD sysexits.h). */
export const EXIT_STATUS_NAMES: Record<string, number> = {
  SUCCESS: 0, FAILURE: 1, INVALIDARGUMENT: 2, NOTIMPLEMENTED: 3, NOPERMISSION: 4, NOTINSTALLED: 5,
  NOTCONFIGURED: 6, NOTRUNNING: 7,
  USAGE: 64, DATAERR: 65, NOINPUT: 66, NOUSER: 67, NOHOST: 68, UNAVAILABLE: 69, SOFTWARE: 70, OSERR: 71,
  OSFILE: 72, CANTCREAT: 73, IOERR: 74, TEMPFAIL: 75, PROTOCOL: 76, NOPERM: 77, CONFIG: 78,
};
