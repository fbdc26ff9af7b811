// Netlink sockets and special files (listen_netlink, listen_special: systemd's
// ListenNetlink= and ListenSpecial=) through hearth run, on the real kernel: a service
// started by the kernel's uevents, a route socket a service queries, special files read
// (and written) through the fds passed, the ones that cannot be listened on refused by
// name while the rest boots, and `hearth check` on an unknown family. Needs root.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hearthCommand } from "../support/harness.ts";
import { Session } from "../support/session.ts";

const PYTHON = "/usr/bin/python3";
const session = new Session();
afterEach(() => session.end());
const logs = (unit: string) => session.logs(unit);
const until = session.until.bind(session);

/** Prints what it was given, then the ACTION@DEVPATH header of every uevent datagram on fd 3. */
const UEVENTS_PY = `import os, socket
s = socket.socket(fileno=3)
print("LISTEN_FDS=%s LISTEN_FDNAMES=%s family=%d" % (os.environ["LISTEN_FDS"], os.environ["LISTEN_FDNAMES"], s.family), flush=True)
while True:
    print("uevent " + s.recv(8192).split(b"\\0")[0].decode(), flush=True)
`;

/** Asks the route socket on fd 3 for every link (RTM_GETLINK dump) and prints their names. */
const LINKS_PY = `import os, socket, struct
s = socket.socket(fileno=3)
s.send(struct.pack("=LHHLL", 32, 18, 0x301, 7, 0) + struct.pack("=BxHiII", 0, 0, 0, 0, 0))
names, done = [], False
while not done:
    data, at = s.recv(65536), 0
    while at + 16 <= len(data):
        length, kind, flags, seq, pid = struct.unpack_from("=LHHLL", data, at)
        if seq == 7 and kind == 3:
            done = True
        if seq == 7 and kind == 2:
            raise SystemExit("netlink error")
        if seq == 7 and kind == 16:
            a = at + 32
            while a + 4 <= at + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype == 3:
                    names.append(data[a + 4:a + alen].rstrip(b"\\0").decode())
                a += (alen + 3) & ~3
        at += (length + 3) & ~3
print("%s links: %s" % (os.environ["LISTEN_FDNAMES"], " ".join(names)), flush=True)
`;

function script(name: string, text: string): string {
  const path = join(session.scratch("py"), name);
  writeFileSync(path, text);
  return path;
}

/** `change` uevents for lo until `done` says the service saw one (a uevent write is harmless). */
async function untilUevent(done: () => Promise<boolean>): Promise<void> {
  await until("a uevent of lo read by the service", async () => {
    writeFileSync("/sys/class/net/lo/uevent", "change");
    return done();
  });
}

describe("listen_netlink", () => {
  test("a service started by the kernel's uevents reads them from fd 3", async () => {
    const m = await session.start({
      "uevent-reader": `
[service]
exec_start = ["${PYTHON}", "${script("uevents.py", UEVENTS_PY)}"]

[[socket]]
listen_netlink = "kobject-uevent 1"
receive_buffer = "1M"
pass_credentials = true
fd_name = "kernel"
`,
    });
    const before = await m.unit("uevent-reader");
    expect(before.active).toBe("inactive");
    expect(before.sockets.map((s: { listen: string; state: string }) => `${s.listen} ${s.state}`)).toEqual(["kobject-uevent 1 (Netlink) listening"]);
    expect((await m.ctl("status", "uevent-reader")).stdout).toContain("Listen: kobject-uevent 1 (Netlink) listening");

    await untilUevent(async () => (await logs("uevent-reader")).includes("uevent change@/devices/virtual/net/lo"));
    await m.waitForOutput(/Incoming traffic on kobject-uevent 1 \(Netlink\): activating/);
    expect(await logs("uevent-reader")).toContain("LISTEN_FDS=1 LISTEN_FDNAMES=kernel family=16");
    expect(await m.unit("uevent-reader")).toMatchObject({ active: "active" });
    expect((await m.unit("uevent-reader")).sockets[0].state).toBe("running");
  });

  test("a route socket passed to a service that queries the kernel's links on it", async () => {
    const m = await session.start({
      links: `
[unit]
wanted_by = ["multi-user"]

[service]
type = "oneshot"
remain_after_exit = true
exec_start = ["${PYTHON}", "${script("links.py", LINKS_PY)}"]

[[socket]]
listen_netlink = "route 1361"
receive_buffer = "128M"
`,
    });
    await m.waitForState("links", "active");
    expect(await logs("links")).toMatch(/links links: (.+ )?lo( |\n)/);
    expect((await m.unit("links")).sockets[0]).toMatchObject({ listen: "route 1361 (Netlink)", error: null });
  });
});

describe("listen_special", () => {
  test("a /proc file and a character device are passed: read from one, written to the other (writable)", async () => {
    const hostname = (await Bun.file("/proc/sys/kernel/hostname").text()).trim();
    const m = await session.start({
      special: `
[service]
exec_start = ["/bin/sh", "-c", "echo \\"$LISTEN_FDS $LISTEN_FDNAMES\\"; read name <&3; echo \\"hostname $name\\"; printf x >&4 && echo wrote to random; exec sleep 1000"]

[[socket]]
listen_special = "/proc/sys/kernel/hostname"
fd_name = "hostname"

[[socket]]
listen_special = "/dev/random"
writable = true
fd_name = "random"
`,
    });
    // Readable from the start (as such files are): the service is started by them at once.
    await until("the service to read its fds", async () => (await logs("special")).includes("wrote to random"));
    const text = await logs("special");
    expect(text).toContain("2 hostname:random");
    expect(text).toContain(`hostname ${hostname}`);
    expect((await m.unit("special")).sockets.map((s: { listen: string }) => s.listen)).toEqual([
      "/proc/sys/kernel/hostname (Special)", "/dev/random (Special)",
    ]);
  });

  test("a FIFO and a directory are refused with the unit and path named, the FIFO never opened; the rest boots", async () => {
    const dir = session.scratch("special");
    const fifo = join(dir, "in.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    // A writer waiting for a reader: hearth must not be that reader, even for a moment.
    const writer = Bun.spawn(["/bin/sh", "-c", `echo hi > ${fifo}`]);
    const folder = join(dir, "folder");
    mkdirSync(folder);
    const m = await session.start({
      "fifo-special": `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = "/bin/sleep 1000"
[[socket]]
listen_special = "${fifo}"
`,
      "dir-special": `
[service]
exec_start = "/bin/sleep 1000"
[[socket]]
listen_special = "${folder}"
writable = true
`,
      fine: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = "/bin/sleep 1000"
[[socket]]
listen_special = "/dev/random"
`,
      "other-fine": `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = "/bin/sleep 1000"
`,
    });
    await m.waitForState("other-fine", "active");
    await m.waitForState("fine", "active");
    const fifoUnit = await m.unit("fifo-special");
    expect(fifoUnit).toMatchObject({ active: "failed", result: "resources" });
    expect(fifoUnit.sockets[0]).toMatchObject({
      state: "failed",
      error: `${fifo} (Special): ${fifo} is a FIFO: listen_special takes a character device or a regular file of /proc or /sys`,
    });
    await m.waitForOutput(new RegExp(`fifo-special: cannot listen: ${fifo.replaceAll(".", "\\.")} \\(Special\\): .* is a FIFO`));
    // The writer still waits in open(): the first reader, this one, gets its line (were
    // hearth's open the first, the writer would have met no reader at its write, and cat
    // would wait for a writer that never comes: killed at the timeout, with nothing read).
    const reader = Bun.spawnSync(["cat", fifo], { timeout: 10_000 });
    expect(reader.stdout.toString()).toBe("hi\n");
    expect(await writer.exited).toBe(0);
    const dirUnit = await m.unit("dir-special");
    expect(dirUnit.active).toBe("failed");
    expect(dirUnit.sockets[0].error).toBe(`${folder} (Special): ${folder} is a directory: listen_special takes a character device or a regular file of /proc or /sys`);
    expect((await m.ctl("status", "dir-special")).stdout).toContain(`Listen: ${folder} (Special) failed: ${folder} (Special): ${folder} is a directory`);
  });
});

describe("daemon-reexec", () => {
  test("netlink sockets and special files are kept: the same socket, the same open file (its offset too)", async () => {
    const m = await session.start({
      keeper: `
[service]
exec_start = ["/bin/sh", "-c", "echo \\"fd3 $(readlink /proc/self/fd/3) $(grep ^pos /proc/self/fdinfo/4)\\"; cat <&4 >/dev/null; exec sleep 1000"]

[[socket]]
listen_netlink = "kobject-uevent 1"

[[socket]]
listen_special = "/proc/sys/kernel/hostname"
`,
    });
    // Started at once by the readable /proc file; it reads that file to its end.
    const first = await until("the first start's line", async () => /fd3 (socket:\[\d+\]) pos:\s+0/.exec(await logs("keeper")));
    expect((await m.ctl("daemon-reexec")).code).toBe(0);
    await m.waitForOutput(/Re-executed: \d+ units taken over/);
    expect((await m.ctl("stop", "keeper")).code).toBe(0); // its sockets are watched again: started again at once
    const second = await until("the second start's line", async () => /fd3 (socket:\[\d+\]) pos:\s+([1-9]\d*)/.exec(await logs("keeper")));
    expect(second[1]).toBe(first[1]!); // the same netlink socket
    expect(Number(second[2])).toBeGreaterThan(0); // the same open file, read to its end before the re-exec
  });
});

describe("hearth check", () => {
  test("an unknown netlink family is an error at its file and line", () => {
    const dir = session.scratch("check");
    mkdirSync(join(dir, "units"));
    writeFileSync(join(dir, "units/udevd.toml"), [
      "[service]", 'exec_start = "/bin/true"', "", "[[socket]]", 'listen_netlink = "uevent 1"', "",
      "[[socket]]", 'listen_special = "/dev/rfkill"', "accept = true",
    ].join("\n"));
    const run = Bun.spawnSync([...hearthCommand(), "check", "-c", dir], { stdout: "pipe", stderr: "pipe" });
    const text = run.stdout.toString() + run.stderr.toString();
    expect(run.exitCode).not.toBe(0);
    expect(text).toContain('units/udevd.toml:5:18: error: socket[0].listen_netlink: unknown netlink family "uevent" (route, firewall, inet-diag');
    expect(text).toContain("units/udevd.toml:9:10: error: socket[1].accept: accept = true works with stream and sequential packet sockets only");
    expect(existsSync(join(dir, "units/udevd.toml"))).toBe(true);
  });
});
