// The "Timers and path units" section of docs/configuration.md (src/config/gen-docs.ts).
export const TIMERS_AND_PATHS = `## Timers and path units

A timer or path unit is a unit file of its own with \`[unit]\` and \`[timer]\` (or
\`[path]\`) and nothing else: it runs nothing itself, it starts another unit. hearth has no
unit suffixes, so the pairing is by name: \`units/logrotate.timer.toml\` is the unit
\`logrotate.timer\`, and it starts \`logrotate\` (\`units/logrotate.toml\`) unless it says
\`unit = "…"\`; a timer whose name does not end in \`.timer\` must say \`unit\`. The same
holds for \`NAME.path.toml\`. A systemd \`foo.timer\` or \`foo.path\` is written as
\`foo.timer.toml\` or \`foo.path.toml\` beside \`foo.toml\` (its \`foo.service\`);
\`Unit=bar.service\` becomes \`unit = "bar"\`, and the directives are the snake_case keys
below (\`OnCalendar=\` → \`on_calendar\`, \`RandomizedDelaySec=\` → \`randomized_delay_sec\`,
\`PathExists=\` → \`path_exists\`; a directive given several times becomes a list).
\`WantedBy=timers.target\` becomes \`wanted_by = ["multi-user"]\`: hearth has no timers target.

\`\`\`toml
# units/logrotate.timer.toml
[unit]
description = "rotate the logs daily"
wanted_by = ["multi-user"]

[timer]
on_calendar = "daily"          # or a list: ["Mon..Fri 08:00", "Sat 10:00 Europe/Berlin"]
persistent = true              # missed while off: runs once at the next start
randomized_delay_sec = "15min"
\`\`\`

The timer is active while it waits (\`waiting\`), while its unit runs (\`running\`: the next
elapse is planned once that unit is down again) and, once nothing is left to wait for,
\`elapsed\` (with \`remain_after_elapse\`, the default). \`hearth ctl list-timers\` shows
the active timers as \`systemctl list-timers\` does (NEXT, LEFT, LAST, PASSED, UNIT, ACTIVATES;
\`--all\`: the inactive ones too),
\`hearth ctl status NAME.timer\` its next elapse, what it starts and when it last did.

**Calendar events** (\`on_calendar\`) are systemd's (systemd.time(7)), and hearth computes
the same elapses as \`systemd-analyze calendar\` (its tests compare them): \`[WEEKDAYS]
[YEAR-]MONTH-DAY [HOUR:MINUTE[:SECOND]] [ZONE]\`, each field \`*\`, a value, a list
\`a,b\`, a range \`a..b\` or a repetition \`a/step\` (\`*:0/15\`: every quarter hour);
\`~\` counts days back from the month's end (\`*-02~03\`: the third last day of February;
\`Mon *-05~07/1\`: the last Monday of May); seconds may have a fraction (\`*:*:0/0.5\`);
two-digit years are 1970–2069. Shorthands: \`minutely\`, \`hourly\`, \`daily\`,
\`weekly\`, \`monthly\`, \`yearly\`/\`annually\`, \`quarterly\`, \`semiannually\`;
\`@SECONDS\` is one instant. Without a zone the time is local (\`/etc/localtime\`, or
\`$TZ\`); \`UTC\` or any IANA zone name (\`Europe/Berlin\`) counts in that zone, across its
daylight saving changes as systemd counts them (a time the change skips does not happen
that day; a time it repeats happens once).

**Monotonic values** count from the timer's own start (\`on_active_sec\`), the boot
(\`on_boot_sec\`), the manager's start (\`on_startup_sec\`), and the last start or stop of
the unit it starts (\`on_unit_active_sec\`, \`on_unit_inactive_sec\`: these repeat). The
first three fire once; one already past when the timer starts fires at once.

**Clock changes.** A board without a real-time clock starts in 1970 and jumps when NTP
sets the clock. hearth hears the jump (a \`CLOCK_REALTIME\` timerfd armed with
\`TFD_TIMER_CANCEL_ON_SET\`) and plans every waiting calendar timer again on the new date,
as systemd does. Unlike systemd, the base of a timer that has not triggered yet is its
start *on the monotonic clock*, mapped to the wall clock after the jump: a \`daily\`
timer started at boot waits for the next midnight instead of firing right after the jump
(systemd counts from the 1970 reading and fires every calendar timer once). Persistent
timers keep the time of their last trigger as the modification time of
\`/var/lib/hearth/timers/NAME\` (under \`hearth run\`: \`$XDG_STATE_HOME/hearth/timers\`, else
\`~/.local/state/hearth/timers\`); a stamp later than the clock (the 1970 boot) is not used
until the clock has passed it. An elapse missed while the board was off, or before the
jump, fires once, never before the manager's start, plus the random delay: with
\`randomized_delay_sec\` the timers that are due together after a jump are spread over it
instead of all firing at once.

**Accuracy.** An elapse may be delayed up to \`accuracy_sec\` (default 1 min, as systemd):
the wake-up is moved to the coarsest boundary inside that window (a minute, 10 s, 1 s,
250 ms, plus a per-machine offset), so timers of a board wake it together. Set it to
\`"1s"\` or less for a timer that must be punctual. \`wake_system\` is not supported.

**Path units** watch with inotify and start their unit when a \`path_exists\` or
\`path_exists_glob\` path exists, a \`directory_not_empty\` directory has an entry (checked
at start, too), or a \`path_changed\` file is written and closed, created, removed, moved
or has its attributes changed (\`path_modified\`: also at every write). A path whose
directories do not exist yet is watched through its nearest existing parent, and the watch
moves down as they appear. While the started unit runs, the path unit is \`running\` and
watches nothing; once it is down, the path unit checks and watches again: a service started
by \`path_exists\` should remove the file, or it is started again at once, at most
\`trigger_limit_burst\` times per \`trigger_limit_interval_sec\` (then the path unit fails).
\`make_directory\` creates the watched directories (not those of \`path_exists*\`) with
\`directory_mode\`.

Not built yet: a timer or path unit is not re-read by a reload (there is no
\`daemon-reload\` yet).
`;
