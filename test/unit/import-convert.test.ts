// hearth import: Debian's unit files (test/fixtures/import, copied from the Debian 12
// packages) converted to hearth units, every directive converted or named.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { importUnits, renderUnit, type HearthUnit, type ImportResult } from "../../src/import/importer.ts";
import { parseUnitText } from "../../src/import/unit-file.ts";
import { valueProblem } from "../../src/import/validate.ts";
import { buildConfig } from "../../src/config/load.ts";
import { importMain } from "../../src/cli/import.ts";
import { checkMain } from "../../src/cli/check.ts";
import { keysOf, type KeySpec } from "../../src/config/schema.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/import");
const fixture = (name: string) => join(FIXTURES, name);
const ANY_PROGRAM = { isExecutable: () => true, exists: () => true };

function unitText(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** The errors `hearth check` reports for a config dir holding this unit alone. */
function checkErrors(unit: HearthUnit) {
  const file = `units/${unit.name}.toml`;
  const sources = { system: null, units: [{ name: unit.name, file, text: renderUnit(unit) }], diagnostics: [] };
  return buildConfig(sources, ANY_PROGRAM).diagnostics.filter((d) => d.severity === "error");
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "hearth-import-"));
}

function only(result: ImportResult) {
  expect(result.units.length).toBe(1);
  return result.units[0]!;
}

/** Every assignment of the files is either in the unit (by origin) or in a note. */
function unaccounted(result: ImportResult, files: string[]): string[] {
  const seen = new Set<string>();
  for (const unit of result.units) for (const list of unit.origins.values()) for (const a of list) seen.add(`${a.file}:${a.line}`);
  for (const note of result.notes) seen.add(`${note.file}:${note.line}`);
  const missing: string[] = [];
  for (const file of files) {
    for (const a of parseUnitText(readFileSync(file, "utf8"), file).assignments) {
      // A socket file's [Socket] lines end up in each [[socket]]; Service= is where it went.
      if (!seen.has(`${a.file}:${a.line}`) && a.key !== "Service") missing.push(`${a.file}:${a.line} ${a.key}`);
    }
  }
  return missing;
}

describe("Debian units", () => {
  test("ssh.service and ssh.socket become one unit, the socket a [[socket]] of it named as systemd names it", () => {
    const result = importUnits([fixture("ssh.service"), fixture("ssh.socket")]);
    const unit = only(result);
    expect(unit.name).toBe("ssh");
    expect(unit.tables.unit).toMatchObject({
      description: "OpenBSD Secure Shell server",
      after: ["network", "auditd"],
      condition_path_exists: ["!/etc/ssh/sshd_not_to_be_run"],
      wanted_by: ["multi-user"],
    });
    expect(unit.tables.service).toMatchObject({
      type: "notify",
      environment_file: ["-/etc/default/ssh"],
      exec_start_pre: [["/usr/sbin/sshd", "-t"]],
      exec_start: ["/usr/sbin/sshd", "-D", "$SSHD_OPTS"],
      exec_reload: [["/usr/sbin/sshd", "-t"], ["/bin/kill", "-HUP", "$MAINPID"]],
      restart_prevent_exit_status: [255],
      runtime_directory: ["sshd"],
      runtime_directory_mode: "0755",
    });
    expect(unit.sockets).toEqual([{ listen_stream: "22", accept: false, fd_name: "ssh.socket" }]);
    // The socket's own condition is the service's: nothing is lost there.
    expect(result.notes.filter((n) => n.key === "ConditionPathExists")).toMatchObject([{ kind: "ignored" }]);
  });

  test("rpcbind.socket's five Listen lines are five [[socket]] tables, each with the socket's settings", () => {
    const unit = only(importUnits([fixture("rpcbind.service"), fixture("rpcbind.socket")]));
    expect(unit.sockets.map((s) => Object.entries(s).find(([k]) => k.startsWith("listen_")))).toEqual([
      ["listen_stream", "/run/rpcbind.sock"],
      ["listen_stream", "0.0.0.0:111"],
      ["listen_datagram", "0.0.0.0:111"],
      ["listen_stream", "[::]:111"],
      ["listen_datagram", "[::]:111"],
    ]);
    for (const socket of unit.sockets) expect(socket).toMatchObject({ bind_ipv6_only: "ipv6-only", fd_name: "rpcbind.socket" });
  });

  test("chrony's four inverted CapabilityBoundingSet= lines are merged as systemd merges them", () => {
    const unit = only(importUnits([fixture("chrony.service")]));
    const set = unit.tables.service.capability_bounding_set as string;
    expect(set.startsWith("~")).toBe(true);
    for (const cap of ["CAP_AUDIT_CONTROL", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_WAKE_ALARM"]) expect(set).toContain(cap);
    expect(set).not.toContain("CAP_SYS_TIME");
  });

  test("chrony's hardening converts whole: ProtectHome=yes and RestrictNamespaces=yes as booleans, DeviceAllow= lines kept one each", () => {
    const result = importUnits([fixture("chrony.service")]);
    const service = only(result).tables.service;
    expect(service.protect_home).toBe(true);
    expect(service.restrict_namespaces).toBe(true);
    expect(service.device_allow).toEqual(["char-pps rw", "char-ptp rw", "char-rtc rw"]);
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
    expect(checkErrors(only(result))).toEqual([]);
  });

  test("systemd's old names ReadWriteDirectories= and friends are its *Paths= keys; Delegate= and a 02755 mode convert", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-import-old-names-"));
    const file = unitText(dir, "old.service", [
      "[Service]", "ExecStart=/bin/true", "ReadWriteDirectories=/var/lib/old", "ReadOnlyDirectories=/etc/old",
      "InaccessibleDirectories=-/srv/secret", "Delegate=pids memory", "LogsDirectory=old", "LogsDirectoryMode=02755", "",
    ].join("\n"));
    const result = importUnits([file]);
    const service = only(result).tables.service;
    expect([service.read_write_paths, service.read_only_paths, service.inaccessible_paths]).toEqual([["/var/lib/old"], ["/etc/old"], ["-/srv/secret"]]);
    expect([service.delegate, service.logs_directory_mode]).toEqual(["pids memory", "02755"]);
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
    expect(checkErrors(only(result))).toEqual([]);
  });

  test("a template keeps its name with @ and its %i; serial-getty's quoted \\\\u reaches agetty as \\u", () => {
    const unit = only(importUnits([fixture("serial-getty@.service")]));
    expect(unit.name).toBe("serial-getty@");
    const argv = unit.tables.service.exec_start as string[];
    expect(argv.slice(0, 3)).toEqual(["-/sbin/agetty", "-o", "-p -- \\u"]);
    expect(unit.tables.unit.description).toBe("Serial Getty on %I");
    expect(unit.tables.unit.before).toContain("getty");
  });

  test("nothing is dropped silently: every directive of every fixture is converted or named", () => {
    const sets = [
      ["ssh.service", "ssh.socket"], ["chrony.service"], ["dnsmasq@.service"], ["avahi-daemon.service", "avahi-daemon.socket"],
      ["serial-getty@.service"], ["rpcbind.service", "rpcbind.socket"],
    ];
    for (const names of sets) {
      const files = names.map(fixture);
      expect(unaccounted(importUnits(files), files)).toEqual([]);
    }
  });

  test("every imported fixture loads as hearth check loads it", () => {
    for (const names of [["ssh.service", "ssh.socket"], ["chrony.service"], ["dnsmasq@.service"], ["avahi-daemon.service", "avahi-daemon.socket"], ["serial-getty@.service"], ["rpcbind.service", "rpcbind.socket"]]) {
      for (const unit of importUnits(names.map(fixture)).units) {
        expect(checkErrors(unit)).toEqual([]);
      }
    }
  });
});

describe("conversion rules", () => {
  test("drop-ins: a list grows, an empty assignment empties it, a scalar's last assignment wins", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Unit]\nAfter=a.service\n[Service]\nExecStart=/bin/old\nRestart=always\nExecStartPre=/bin/pre1\n");
    unitText(join(dir, "foo.service.d"), "10-override.conf", "[Unit]\nAfter=b.target\n[Service]\nExecStart=\nExecStart=/bin/new --flag\nRestart=on-failure\nExecStartPre=\n");
    const out = only(importUnits([unit])).tables;
    expect(out.unit.after).toEqual(["a", "b"]);
    expect(out.service.exec_start).toEqual(["/bin/new", "--flag"]);
    expect(out.service.restart).toBe("on-failure");
    expect(out.service.exec_start_pre).toBeUndefined();
  });

  test("Environment= words with quotes and escapes; TimeoutSec= sets both timeouts; names renamed where hearth's differ", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", `[Service]\nExecStart=/bin/foo\nEnvironment="A=1 2" B=3\nEnvironment='C=x\\ty'\nTimeoutSec=1min 30s\nOOMScoreAdjust=-500\nLimitNOFILE=65536\nStartLimitBurst=3\n[Unit]\nStartLimitIntervalSec=60\n`);
    const result = importUnits([unit]);
    const service = only(result).tables.service;
    expect(service.environment).toEqual({ A: "1 2", B: "3", C: "x\ty" });
    expect(service).toMatchObject({ timeout_start_sec: "1min 30s", timeout_stop_sec: "1min 30s", oom_score_adj: -500, limit_nofile: 65536, start_limit_burst: 3, start_limit_interval_sec: 60 });
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
  });

  test("a service with only ExecStop= is a oneshot doing nothing at start, as in systemd (lvm2's blk-availability)", () => {
    const dir = scratch();
    const unit = unitText(dir, "blk.service", "[Service]\nExecStop=/sbin/blkdeactivate -u\nRemainAfterExit=yes\n");
    expect(only(importUnits([unit])).tables.service).toEqual({
      exec_stop: [["/sbin/blkdeactivate", "-u"]], remain_after_exit: true, type: "oneshot", exec_start: ["/bin/true"],
      timeout_start_sec: "infinity",
    });
  });

  test("BindsTo=%i.device in a template whose instance is a device path (systemd-fsck@dev-sda1) converts and checks", () => {
    const dir = scratch();
    const unit = unitText(dir, "fsck@.service", "[Unit]\nBindsTo=%i.device\nAfter=%i.device\n[Service]\nType=oneshot\nExecStart=/bin/fsck %f\n");
    const result = importUnits([unit]);
    expect(only(result).tables.unit).toMatchObject({ binds_to: ["%i.device"], after: ["%i.device"] });
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
    expect(checkErrors(only(result))).toEqual([]);
  });

  test("ProtectHome=yes and RestrictNamespaces=yes are booleans, as systemd reads them (chrony.service)", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nProtectHome=yes\nProtectSystem=full\nRestrictNamespaces=yes\nPrivateTmp=on\n");
    const result = importUnits([unit]);
    expect(only(result).tables.service).toMatchObject({ protect_home: true, protect_system: "full", restrict_namespaces: true, private_tmp: true });
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
    const other = unitText(dir, "bar.service", "[Service]\nExecStart=/bin/bar\nProtectHome=no\nRestrictNamespaces=net ipc\n");
    expect(only(importUnits([other])).tables.service).toMatchObject({ protect_home: false, restrict_namespaces: "net ipc" });
  });

  test("a oneshot's several ExecStart= run in turn, as in systemd (ifupdown's networking); another type's second one is dropped", () => {
    const dir = scratch();
    const oneshot = unitText(dir, "net.service", "[Service]\nType=oneshot\nExecStart=/sbin/ifup -a\nExecStart=-/bin/sh -c 'echo hi'\n");
    const simple = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/a\nExecStart=/bin/b\n");
    const result = importUnits([oneshot, simple]);
    const [net, foo] = result.units;
    expect(net!.tables.service.exec_start).toEqual([["/sbin/ifup", "-a"], ["-/bin/sh", "-c", "echo hi"]]);
    expect(checkErrors(net!)).toEqual([]);
    expect(foo!.tables.service.exec_start).toEqual(["/bin/a"]);
    expect(result.notes.filter((n) => n.kind === "dropped").map((n) => `${n.source.split("/").pop()}:${n.line} ${n.group}`)).toEqual(["foo.service:3 ExecStart (several)"]);
  });

  test("a oneshot has no start timeout unless it sets one, as in systemd", () => {
    const dir = scratch();
    const plain = unitText(dir, "a.service", "[Service]\nType=oneshot\nExecStart=/bin/a\n");
    const timed = unitText(dir, "b.service", "[Service]\nType=oneshot\nExecStart=/bin/b\nTimeoutSec=30\n");
    const [a, b] = importUnits([plain, timed]).units;
    expect(a!.tables.service.timeout_start_sec).toBe("infinity");
    expect(b!.tables.service.timeout_start_sec).toBe(30);
  });

  test("docker's TimeoutStartSec=0 is no timeout, as systemd reads it, not an instant one", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nTimeoutStartSec=0\nTimeoutStopSec=0s\nRestartSec=0\n");
    expect(only(importUnits([unit])).tables.service).toMatchObject({ timeout_start_sec: "infinity", timeout_stop_sec: "infinity", restart_sec: 0 });
  });

  test("systemd's boolean spellings (yes, on, 1, no …) read as true/false for a key that is a boolean or a word", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nProtectHome=yes\nProtectSystem=on\nRestrictNamespaces=1\nProtectProc=invisible\n");
    const other = unitText(dir, "bar.service", "[Service]\nExecStart=/bin/bar\nProtectHome=read-only\nProtectSystem=no\nRestrictNamespaces=~user net\n");
    const result = importUnits([unit, other]);
    expect(result.units[0]!.tables.service).toMatchObject({ protect_home: true, protect_system: true, restrict_namespaces: true });
    expect(result.units[1]!.tables.service).toMatchObject({ protect_home: "read-only", protect_system: false, restrict_namespaces: "~user net" });
    expect(result.notes.filter((n) => n.kind === "dropped")).toEqual([]);
    for (const u of result.units) expect(checkErrors(u)).toEqual([]);
  });

  test("a directive hearth has no key for is dropped by name; a value hearth refuses is dropped with the loader's reason", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nFrobnicateWidgets=yes\nKillMode=everything\n[Unit]\nDocumentation=man:foo(8)\n[X-Vendor]\nAnything=1\n");
    const result = importUnits([unit]);
    const lines = result.notes.map((n) => `${n.line}: ${n.kind} ${n.key} (${n.why})`);
    expect(lines).toContainEqual("3: dropped FrobnicateWidgets (hearth has no frobnicate_widgets)");
    expect(lines.find((l) => l.startsWith("4: dropped KillMode"))).toContain("expected one of");
    expect(lines).toContainEqual("6: ignored Documentation (documentation links only)");
    expect(result.files).toEqual([{ path: unit, unit: "foo", lossless: false }]);
  });

  test("a key added to the schema is imported from then on, with no change to import", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nFrobnicateWidgets=yes\nWidgetSec=1min\n");
    expect(importUnits([unit]).notes.map((n) => n.why)).toEqual(["hearth has no frobnicate_widgets", "hearth has no widget_sec"]);
    const keys = keysOf("service") as Map<string, KeySpec>;
    keys.set("frobnicate_widgets", { table: "service", name: "frobnicate_widgets", type: { kind: "bool" }, default: false, doc: "" });
    keys.set("widget_sec", { table: "service", name: "widget_sec", type: { kind: "duration" }, default: 0, doc: "" });
    try {
      const result = importUnits([unit]);
      expect(only(result).tables.service).toMatchObject({ frobnicate_widgets: true, widget_sec: "1min" });
      expect(result.notes).toEqual([]);
    } finally {
      keys.delete("frobnicate_widgets");
      keys.delete("widget_sec");
    }
  });

  test("BusName= with no Type= is a dbus service: said so while hearth's type has no dbus, written once it has", () => {
    const dir = scratch();
    const unit = unitText(dir, "avahi.service", "[Service]\nExecStart=/usr/sbin/avahi-daemon -s\nBusName=org.freedesktop.Avahi\n");
    const keys = keysOf("service") as Map<string, KeySpec>;
    const type = keys.get("type")!;
    const added = !keys.has("bus_name");
    if (added) keys.set("bus_name", { table: "service", name: "bus_name", type: { kind: "string" }, default: null, doc: "" });
    try {
      const typeValues = (type.type as { values: readonly string[] }).values;
      keys.set("type", { ...type, type: { kind: "enum", values: typeValues.filter((v) => v !== "dbus") } });
      const without = importUnits([unit]);
      expect(only(without).tables.service.type).toBeUndefined();
      expect(without.notes).toMatchObject([{ kind: "dropped", line: 3, group: "Type=dbus (implied)" }]);
      keys.set("type", { ...type, type: { kind: "enum", values: [...typeValues.filter((v) => v !== "dbus"), "dbus"] } });
      const withDbus = importUnits([unit]);
      expect(only(withDbus).tables.service).toMatchObject({ type: "dbus", bus_name: "org.freedesktop.Avahi" });
      expect(withDbus.notes).toEqual([]);
    } finally {
      keys.set("type", type);
      if (added) keys.delete("bus_name");
    }
  });

  test("an exec prefix hearth refuses is left off and said so; one it accepts is kept", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=+/bin/foo -x\nExecStartPre=-/bin/pre\n");
    const result = importUnits([unit]);
    const service = only(result).tables.service;
    expect(service.exec_start_pre).toEqual([["-/bin/pre"]]);
    if (valueProblem({ kind: "command" }, ["+/bin/foo"]) === null) {
      expect(service.exec_start).toEqual(["+/bin/foo", "-x"]);
    } else {
      expect(service.exec_start).toEqual(["/bin/foo", "-x"]);
      expect(result.notes).toMatchObject([{ kind: "dropped", line: 2, key: "ExecStart" }]);
    }
  });

  test("one bad item of a list drops alone; .socket names are nothing to wait for", () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Unit]\nAfter=network.target foo.socket\n[Service]\nExecStart=/bin/foo\nSuccessExitStatus=3 DATAERR 999\n");
    const result = importUnits([unit]);
    const out = only(result).tables;
    expect(out.unit.after).toEqual(["network"]);
    expect(out.service.success_exit_status).toEqual([3, 65]);
    expect(result.notes.map((n) => n.kind)).toEqual(["ignored", "dropped"]);
  });

  test("Requires= a mount unit is requires_mounts_for its path; After= one keeps its name, ordering only, as in systemd", () => {
    const dir = scratch();
    const unit = unitText(dir, "nfsd.service", "[Unit]\nRequires=network.target proc-fs-nfsd.mount\nAfter=proc-fs-nfsd.mount home.mount\n[Service]\nExecStart=/bin/nfsd\n");
    const result = importUnits([unit]);
    expect(only(result).tables.unit).toEqual({ requires: ["network"], requires_mounts_for: ["/proc/fs/nfsd"], after: ["proc-fs-nfsd.mount", "home.mount"] });
    expect(result.notes).toEqual([]);
    expect(checkErrors(only(result))).toEqual([]);
  });

  test("a service's Sockets= takes the sockets it names, as their Service= would", () => {
    const dir = scratch();
    const service = unitText(dir, "journal.service", "[Service]\nExecStart=/bin/journal\nSockets=journal.socket journal-dev-log.socket\n");
    const socket = unitText(dir, "journal-dev-log.socket", "[Socket]\nListenDatagram=/run/dev-log\n");
    const alone = importUnits([service, socket]);
    expect(only(alone).sockets).toEqual([{ listen_datagram: "/run/dev-log", fd_name: "journal-dev-log.socket" }]);
    expect(alone.notes).toMatchObject([{ kind: "dropped", key: "Sockets", why: "journal.socket not imported with it: give the socket files too" }]);
    const both = importUnits([service, socket, unitText(dir, "journal.socket", "[Socket]\nListenStream=/run/journal\n")]);
    expect(only(both).sockets.length).toBe(2);
    expect(both.notes).toMatchObject([{ kind: "ignored", key: "Sockets" }]);
  });

  test("udevd's kernel socket and rfkill's special file convert whole: ListenNetlink=, ListenSpecial= and Writable=", () => {
    const dir = scratch();
    unitText(dir, "systemd-udevd.service", "[Service]\nType=notify\nExecStart=/lib/systemd/systemd-udevd\n");
    const kernel = unitText(dir, "systemd-udevd-kernel.socket",
      "[Socket]\nService=systemd-udevd.service\nReceiveBuffer=128M\nListenNetlink=kobject-uevent 1\nPassCredentials=yes\n");
    const udevd = importUnits([kernel]);
    expect(only(udevd).sockets).toEqual([{
      listen_netlink: "kobject-uevent 1", receive_buffer: "128M", pass_credentials: true, fd_name: "systemd-udevd-kernel.socket",
    }]);
    expect(udevd.notes).toEqual([]);
    expect(checkErrors(only(udevd))).toEqual([]);
    unitText(dir, "systemd-rfkill.service", "[Service]\nType=notify\nExecStart=/lib/systemd/systemd-rfkill\n");
    const rfkill = importUnits([unitText(dir, "systemd-rfkill.socket", "[Socket]\nListenSpecial=/dev/rfkill\nWritable=yes\n")]);
    expect(only(rfkill).sockets).toEqual([{ listen_special: "/dev/rfkill", writable: true, fd_name: "systemd-rfkill.socket" }]);
    expect(rfkill.notes).toEqual([]);
    // A family systemd does not know is dropped by name, as systemd refuses the line.
    const bad = importUnits([unitText(dir, "systemd-rfkill.socket", "[Socket]\nListenNetlink=uevent 1\nListenSpecial=/dev/rfkill\n")]);
    expect(bad.notes).toMatchObject([{ kind: "dropped", line: 2, key: "ListenNetlink", why: expect.stringContaining('unknown netlink family "uevent"') }]);
  });

  test("journald's sockets convert whole: Timestamping= in any of systemd's spellings, PassSecurity=, PassPacketInfo=, Symlinks= on the one socket file", () => {
    const dir = scratch();
    unitText(dir, "systemd-journald.service", "[Service]\nType=notify\nExecStart=/lib/systemd/systemd-journald\n");
    const devLog = importUnits([unitText(dir, "systemd-journald-dev-log.socket", [
      "[Socket]", "ListenDatagram=/run/systemd/journal/dev-log", "PassCredentials=yes", "PassSecurity=yes",
      "Service=systemd-journald.service", "SocketMode=0666", "Symlinks=/dev/log", "Timestamping=us", "",
    ].join("\n"))]);
    expect(only(devLog).sockets).toEqual([{
      listen_datagram: "/run/systemd/journal/dev-log", pass_credentials: true, pass_security: true, socket_mode: "0666",
      symlinks: ["/dev/log"], timestamping: "us", fd_name: "systemd-journald-dev-log.socket",
    }]);
    expect(devLog.notes).toEqual([]);
    expect(checkErrors(only(devLog))).toEqual([]);
    for (const name of ["t", "m", "n"]) unitText(dir, `${name}.service`, "[Service]\nExecStart=/bin/true\n");
    for (const [given, want] of [["usec", "us"], ["µs", "us"], ["μs", "us"], ["nsec", "ns"], ["ns", "ns"], ["yes", "ns"], ["no", "off"], ["off", "off"]]) {
      const unit = only(importUnits([unitText(dir, "t.socket", `[Socket]\nListenDatagram=/run/t\nTimestamping=${given}\n`)]));
      expect([given, unit.sockets[0]!.timestamping]).toEqual([given, want]);
    }
    // Symlinks= go to the socket file's table only; with two files systemd refuses the socket: dropped by name.
    const mixed = importUnits([unitText(dir, "m.socket", "[Socket]\nListenStream=127.0.0.1:7000\nListenStream=/run/m.sk\nSymlinks=/run/m-alias /run/m2\nPassPacketInfo=yes\n")]);
    expect(only(mixed).sockets.map((s) => s.symlinks)).toEqual([undefined, ["/run/m-alias", "/run/m2"]]);
    expect(only(mixed).sockets.map((s) => s.pass_packet_info)).toEqual([true, true]);
    expect(mixed.notes).toEqual([]);
    const two = importUnits([unitText(dir, "n.socket", "[Socket]\nListenStream=/run/n1.sk\nListenFIFO=/run/n2\nSymlinks=/run/n\n")]);
    expect(two.notes).toMatchObject([{ kind: "dropped", key: "Symlinks", why: "systemd refuses a socket with Symlinks= and more than one socket file or FIFO" }]);
    expect(only(two).sockets.map((s) => s.symlinks)).toEqual([undefined, undefined]);
  });

  test("a template socket goes into its template service, its fds named after the instance; or, where hearth refuses it, is dropped by name", () => {
    const dir = scratch();
    unitText(dir, "db@.service", "[Service]\nExecStart=/bin/db %i\n");
    const extra = unitText(dir, "db-extra@.socket", "[Socket]\nListenStream=/run/db-extra-%i.sock\nService=db@%i.service\n");
    const own = unitText(dir, "db@.socket", "[Socket]\nListenStream=/run/db-%i.sock\n");
    const result = importUnits([extra, own]);
    const unit = only(result);
    expect(unit.name).toBe("db@");
    expect(checkErrors(unit)).toEqual([]);
    const expected = [
      { listen_stream: "/run/db-extra-%i.sock", fd_name: "db-extra@%i.socket" },
      { listen_stream: "/run/db-%i.sock", fd_name: "db@%i.socket" },
    ];
    if (unit.sockets.length > 0) expect(unit.sockets).toEqual(expected);
    else expect(result.notes.filter((n) => n.kind === "dropped").map((n) => `${n.file}:${n.line}`)).toEqual([`${extra}:2`, `${own}:2`]);
  });

  test("chrony's SystemCallFilter=~… and RestrictAddressFamilies= lines keep their \"~\" for every name on the line, as systemd reads them", () => {
    const unit = only(importUnits([fixture("chrony.service")]));
    // One line per assignment: split into words, "~@cpu-emulation", "@debug", … would deny
    // @cpu-emulation only (a plain name in a deny list takes it out again).
    expect(unit.tables.service.system_call_filter).toEqual(["~@cpu-emulation @debug @module @mount @obsolete @raw-io @reboot @swap"]);
    expect(unit.tables.service.restrict_address_families).toEqual(["AF_INET AF_INET6 AF_UNIX", "AF_NETLINK"]);
  });

  test("a socket given alone brings its service from beside it", () => {
    const unit = only(importUnits([fixture("avahi-daemon.socket")]));
    expect(unit.name).toBe("avahi-daemon");
    expect(unit.sockets).toEqual([{ listen_stream: "/run/avahi-daemon/socket", fd_name: "avahi-daemon.socket" }]);
  });

  test("an Accept=yes socket and its template are one template unit, foo@", () => {
    const dir = scratch();
    const socket = unitText(dir, "echo.socket", "[Socket]\nListenStream=7777\nAccept=yes\n[Install]\nWantedBy=sockets.target\n");
    unitText(dir, "echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n");
    const result = importUnits([socket]);
    const unit = only(result);
    expect(unit.name).toBe("echo@");
    expect(unit.sockets).toEqual([{ listen_stream: "7777", accept: true, fd_name: "echo.socket" }]);
    expect(unit.tables.service).toEqual({ exec_start: ["/bin/cat"], standard_input: "socket" });
    expect(result.files.every((f) => f.lossless)).toBe(true);
  });
});

describe("hearth import", () => {
  test("--to writes units/NAME.toml (templates NAME@.toml) that hearth check accepts; --summary gives the share", async () => {
    const dir = scratch();
    const err: string[] = [];
    const code = await importMain(["--to", dir, "--summary", fixture("ssh.service"), fixture("ssh.socket"), fixture("dnsmasq@.service")], {
      out: () => {}, err: (line) => err.push(line),
    });
    expect(code).toBe(0);
    expect(readFileSync(join(dir, "units/ssh.toml"), "utf8")).toContain('fd_name = "ssh.socket"');
    expect(readFileSync(join(dir, "units/dnsmasq@.toml"), "utf8")).toContain("%i");
    expect(err.some((l) => /^\d+ of 3 files converted without loss \(\d+\.\d %\)$/.test(l))).toBe(true);
    const checked: string[] = [];
    expect(await checkMain(["-c", dir], { out: (l) => checked.push(l), err: (l) => checked.push(l), env: ANY_PROGRAM })).toBe(0);
  });

  test("each drop is one line FILE:LINE: dropped KEY=VALUE (why) on stderr; the TOML goes to stdout", async () => {
    const dir = scratch();
    const unit = unitText(dir, "foo.service", "[Service]\nExecStart=/bin/foo\nFrobnicate=yes\n");
    let out = "";
    const err: string[] = [];
    expect(await importMain([unit], { out: (t) => (out += t), err: (l) => err.push(l) })).toBe(0);
    expect(err).toEqual([`${unit}:3: dropped Frobnicate=yes (hearth has no frobnicate)`]);
    expect(out).toContain("# units/foo.toml\n");
    expect(out).toContain('exec_start = [ "/bin/foo" ]');
  });

  test("a target becomes a unit without [service]; a built-in target's file extends it", async () => {
    const dir = scratch();
    const network = unitText(dir, "network.target", "[Unit]\nDescription=Network\nDocumentation=man:systemd.special(7)\nAfter=network-pre.target\nRefuseManualStart=yes\n");
    const multi = unitText(dir, "multi-user.target", "[Unit]\nDescription=Multi-User System\nRequires=basic.target\nAfter=basic.target\n");
    const result = importUnits([network, multi]);
    expect(result.units.map((u) => [u.name, u.tables.unit, Object.keys(u.tables.service).length])).toEqual([
      ["network", { description: "Network", after: ["network-pre"], refuse_manual_start: true }, 0],
      ["multi-user", { description: "Multi-User System", requires: ["basic"], after: ["basic"] }, 0],
    ]);
    expect(result.notes.filter((n) => n.kind === "dropped").map((n) => n.key)).toEqual([]);
  });

  test("with --root a unit is named as systemctl names it, found in the root's unit directories with its drop-ins", async () => {
    const root = scratch();
    unitText(join(root, "lib/systemd/system"), "foo.service", "[Service]\nExecStart=/bin/foo\nRestart=always\n");
    unitText(join(root, "etc/systemd/system/foo.service.d"), "override.conf", "[Service]\nRestart=no\n");
    let out = "";
    expect(await importMain(["--root", root, "foo.service"], { out: (t) => (out += t), err: () => {} })).toBe(0);
    expect(out).toContain('restart = "no"');
  });

  test("a file that is no service, socket or target is an error, exit 1", async () => {
    const err: string[] = [];
    expect(await importMain(["/nonexistent/foo.timer"], { out: () => {}, err: (l) => err.push(l) })).toBe(1);
    expect(err[0]).toContain("not a .service, .socket or .target file");
  });
});
