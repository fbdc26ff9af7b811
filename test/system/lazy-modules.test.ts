// What PID 1 holds in memory: the code of a feature no unit uses is never loaded. The
// feature modules are read by require() on first use (each a chunk of its own in the
// executable); a static import of one from the start path would load it, and its code
// and tables, into every board. Checked in a fresh Bun process that loads the two manager
// roles (hearth run, PID 1) as the executable does, and lists the modules it then holds.

import { expect, test } from "bun:test";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** Loaded only when a unit (or a control verb) needs them. */
const LAZY = [
  "src/exec/seccomp.ts", "ffi/seccomp.ts", "src/exec/syscall-groups.ts", "src/exec/mount-plan.ts",
  "src/exec/cgroup-bpf.ts", "src/exec/bpf-devices.ts", "src/exec/bpf-firewall.ts", "src/exec/bpf-socket-bind.ts", "src/exec/ebpf.ts", "ffi/bpf.ts",
  "src/exec/ipc-cleanup.ts", "ffi/ipc.ts",
  "src/dbus/watcher.ts", "src/dbus/protocol.ts", "src/dbus/message.ts",
  "src/devices/watcher.ts", "src/devices/registry.ts", "src/devices/uevent.ts", "ffi/netlink.ts",
  "src/timers/calendar.ts", "src/timers/path-watch.ts",
  "src/control/security.ts", "src/control/unit-files.ts",
  "src/engine/reload.ts", "src/engine/serialize.ts", "src/manager/reexec.ts",
  "src/import/importer.ts",
];

test("the manager's code loads no sandbox, remove_ipc, D-Bus, device, netlink, calendar, path-watch, reload, re-exec or verb-only module", async () => {
  const script = `
    await import(${JSON.stringify(join(ROOT, "src/cli/run.ts"))});
    await import(${JSON.stringify(join(ROOT, "src/cli/system.ts"))});
    console.log(JSON.stringify(Object.keys(require.cache)));`;
  const p = Bun.spawnSync([process.execPath, "--eval", script], { cwd: ROOT, stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  const loaded: string[] = JSON.parse(p.stdout.toString());
  expect(loaded).toContain(join(ROOT, "src/manager/manager.ts")); // the check sees what it should
  expect(LAZY.map((f) => join(ROOT, f)).filter((f) => loaded.includes(f))).toEqual([]);
});
