// Snapshots of unit state for `hearth ctl status/list` (the JSON the client prints).
import type { Manager } from "../manager/manager.ts";
import type { LogEntry } from "../log/ring.ts";
import type { SocketStatus } from "../sockets/activator.ts";
import type { Timeline } from "./analyze.ts";

export interface ExitInfo {
  time: number; // ms since the epoch
  cause: string;
  description: string;
  coreDumped: boolean;
  lateMs?: number; // timeouts and watchdog: how late after the deadline the timer fired
  logTail: string[]; // the unit's last log lines at that moment
}

export interface UnitStatus {
  name: string;
  description: string;
  file: string;
  /**
   * "error": the unit's file has errors, so it was not loaded (loadErrors says where).
   * "not-found": no unit of that name, but other units name it (namedBy says where).
   */
  load: "loaded" | "error" | "not-found" | "masked";
  loadErrors?: string[]; // FILE:LINE:COL: message
  changedOnDisk?: boolean; // a reload found its configuration changed: the new one applies at its next start
  namedBy?: string[]; // "web (requires)": the units whose lists give a not-found name
  kind: "service" | "target" | "mount" | "template" | "device" | "timer" | "path"; // template: an accept = true unit (one instance per connection)
  type: string | null; // service type
  active: string; // ActiveState
  sub: string;
  result: string;
  job: string | null;
  mainPid: number | null;
  controlPid: number | null;
  since: number; // ms since the epoch
  activatingAt: number | null;
  activeAt: number | null;
  statusText: string;
  errno: number | null;
  restarts: number; // automatic restarts inside the start-limit window
  nRestarts: number; // automatic restarts since the manager started
  crashLoop: boolean;
  exits: ExitInfo[];
  sockets: SocketStatus[]; // the sockets the unit declares or is activated by
  storedFds: string[]; // names of the fds in its fd store (FDSTORE=1)
  accepted?: number; // templates: connections accepted since the manager started
  connected?: number; // templates: instances running now
  instanceOf?: string; // instances: their template
  peer?: string | null; // instances: who is connected
  // The last start skipped by a condition (assert false) or failed by an assert: the entry, when.
  unmet?: { assert: boolean; text: string; time: number };
  logs?: LogEntry[];
  trigger?: import("../timers/events.ts").TriggerSnapshot; // timer and path units: what they start, when
}

// Engine times are performance.now() milliseconds; the client wants wall-clock time.
// One offset for the whole run keeps the order of any two timestamps intact.
const EPOCH_OFFSET = Date.now() - performance.now();
function wall(t: number): number {
  return Math.round(EPOCH_OFFSET + t);
}

export function unitStatus(m: Manager, name: string, logLines = 0): UnitStatus | null {
  const u = m.unit(name);
  if (!u) return null;
  const status: UnitStatus = {
    name,
    description: u.config.unit.description,
    file: u.config.file,
    load: "loaded",
    kind: u.kind,
    type: u.config.service?.type ?? null,
    active: u.active,
    sub: u.sub,
    result: u.result,
    job: u.job ? `${u.job.type}${u.job.running ? "" : " (waiting)"}` : null,
    mainPid: u.mainPid,
    controlPid: u.controlPid,
    since: wall(u.since),
    activatingAt: u.activatingAt === null ? null : wall(u.activatingAt),
    activeAt: u.activeAt === null ? null : wall(u.activeAt),
    statusText: u.statusText,
    errno: u.errno,
    restarts: u.restarts,
    nRestarts: u.nRestarts,
    crashLoop: u.kind === "service" && u.restarts >= 2,
    exits: u.exits.map((e) => ({
      time: wall(e.time), cause: e.cause, description: e.description, coreDumped: e.coreDumped, lateMs: e.lateMs, logTail: e.logTail ?? [],
    })),
    sockets: m.sockets.status(name),
    storedFds: m.fdStore.entries(name).map((f) => f.name),
  };
  if (u.template) {
    status.accepted = u.template.accepted;
    status.connected = u.template.connected;
  }
  if (u.instance) {
    status.instanceOf = u.instance.template;
    status.peer = m.sockets.peerOf(u.instance.connection);
  }
  if (u.trigger) status.trigger = u.trigger;
  if (u.changedOnDisk) status.changedOnDisk = true;
  if (u.unmet) status.unmet = { assert: u.unmet.assert, text: u.unmet.text, time: wall(u.unmet.at) };
  if (logLines > 0) status.logs = m.logs(name, logLines);
  return status;
}

/** A unit whose file has errors (FILE:LINE:COL: message each): known, but not loaded. */
export function notLoadedStatus(name: string, file: string, errors: string[]): UnitStatus {
  return {
    name, description: "", file, load: "error", loadErrors: errors,
    kind: "service", type: null, active: "inactive", sub: "dead", result: "success", job: null,
    mainPid: null, controlPid: null, since: Date.now(), activatingAt: null, activeAt: null, statusText: "", errno: null,
    restarts: 0, nRestarts: 0, crashLoop: false, exits: [], sockets: [], storedFds: [],
  };
}

/** A name that units give in their lists but that matches no unit (systemd's Loaded: not-found). */
export function notFoundStatus(name: string, namedBy: { unit: string; list: string }[]): UnitStatus {
  return {
    ...notLoadedStatus(name, "", []), load: "not-found", loadErrors: undefined,
    namedBy: namedBy.map((r) => `${r.unit} (${r.list})`),
  };
}

/** A unit whose file is a link to /dev/null (hearth ctl mask): not loaded, not startable. */
export function maskedStatus(name: string): UnitStatus {
  return { ...notLoadedStatus(name, "/dev/null", []), load: "masked", loadErrors: undefined };
}

/** The start-up timeline for `hearth ctl analyze`. */
export function timeline(m: Manager): Timeline {
  const units = m.units().map((u) => ({
    name: u.name,
    kind: (u.kind === "service" ? "service" : "target") as "service" | "target",
    active: u.active,
    // The first activation: restarts after the boot do not move a unit in the chart.
    activatingAt: u.firstActivatingAt === null ? null : wall(u.firstActivatingAt),
    activeAt: u.firstActiveAt === null ? null : wall(u.firstActiveAt),
    after: u.after,
    requires: u.requires,
    wants: u.wants,
  }));
  // As PID 1 userspace starts at the kernel's handover, so the chart shows hearth's own start-up too.
  const handover = m.kernelHandover();
  return {
    startedAt: wall(handover?.atMono ?? m.startedAtMono), kernelMs: handover?.kernelMs ?? null, target: m.target,
    finishedAt: m.finishedAtMono === null ? null : wall(m.finishedAtMono), units,
    phases: m.startupPhases(),
  };
}
