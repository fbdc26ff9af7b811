// The prebuilt native helpers (`make native` builds them from ffi/native.c with
// ffi/build-native.ts). `bun build --compile` embeds both files in the executable
// (their paths are then under /$bunfs); from the sources they are the files in build/.
// Imported only through require() in ffi/native.ts, so that a missing file there is an
// error that says what to do.

import x64 from "../build/native/native-x64.so" with { type: "file" };
import arm64 from "../build/native/native-arm64.so" with { type: "file" };

export const NATIVE_LIBRARIES = { x64, arm64 };
