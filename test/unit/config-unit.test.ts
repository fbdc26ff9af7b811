// One unit file: every kind of diagnostic, at its exact line and column, and the defaults.
import { describe, expect, test } from "bun:test";
import { defaultSystemConfig, formatDiagnostic, parseSystemToml, parseUnitToml } from "../../src/config/load.ts";
import { fakeEnv } from "../fixtures/config/fake-env.ts";
import type { SystemConfig } from "../../src/config/types.ts";

const SYSTEM = defaultSystemConfig();
const FILE = "units/echo.toml";

function parse(text: string, system: SystemConfig = SYSTEM) {
  return parseUnitToml("echo", text, FILE, system, fakeEnv);
}

/** The diagnostics of a unit file, formatted. */
function problems(...lines: string[]): string[] {
  return parse(lines.join("\n")).diagnostics.map(formatDiagnostic);
}

const SERVICE = ["[service]", 'exec_start = "/usr/bin/echod"'];

describe("diagnostics of a unit file", () => {
  test("TOML syntax error, placed by smol-toml", () => {
    const result = parse('[service]\nexec_start = "/bin/true"\nrestart = "always\n');
    expect(result.unit).toBeNull();
    expect(result.diagnostics).toEqual([{
      file: FILE, line: 3, col: 18, severity: "error", unit: "echo",
      message: 'TOML syntax error: unterminated string: a quoted string ends on the line it starts (use """ for several lines)',
    }]);
  });

  test("unknown key, with a suggestion", () => {
    expect(problems(...SERVICE, 'exec_strat = "x"')).toEqual([
      `${FILE}:3:1: error: exec_strat: unknown key in [service]; did you mean 'exec_start'?`,
    ]);
  });

  test("systemd's CamelCase names are recognised", () => {
    expect(problems(...SERVICE, "RestartSec = 5")).toEqual([
      `${FILE}:3:1: error: RestartSec: unknown key in [service]; did you mean 'restart_sec'?`,
    ]);
  });

  test("a key in the wrong table", () => {
    expect(problems("[unit]", 'restart = "always"', ...SERVICE)).toEqual([
      `${FILE}:2:1: error: restart: 'restart' belongs in [service], not [unit]`,
    ]);
  });

  test("a key outside any table, and an unknown table", () => {
    expect(problems('description = "x"', "[install]", 'wanted_by = ["multi-user"]', ...SERVICE)).toEqual([
      `${FILE}:1:1: error: [description]: 'description' is a key of [unit]; put it under a [unit] header`,
      `${FILE}:2:1: error: [install]: there is no [install]: wanted_by and required_by go in [unit]`,
    ]);
  });

  test("[socket] written as a single table", () => {
    expect(problems(...SERVICE, "[socket]", 'listen_stream = "/run/a"')).toEqual([
      `${FILE}:3:1: error: [socket]: write [[socket]] (an array of tables, one per socket), not a table`,
    ]);
  });

  test("wrong type", () => {
    expect(problems(...SERVICE, 'remain_after_exit = "yes"', "timeout_stop_sec = [5]")).toEqual([
      `${FILE}:3:21: error: remain_after_exit: expected true or false, got the string "yes" (write true or false, without quotes)`,
      `${FILE}:4:20: error: timeout_stop_sec: expected a duration (a number of seconds or a time span like "500ms", "1min 30s", "infinity"), got an array`,
    ]);
  });

  test("bad duration", () => {
    expect(problems(...SERVICE, 'restart_sec = "5 parsecs"')).toEqual([
      `${FILE}:3:15: error: restart_sec: unknown time unit "parsecs" in "5 parsecs" (use us, ms, s, min, h, d, w, M, y)`,
    ]);
  });

  test("bad enum value lists the allowed values", () => {
    expect(problems("[service]", 'type = "notfy"', 'exec_start = "/bin/true"', 'restart = "sometimes"')).toEqual([
      `${FILE}:2:8: error: type: expected one of simple, exec, notify, notify-reload, oneshot, forking, idle, dbus; got "notfy"; did you mean 'notify'?`,
      `${FILE}:4:11: error: restart: expected one of no, always, on-success, on-failure, on-abnormal, on-abort, on-watchdog; got "sometimes"`,
    ]);
  });

  test("integer out of range", () => {
    expect(problems(...SERVICE, "nice = 25", "oom_score_adj = 1.5")).toEqual([
      `${FILE}:3:8: error: nice: 25 is out of range (-20 to 19)`,
      `${FILE}:4:17: error: oom_score_adj: expected an integer, got the number 1.5`,
    ]);
  });

  test("missing program", () => {
    expect(problems("[service]", 'exec_start = "/usr/bin/nope --flag"')).toEqual([
      `${FILE}:2:14: error: exec_start: /usr/bin/nope does not exist`,
    ]);
  });

  test("program not found in PATH", () => {
    expect(problems("[service]", 'exec_start = ["nope", "x"]')).toEqual([
      `${FILE}:2:15: error: exec_start[0]: "nope" not found in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)`,
    ]);
  });

  test("program not executable, by path and by name", () => {
    expect(problems("[service]", 'exec_start = "/usr/bin/not-exec"', 'exec_start_pre = ["script"]')).toEqual([
      `${FILE}:2:14: error: exec_start: /usr/bin/not-exec is not executable`,
      `${FILE}:3:19: error: exec_start_pre[0]: /usr/local/bin/script is not executable`,
    ]);
  });

  test("relative program path", () => {
    expect(problems("[service]", 'exec_start = "bin/echod"')).toEqual([
      `${FILE}:2:14: error: exec_start: "bin/echod" is a relative path: give an absolute path, or a bare name to look up in PATH`,
    ]);
  });

  test("exec_start is required", () => {
    expect(problems("[unit]", 'description = "x"', "", "[service]", 'type = "simple"')).toEqual([
      `${FILE}:4:1: error: [service]: 'exec_start' is required`,
    ]);
  });

  test("a bad word in an argv array is placed at that word", () => {
    expect(problems("[service]", 'exec_start = ["/bin/true", 5]')).toEqual([
      `${FILE}:2:28: error: exec_start[1]: expected a string in the argv array, got the integer 5`,
    ]);
  });

  test("unterminated quote in a command string", () => {
    expect(problems("[service]", `exec_start = "/bin/sh -c 'echo hi"`)).toEqual([
      `${FILE}:2:14: error: exec_start: unterminated single quote (opened at column 12)`,
    ]);
  });

  test("an argv written where a list of commands is expected", () => {
    expect(problems(...SERVICE, 'exec_reload = ["/bin/kill", "-HUP"]')).toEqual([
      `${FILE}:3:29: error: exec_reload[1]: "HUP" not found in PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)` +
        ' (an array of strings is a list of commands, one per item; for one command with arguments write [["/bin/kill", "-HUP"]] or "/bin/kill -HUP")',
    ]);
  });

  test('"-" turns a missing program into a warning, and the unit loads', () => {
    const result = parse([...SERVICE, 'exec_stop = "-/usr/bin/cleanup"'].join("\n"));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `${FILE}:3:13: warning: exec_stop: /usr/bin/cleanup does not exist; the command will fail, which "-" ignores`,
    ]);
    expect(result.unit?.service?.exec_stop).toEqual([{ argv: ["/usr/bin/cleanup"], ignoreFailure: true }]);
  });

  test("shell syntax is warned about, not interpreted; variables are left for the spawn", () => {
    const result = parse(["[service]", 'exec_start = "/usr/bin/echod > /tmp/log"', 'exec_reload = "/bin/kill -HUP $MAINPID"'].join("\n"));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `${FILE}:2:14: warning: exec_start: ">" is passed to the program as an argument: no shell is run (use ["/bin/sh", "-c", "..."] for shell syntax)`,
    ]);
    expect(result.unit?.service?.exec_start.argv).toEqual(["/usr/bin/echod", ">", "/tmp/log"]);
  });

  test("a decimal file mode is refused", () => {
    expect(problems(...SERVICE, "umask = 22", "[[socket]]", 'listen_stream = "/run/a"', 'socket_mode = "rw"')).toEqual([
      `${FILE}:3:9: error: umask: 22 is a decimal number; write the mode as "0022" or 0o22`,
      `${FILE}:6:15: error: socket[0].socket_mode: expected a file mode like "0644" or 0o644, got the string "rw"`,
    ]);
  });

  test("a mode with the setgid bit and leading zeros reads as systemd's (\"02755\"); five digits do not", () => {
    const result = parse([...SERVICE, 'logs_directory = ["x"]', 'logs_directory_mode = "02755"'].join("\n"));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(result.unit?.service?.logs_directory_mode).toBe(0o2755);
    expect(problems(...SERVICE, 'umask = "12755"')[0]).toContain("expected a file mode");
  });

  test("unit names have no systemd suffix", () => {
    expect(problems("[unit]", 'after = ["syslog.service"]', ...SERVICE)).toEqual([
      `${FILE}:2:10: error: after[0]: "syslog.service": unit names have no suffix; write "syslog"`,
    ]);
  });

  test("a oneshot service cannot always restart", () => {
    expect(problems("[service]", 'type = "oneshot"', 'exec_start = "/bin/true"', 'restart = "always"')).toEqual([
      `${FILE}:4:11: error: restart: a oneshot service cannot have restart = "always" (use on-failure)`,
    ]);
  });

  test("environment: bad names and values", () => {
    expect(problems(...SERVICE, 'environment = { "1X" = "a", OK = [1] }')).toEqual([
      `${FILE}:3:17: error: environment.1X: "1X" is not a valid variable name`,
      `${FILE}:3:34: error: environment.OK: expected a string, got an array`,
    ]);
  });

  test("resource limits", () => {
    expect(problems(...SERVICE, 'limit_nofile = "4096:1024"', 'limit_core = "lots"')).toEqual([
      `${FILE}:3:16: error: limit_nofile: the soft limit (4096) is above the hard limit (1024)`,
      `${FILE}:4:14: error: limit_core: expected a size (an integer, or "64K", "8M"), "infinity", or "soft:hard"; got the string "lots"`,
    ]);
  });

  test("every error is reported, and the unit is not loaded", () => {
    const result = parse(["[service]", 'exec_start = "/nope"', "restart_sec = -1", 'kill_signal = "SIGTREM"'].join("\n"));
    expect(result.unit).toBeNull();
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `${FILE}:2:14: error: exec_start: /nope does not exist`,
      `${FILE}:3:15: error: restart_sec: a duration cannot be negative (got -1)`,
      `${FILE}:4:15: error: kill_signal: expected a signal name like "SIGTERM" or a number 1 to 64, got the string "SIGTREM"; did you mean 'SIGTERM'?`,
    ]);
    expect(result.diagnostics.every((d) => d.unit === "echo")).toBe(true);
  });

  test("an invalid file name", () => {
    const result = parseUnitToml("bad name", SERVICE.join("\n"), "units/bad name.toml", SYSTEM, fakeEnv);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'units/bad name.toml:1:1: error: "bad name" is not a valid unit name (letters, digits and _ . @ : -): rename the file',
    ]);
  });
});

describe("[[socket]]", () => {
  test("each socket listens exactly once", () => {
    expect(problems(...SERVICE, "[[socket]]", "[[socket]]", 'listen_stream = "/run/a"', 'listen_fifo = "/run/b"')).toEqual([
      `${FILE}:3:1: error: socket[0]: needs one of listen_stream, listen_datagram, listen_sequential_packet, listen_fifo, listen_netlink, listen_special`,
      `${FILE}:6:1: error: socket[1].listen_fifo: one [[socket]] listens once: 'listen_stream' is already set; add another [[socket]]`,
    ]);
  });

  test("addresses", () => {
    expect(problems(...SERVICE,
      "[[socket]]", 'listen_stream = "localhost:80"',
      "[[socket]]", 'listen_datagram = "[::1]:99999"',
      "[[socket]]", 'listen_sequential_packet = "0.0.0.0:5"',
    )).toEqual([
      `${FILE}:4:17: error: socket[0].listen_stream: "localhost" is not an IPv4 address (host names are not resolved); expected "/path", "@abstract", "0.0.0.0:8080", "[::]:80" or a port`,
      `${FILE}:6:19: error: socket[1].listen_datagram: "99999" is not a port (1 to 65535); expected "/path", "@abstract", "0.0.0.0:8080", "[::]:80" or a port`,
      `${FILE}:8:28: error: socket[2].listen_sequential_packet: sequential packet sockets are unix sockets: give a path or @abstract`,
    ]);
  });

  test("netlink families and special files", () => {
    expect(problems(...SERVICE,
      "[[socket]]", 'listen_netlink = "kobject-uevent 1"', 'receive_buffer = "128M"', "pass_credentials = true",
      "[[socket]]", 'listen_netlink = "uevent 1"',
      "[[socket]]", 'listen_netlink = "route x"',
      "[[socket]]", 'listen_special = "/dev/rfkill"', "writable = true",
      "[[socket]]", 'listen_special = "rfkill"',
    )).toEqual([
      `${FILE}:8:18: error: socket[1].listen_netlink: unknown netlink family "uevent" (route, firewall, inet-diag, nflog, xfrm, selinux, iscsi, audit, fib-lookup, connector, netfilter, ip6-fw, dnrtmsg, kobject-uevent, generic, scsitransport, ecryptfs, rdma, or a number)`,
      `${FILE}:10:18: error: socket[2].listen_netlink: netlink groups "x" are not a number from 0 to 4294967295 (a bit mask)`,
      `${FILE}:15:18: error: socket[4].listen_special: expected an absolute path, got "rfkill"`,
    ]);
  });

  test("symlinks need a socket file or FIFO; pass_packet_info on a unix socket is a warning", () => {
    expect(problems(...SERVICE,
      "[[socket]]", 'listen_datagram = "/run/dev-log"', 'symlinks = ["/dev/log"]', "pass_security = true", 'timestamping = "us"',
      "[[socket]]", 'listen_fifo = "/run/initctl"', 'symlinks = ["/dev/initctl"]',
      "[[socket]]", 'listen_stream = "127.0.0.1:80"', 'symlinks = ["/run/web"]', "pass_packet_info = true",
      "[[socket]]", 'listen_stream = "@abstract"', 'symlinks = ["/run/abstract"]',
      "[[socket]]", 'listen_datagram = "/run/d"', "pass_packet_info = true", 'timestamping = "ms"',
    )).toEqual([
      `${FILE}:13:12: error: socket[2].symlinks: symlinks need a socket file or FIFO to point at: 127.0.0.1:80 (Stream) is none (systemd refuses such a socket)`,
      `${FILE}:17:12: error: socket[3].symlinks: symlinks need a socket file or FIFO to point at: @abstract (Stream) is none (systemd refuses such a socket)`,
      `${FILE}:21:16: error: socket[4].timestamping: expected one of off, us, ns; got "ms"; did you mean 'us'?`,
      `${FILE}:20:20: warning: socket[4].pass_packet_info: pass_packet_info applies to IP and netlink sockets only: ignored here`,
    ]);
  });

  test("accept works with stream sockets only", () => {
    for (const listen of ['listen_datagram = "/run/d"', 'listen_fifo = "/run/f"', 'listen_netlink = "route 1"', 'listen_special = "/dev/rfkill"']) {
      const text = [...SERVICE, "[[socket]]", listen, "accept = true"].join("\n");
      expect(parseUnitToml("echo@", text, "units/echo@.toml", SYSTEM, fakeEnv).diagnostics.map(formatDiagnostic)).toEqual([
        "units/echo@.toml:5:10: error: socket[0].accept: accept = true works with stream and sequential packet sockets only",
      ]);
    }
  });

  test("accept = true outside a template is refused, saying to rename the file as systemd wants it", () => {
    expect(problems(...SERVICE, "[[socket]]", 'listen_stream = "/run/e"', "accept = true")).toEqual([
      `${FILE}:5:10: error: socket[0].accept: accept = true makes an instance per connection of a template: rename the file echo@.toml (systemd: Accept=yes needs echo@.service)`,
    ]);
  });

  test("defaults: the fd is named after the unit and activates its service", () => {
    const socket = parse([...SERVICE, "[[socket]]", "listen_stream = 8080", "socket_mode = 0o660"].join("\n")).unit!.sockets[0]!;
    expect(socket).toMatchObject({
      listen_stream: "8080", accept: false, socket_mode: 0o660, directory_mode: 0o755, backlog: 4096,
      fd_name: "echo", service: "echo", max_connections: 64, bind_ipv6_only: "default",
    });
    expect("listen_datagram" in socket).toBe(false);
  });

  test('standard_input = "socket" needs an accept socket', () => {
    expect(problems(...SERVICE, 'standard_input = "socket"')).toEqual([
      `${FILE}:3:18: error: standard_input: standard_input = "socket" needs a [[socket]] with accept = true`,
    ]);
  });
});

describe("defaults", () => {
  const service = parse(SERVICE.join("\n")).unit!.service!;

  test("from the schema", () => {
    expect(service).toMatchObject({
      type: "simple", restart: "no", restart_steps: 0, restart_max_delay_sec: Infinity, watchdog_sec: 0,
      start_limit_action: "none", kill_signal: 15, kill_mode: "control-group", umask: 0o022,
      environment: {}, environment_file: [], limits: {}, nice: null, user: null, standard_input: "null",
      fd_store_max: 0, log_buffer_lines: 1000, log_file_max_bytes: 1_048_576, capability_bounding_set: null,
    });
    expect(service.exec_start).toEqual({ argv: ["/usr/bin/echod"], ignoreFailure: false });
  });

  test("from system.toml's [manager]", () => {
    expect(service).toMatchObject({
      restart_sec: 0.1, timeout_start_sec: 90, timeout_stop_sec: 90,
      start_limit_interval_sec: 10, start_limit_burst: 5,
    });
    const { system } = parseSystemToml("[manager]\ndefault_restart_sec = \"2s\"\ndefault_timeout_stop_sec = 7\n", "system.toml");
    const tuned = parse(SERVICE.join("\n"), system).unit!.service!;
    expect(tuned.restart_sec).toBe(2);
    expect(tuned.timeout_stop_sec).toBe(7);
    expect(tuned.timeout_abort_sec).toBe(7); // follows timeout_stop_sec
  });

  test("notify_access: main for notify services and with a watchdog, else none", () => {
    expect(service.notify_access).toBe("none");
    const notify = parse(["[service]", 'type = "notify"', 'exec_start = "/bin/true"'].join("\n")).unit!.service!;
    expect(notify.notify_access).toBe("main");
    const watched = parse([...SERVICE, "watchdog_sec = 30"].join("\n")).unit!.service!;
    expect(watched.notify_access).toBe("main");
    const explicit = parse([...SERVICE, 'notify_access = "all"', "watchdog_sec = 30"].join("\n")).unit!.service!;
    expect(explicit.notify_access).toBe("all");
  });

  test("a unit without [service] is a target", () => {
    const unit = parse('[unit]\ndescription = "group"\n').unit!;
    expect(unit.service).toBeNull();
    expect(unit.sockets).toEqual([]);
    expect(unit.unit).toMatchObject({ description: "group", requires: [], after: [], default_dependencies: true });
  });
});

describe("values", () => {
  const service = parse([
    "[service]",
    `exec_start = "sh -c 'echo \\"hi there\\"'"`,
    'exec_start_pre = ["-/bin/true --x", ["/bin/sh", "-c", "a b"]]',
    'exec_stop = "/bin/kill -TERM 1"',
    'kill_signal = "hup"',
    'restart_sec = "1min 30s"',
    'limit_nofile = "1024:4096"',
    'limit_core = "infinity"',
    'limit_stack = "8M"',
    'limit_cpu = "1min"',
    'limit_rttime = "200ms"',
    'umask = "027"',
    'environment = { LANG = "C", PORT = 8080 }',
    'environment_file = "-/etc/default/echo"',
    'supplementary_groups = ["audio", "video"]',
    "success_exit_status = [1, 2]",
    'log_file_max_bytes = "512K"',
    'capability_bounding_set = ["net_bind_service", "CAP_SYS_TIME"]',
  ].join("\n")).unit!.service!;

  test("commands", () => {
    expect(service.exec_start).toEqual({ argv: ["/bin/sh", "-c", 'echo "hi there"'], ignoreFailure: false });
    expect(service.exec_start_pre).toEqual([
      { argv: ["/bin/true", "--x"], ignoreFailure: true },
      { argv: ["/bin/sh", "-c", "a b"], ignoreFailure: false },
    ]);
    expect(service.exec_stop).toEqual([{ argv: ["/bin/kill", "-TERM", "1"], ignoreFailure: false }]);
  });

  test("scalars", () => {
    expect(service.kill_signal).toBe(1);
    expect(service.restart_sec).toBe(90);
    expect(service.umask).toBe(0o027);
    expect(service.environment).toEqual({ LANG: "C", PORT: "8080" });
    expect(service.environment_file).toEqual(["-/etc/default/echo"]);
    expect(service.supplementary_groups).toEqual(["audio", "video"]);
    expect(service.success_exit_status).toEqual([1, 2]);
    expect(service.log_file_max_bytes).toBe(512 * 1024);
    expect(service.capability_bounding_set).toEqual(["CAP_NET_BIND_SERVICE", "CAP_SYS_TIME"]);
  });

  test("limits are keyed by resource", () => {
    expect(service.limits).toEqual({
      nofile: { soft: 1024, hard: 4096 },
      core: { soft: Infinity, hard: Infinity },
      stack: { soft: 8 * 2 ** 20, hard: 8 * 2 ** 20 },
      cpu: { soft: 60, hard: 60 },
      rttime: { soft: 200_000, hard: 200_000 },
    });
  });
});
