// The syslog socket and /dev/kmsg opened for the manager and fed into its logs
// (./system-logs.ts decides where each line goes). Either one failing to open is said
// once and leaves the manager running without it: logging is never a reason to stop.
import { join } from "node:path";
import type { Logger } from "../log/manager-log.ts";
import type { ManagerHost } from "./host.ts";
import { SystemLogs, type KmsgPort, type SyslogPort } from "./system-logs.ts";
import type { UnitOutputs } from "./unit-output.ts";

export interface SystemLogsWiring {
  host: ManagerHost;
  log: Logger;
  outputs: UnitOutputs;
  systemMode: boolean;
  runDir: string;
  readKmsg: boolean;
  unitLogger: (unit: string) => Logger;
  unitOf: (pid: number) => string | null;
}

export interface SystemLogsHandle {
  /** Takes in what waits on the syslog socket (before exits are reaped). */
  drain(): void;
  close(): void;
}

/**
 * The socket is /dev/log in system mode. Under `hearth run` it is RUNDIR/log: glibc's
 * syslog(3) knows no other path than /dev/log (_PATH_LOG, no environment variable), so
 * there only clients told the path reach it (`logger --socket RUNDIR/log`, or a process
 * given a mount namespace where RUNDIR/log is bound over /dev/log).
 */
export function syslogPath(systemMode: boolean, runDir: string): string {
  return systemMode ? "/dev/log" : join(runDir, "log");
}

export function startSystemLogs(w: SystemLogsWiring): SystemLogsHandle {
  const logs = new SystemLogs({
    now: () => w.host.now(),
    wallNow: () => w.host.wallNow(),
    unitOf: w.unitOf,
    record: (rec, source) => w.outputs.add(rec, source),
    suppressed: (unit, text) => (unit === null ? w.log.warning(`syslog: ${text}`) : w.unitLogger(unit).warning(text)),
    setTimer: (ms, fn) => w.host.setTimer(ms, fn),
    clearTimer: (handle) => w.host.clearTimer(handle),
  });
  const path = syslogPath(w.systemMode, w.runDir);
  let syslog: SyslogPort | null = null;
  try {
    syslog = w.host.syslogServer(path, (batch) => logs.take(batch));
  } catch (e) {
    w.log.warning(`syslog socket ${path} not made (syslog(3) messages are not kept): ${(e as Error).message}`);
  }
  let kmsg: KmsgPort | null = null;
  if (w.readKmsg) {
    try {
      kmsg = w.host.kmsgReader((r, bootWallMs) => logs.takeKernel(r, bootWallMs), (why) => {
        w.log.warning(`reading /dev/kmsg stopped: ${why}`);
      });
    } catch (e) {
      w.log.warning(`/dev/kmsg not read (the kernel's messages are not kept): ${(e as Error).message}`);
    }
  }
  return {
    drain: () => syslog?.drain(),
    close: () => {
      syslog?.close();
      kmsg?.close();
      logs.close();
    },
  };
}
