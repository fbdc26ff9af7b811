// The [timer] and [path] tables of a unit file, as the loader hands them on (keys in
// src/config/schema.ts; what they mean in docs/configuration.md, "Timers and path units").

export interface TimerSection {
  on_calendar: string[]; // calendar events, valid (src/timers/calendar.ts)
  on_active_sec: number[]; // seconds
  on_boot_sec: number[];
  on_startup_sec: number[];
  on_unit_active_sec: number[];
  on_unit_inactive_sec: number[];
  accuracy_sec: number;
  randomized_delay_sec: number;
  fixed_random_delay: boolean;
  persistent: boolean;
  remain_after_elapse: boolean;
  wake_system: boolean;
  unit: string; // the unit it starts
}

export interface PathSection {
  path_exists: string[];
  path_exists_glob: string[];
  path_changed: string[];
  path_modified: string[];
  directory_not_empty: string[];
  make_directory: boolean;
  directory_mode: number;
  trigger_limit_interval_sec: number;
  trigger_limit_burst: number;
  unit: string;
}

/** The kinds of path watch, in the order systemd lists them. */
export const PATH_KINDS = ["path_exists", "path_exists_glob", "path_changed", "path_modified", "directory_not_empty"] as const;
export type PathKind = (typeof PATH_KINDS)[number];
