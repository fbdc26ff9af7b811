// Sandboxing on both QEMU boards, with hearth as PID 1, seen from inside the confined
// processes: what test/integration/sandbox-*.test.ts checks on the host, but with the
// board's kernel and, on aarch64, arm64's syscall numbers and audit arch in the seccomp
// filters. The image carries the probe and the confined units (board/image/sandbox-extras.ts),
// not started by default: `hearth.wants=sandbox-report` starts them and prints their logs
// on the console. Each board boots once (one after the other: two TCG guests at once
// starve a shared machine).

import { beforeAll, describe, expect, test } from "bun:test";
import { boot, imagesMissing, type BootRun } from "./qemu.ts";

const BOARDS = ["qemu-aarch64", "qemu-x86_64"] as const;
const BOOT_TIMEOUT_MS = 300_000;

/** What a confined unit printed for a label: the rest of its "PREFIX LABEL: ..." line. */
function answer(run: BootRun, prefix: string, label: string): string {
  const m = new RegExp(`${prefix} ${label}:[ \\t]*(.*)$`, "m").exec(run.console);
  if (!m) throw new Error(`no "${prefix} ${label}:" on the console:\n${run.console.slice(-6000)}`);
  return m[1]!.trim();
}

for (const board of BOARDS) {
  // Debian's chrony is in the aarch64 image only (board/image/sandbox-extras.ts).
  const withChrony = board === "qemu-aarch64";
  describe(board, () => {
    let run: BootRun;
    beforeAll(async () => {
      const missing = imagesMissing(board);
      if (missing) throw new Error(missing);
      run = await boot(board, {
        append: withChrony ? "hearth.wants=sandbox-report hearth.wants=sandbox-chrony" : "hearth.wants=sandbox-report",
        stopWhen: withChrony ? /(sandbox-report: done[\s\S]*sandbox-chrony: done)|(sandbox-chrony: done[\s\S]*sandbox-report: done)/ : /sandbox-report: done/,
        timeoutMs: BOOT_TIMEOUT_MS,
      });
    }, BOOT_TIMEOUT_MS + 30_000);

    test("the confined units ran and reported", () => {
      if (!run.stopped) console.error(`QEMU exit ${run.exitCode}, timed out: ${run.timedOut}, after ${Math.round(run.ms)} ms; the console ends:\n${run.console.slice(-8000)}`);
      expect(run.timedOut).toBe(false);
      expect(run.stopped).toBe(true);
      expect(run.console).not.toMatch(/Failed to start sandbox-/);
    });

    test("seccomp: each forbidden call fails with systemd's errno, the rest work", () => {
      const seen = (label: string) => answer(run, "sbx-seccomp", label);
      expect(seen("Seccomp")).toBe("2");
      expect(seen("socket-packet")).toBe("EAFNOSUPPORT");
      expect(seen("socket-inet")).toBe("ok");
      expect(seen("mmap-wx")).toBe("EPERM");
      expect(seen("mprotect-x")).toBe("EPERM");
      expect(seen("personality")).toBe("EPERM");
      expect(seen("unshare-user")).toBe("EPERM");
      expect(seen("clock-settime")).toBe("EPERM"); // unfiltered: EINVAL (CLOCK_MONOTONIC cannot be set)
      expect(seen("sethostname")).toBe("EPERM");
      expect(seen("swapon")).toBe("EROFS"); // system_call_filter ~@swap with system_call_error_number
      expect(seen("getpid")).toBe("ok");
    });

    test("system_call_filter allow list: a call outside it kills the process by SIGSYS", () => {
      expect(answer(run, "sbx-kill", "getpid")).toBe("ok");
      expect(run.console).not.toMatch(/sbx-kill swapon:/); // killed before it could print
      expect(answer(run, "sbx-kill", "status")).toBe("159"); // the shell's 128 + SIGSYS (31 on both)
    });

    test("without the directives the same calls work there (the probe tells the two apart)", () => {
      const seen = (label: string) => answer(run, "sbx-unconfined", label);
      expect(seen("Seccomp")).toBe("0");
      for (const label of ["socket-packet", "mmap-wx", "personality"]) expect(seen(label)).toBe("ok");
      expect(seen("clock-settime")).toBe("EINVAL");
      expect(seen("swapon")).toBe("ENOENT");
    });

    test("mounts: /usr read-only, /home hidden, /dev without real devices, kernel tunables read-only", () => {
      const seen = (label: string) => answer(run, "sbx-mounts", label);
      expect(seen("usr")).toContain("Read-only file system");
      expect(seen("home")).toBe("0"); // the image has /home/sandbox/secret
      const dev = seen("dev").split(" ");
      for (const node of ["null", "zero", "urandom", "tty"]) expect(dev).toContain(node);
      for (const real of ["console", "kmsg", "mem", "vda", "watchdog0", "ttyAMA0", "ttyS0"]) expect(dev).not.toContain(real);
      expect(seen("sysctl")).toContain("Read-only file system");
    });

    test.skipIf(!withChrony)("Debian's chronyd under its own chrony.service (imported unchanged): active, confined, answering chronyc", () => {
      const seen = (label: string) => answer(run, "sbx-chrony", label);
      expect(seen("state")).toBe("0"); // hearth ctl status: active
      expect(seen("pid")).toMatch(/^\d+ chronyd$/);
      expect(seen("Seccomp")).toBe("2");
      // chronyd loads one filter of its own (DAEMON_OPTS="-F 1"): the others are hearth's, from the unit.
      expect(Number(seen("Seccomp_filters"))).toBeGreaterThan(1);
      expect(seen("Uid").split(/\s+/)[0]).toBe("101"); // dropped to _chrony itself (ExecStart=! runs it as root)
      const [own, init] = seen("mnt").split(" ");
      expect(own).toMatch(/^mnt:\[\d+\]$/);
      expect(own).not.toBe(init); // ProtectSystem=strict and the rest: a mount namespace of its own
      // chronyc over chronyd's socket in /run/chrony (no sources: not synchronised, but answering).
      expect(run.console).toMatch(/^sbx-chrony tracking Reference ID\s+: [0-9A-F]{8}/m);
      expect(run.console).toMatch(/^sbx-chrony tracking Leap status\s+: \S/m);
      expect(run.console).not.toMatch(/chrony.*(SIGSYS|Bad system call)/);
    });
  });
}
