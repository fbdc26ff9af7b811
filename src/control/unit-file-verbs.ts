// The control socket's unit-file verbs: cat, enable, disable, mask, unmask (./unit-files.ts).
import type { UnitLayers } from "../config/layers.ts";
import type { Logger } from "../log/manager-log.ts";
import { EXIT, type ControlRequest } from "./protocol.ts";
import { catUnit, disableUnit, enableUnit, maskUnit, unmaskUnit, type FileVerbResult } from "./unit-files.ts";

const VERBS: Record<string, (name: string, layers: UnitLayers) => FileVerbResult> = {
  cat: catUnit, enable: enableUnit, disable: disableUnit, mask: maskUnit, unmask: unmaskUnit,
};

export type FileVerbReply = Record<string, unknown> & { ok: boolean; exit: number; changed: boolean };

/** Performs the verb on each unit; `changed`: a file was written or removed (a daemon-reload follows). */
export function unitFileVerb(req: ControlRequest, layers: UnitLayers | null, log: Logger): FileVerbReply {
  if (layers === null) return { ok: false, exit: EXIT.failed, changed: false, error: `${req.verb}: this manager has no unit layers` };
  const texts: string[] = [];
  const errors: string[] = [];
  let changed = false;
  for (const unit of req.units) {
    let result: FileVerbResult;
    try {
      result = VERBS[req.verb]!(unit, layers);
    } catch (e) {
      result = { ok: false, error: `${req.verb} ${unit}: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (!result.ok) errors.push(result.error);
    else {
      texts.push(result.text);
      changed ||= result.changed;
      if (result.changed) log.notice(`${req.verb} ${unit}: ${result.text}`);
    }
  }
  const error = errors.length > 0 ? { error: errors.join("; ") } : {};
  return { ok: errors.length === 0, exit: errors.length === 0 ? EXIT.ok : req.verb === "cat" ? EXIT.noSuchUnit : EXIT.failed, changed, text: texts.join("\n"), ...error };
}
