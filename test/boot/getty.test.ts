// A login prompt on the aarch64 board's serial console, from Debian's own
// serial-getty@.service (imported at build time, board/image/getty.ts): the getty target
// wants serial-getty@ttyAMA0, agetty prints "hearth-demo login: " on ttyAMA0, which is
// also the kernel's and hearth's console. The test logs in (BusyBox's login, a password
// laid over the image: the example itself has none) and asks hearthctl about the getty.

import { expect, test } from "bun:test";
import { boot, imagesMissing } from "./qemu.ts";

// openssl passwd -6 -salt hearthboard hearth
const SHADOW = "root:$6$hearthboard$0yMAJYqp3dABzPegRNfasVDLsATqjsh1nYClDK1d7u6nHeupQPw4h7MtCuFI1oQVG52O9azFSsj79WiiP3rGU1:20000:0:99999:7:::\n";

test("serial-getty@ttyAMA0 gives a login prompt on the console, and a login reaches a shell", async () => {
  const missing = imagesMissing("qemu-aarch64");
  if (missing) throw new Error(missing);
  const r = await boot("qemu-aarch64", {
    append: "hearth.log_level=info hearth.wants=getty",
    overlay: [{ name: "etc/shadow", mode: 0o100600, data: Buffer.from(SHADOW) }],
    interact: [
      { when: /Startup finished in/ },
      { when: /hearth-demo login: /, send: "root\n" },
      { when: /Password: /, send: "hearth\n" },
      // The answer is found after a line the shell computes: the echo of the typed command
      // is no landmark, console lines may cut into it.
      { when: /^[~/]\S* # /m, send: "echo asked-$((6*7)); hearthctl status serial-getty@ttyAMA0 getty; echo term-$TERM status-$((6*7))\n" },
      { when: /^term-\S* status-42\r?$/m, send: "poweroff\n" },
    ],
    timeoutMs: 240_000,
  });
  const text = r.console;
  if (r.timedOut || r.exitCode !== 0 || r.stepsTaken < 5) console.error(text.slice(-6000));
  const started = text.indexOf("Startup finished in");
  expect(started).toBeGreaterThan(0);
  expect(text.indexOf("hearth-demo login: ", started)).toBeGreaterThan(started);
  expect(r.stepsTaken).toBe(5);
  // systemd's unit, imported: agetty on the board's console, bound to its device unit.
  const status = text.slice(text.search(/^asked-42\r?$/m));
  expect(status).toMatch(/serial-getty@ttyAMA0 - Serial Getty on ttyAMA0[\s\S]*Active: active \(running\)/);
  expect(status).toMatch(/getty - Login Prompts[\s\S]*Active: active/);
  // agetty's "$TERM" argument was systemd's vt220 (agetty's own default on a serial line
  // is vt102), and login -p kept it for the shell.
  expect(text).toMatch(/^term-vt220 status-42\r?$/m);
  expect(text).toContain("Powering off.");
  expect(r.timedOut).toBe(false);
  expect(r.exitCode).toBe(0);
}, 260_000);
