// Builders of validated unit configurations for engine tests (no TOML involved).
import type { UnitCatalog, ServiceSection, UnitConfig, UnitSection } from "../../src/config/types.ts";

export function unitSection(over: Partial<UnitSection> = {}): UnitSection {
  return {
    description: "", requires: [], wants: [], binds_to: [], conflicts: [], after: [], before: [],
    wanted_by: [], required_by: [], requires_mounts_for: [], ...over,
  };
}

export function serviceSection(over: Partial<ServiceSection> = {}): ServiceSection {
  return {
    type: "simple", exec_start: { argv: ["/bin/true"], ignoreFailure: false },
    exec_start_pre: [], exec_start_post: [], exec_stop: [], exec_reload: [],
    remain_after_exit: false, pid_file: null, notification_fd: null,
    restart: "no", restart_sec: 0.1, restart_steps: 0, restart_max_delay_sec: 0,
    timeout_start_sec: 90, timeout_stop_sec: 90, timeout_abort_sec: 90, watchdog_sec: 0,
    start_limit_interval_sec: 10, start_limit_burst: 5, start_limit_action: "none",
    success_exit_status: [], restart_prevent_exit_status: [], restart_force_exit_status: [],
    notify_access: "main", kill_signal: 15, kill_mode: "control-group", send_sighup: false,
    user: null, group: null, supplementary_groups: [], working_directory: null, umask: 0o022,
    environment: {}, environment_file: [], limits: {}, nice: null, oom_score_adj: null,
    no_new_privileges: false, log_buffer_lines: 1000, log_file: null, log_file_max_bytes: 1 << 20,
    ...over,
  };
}

export function service(name: string, svc: Partial<ServiceSection> = {}, unit: Partial<UnitSection> = {}): UnitConfig {
  return { name, file: `${name}.toml`, unit: unitSection(unit), service: serviceSection(svc), sockets: [] };
}

export function target(name: string, unit: Partial<UnitSection> = {}): UnitConfig {
  return { name, file: "", unit: unitSection(unit), service: null, sockets: [] };
}

export function configs(...units: UnitConfig[]): Map<string, UnitConfig> {
  return new Map(units.map((u) => [u.name, u]));
}

/**
 * The templates of accept = true units as the loader makes them (src/config/load.ts): the
 * instances of a socket's template NAME@ are the socket unit's configuration under their
 * own name, pulled in by nothing and without sockets.
 */
export function acceptTemplates(units: Iterable<UnitConfig>): UnitCatalog {
  const list = [...units];
  return {
    aliasOf: () => null,
    instantiate: (name) => {
      const unit = list.find((u) => u.sockets.some((s) => s.accept && s.service?.endsWith("@") && name.startsWith(s.service)));
      return unit ? { ...unit, name, sockets: [], unit: { ...unit.unit, wanted_by: [], required_by: [] } } : null;
    },
  };
}
