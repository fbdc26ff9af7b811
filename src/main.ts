#!/usr/bin/env bun
// hearth: one executable, its role chosen by how it is started (DESIGN §1).
performance.mark("hearth:runtime-ready"); // the start-up phase "runtime ready" (src/boot/phase-marks.ts)
// Most of a start runs once: loading modules and the configuration, setting the manager
// up, spawning the first units. JavaScriptCore's JIT would compile much of it without ever
// repaying that, and under QEMU's TCG (the boot race's board) compiling and translating
// cost more than running it in the interpreter. So the tier-up thresholds are scaled by
// 100 until the manager has started its units (src/cli/run.ts, system.ts set 1 again).
Bun.unsafe.setJITPolicy(100);
import pkg from "../package.json" with { type: "json" };

const HELP = `hearth ${pkg.version} — an init system and service manager for embedded Linux boards

usage:
  hearth run [-c CONFDIR] [-r RUNDIR] [--target T]   the manager in the foreground (subreaper)
  hearth check [-c CONFDIR]                          validate the configuration
  hearth ctl [-r RUNDIR] VERB ...                    talk to a running manager (also as 'hearthctl')
  hearth install --root DIR [--binary PATH]          make hearth the init of a root file system
  hearth import [--to CONFDIR] UNIT.service ...      convert systemd units to hearth units
  hearth --version | --help

As PID 1 (or started as 'init') hearth is the system manager.`;

async function main(argv: string[]): Promise<number> {
  const invokedAs = (process.argv0 || "").split("/").pop(); // not node:path: --version loads nothing
  if (process.pid === 1 || invokedAs === "init") return (await import("./cli/system.ts")).systemMain(argv);
  if (invokedAs === "hearthctl") return (await import("./cli/ctl.ts")).ctlMain(argv);
  const [verb, ...rest] = argv;
  switch (verb) {
    case "run": return (await import("./cli/run.ts")).runMain(rest);
    case "check": return (await import("./cli/check.ts")).checkMain(rest);
    case "ctl": return (await import("./cli/ctl.ts")).ctlMain(rest);
    case "install": return (await import("./cli/install.ts")).installMain(rest);
    case "import": return (await import("./cli/import.ts")).importMain(rest);
    case "--version": case "-V": console.log(`hearth ${pkg.version}`); return 0;
    case "--help": case "-h": case undefined: console.log(HELP); return verb === undefined ? 2 : 0;
    default:
      console.error(`hearth: unknown verb '${verb}'\n\n${HELP}`);
      return 2;
  }
}

// No top-level await: `bun build --bytecode` needs a CommonJS entry.
main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
