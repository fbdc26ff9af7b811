// The prebuilt native helpers (`make native` builds them from ffi/native.c with
// ffi/build-native.ts). `bun build --compile` embeds both files in the executable
// (their paths are then under /$bunfs); from the sources they are the files in build/,
// and a missing one fails the import ("Cannot find module .../native-x64.so": run
// `make native`; the test preload says so before any test runs). A static import: a
// require() here, which could catch that, cost ~100 ms at start under qemu-aarch64.

import x64 from "../build/native/native-x64.so" with { type: "file" };
import arm64 from "../build/native/native-arm64.so" with { type: "file" };

export const NATIVE_LIBRARIES = { x64, arm64 };
