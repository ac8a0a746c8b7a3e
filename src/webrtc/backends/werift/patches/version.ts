/** Which werift the patches were written and tested against, and which one this process loaded. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The werift versions every patch in this folder was written against and tested with
 * (test/werift-patches.test.ts). Add a version here only after that file passes with it.
 */
export const TESTED_WERIFT_VERSIONS: readonly string[] = ["0.24.4"];

let loaded: { version: string | undefined } | undefined;

/**
 * The version of the werift this process loads (from its package.json), or undefined if
 * it cannot be read. werift's `exports` map does not expose its package.json, so it is
 * found by walking up from the file `require.resolve("werift")` names. Read once.
 */
export function loadedWeriftVersion(): string | undefined {
  loaded ??= { version: readWeriftVersion() };
  return loaded.version;
}

function readWeriftVersion(): string | undefined {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve("werift"));
    for (;;) {
      const manifest = readManifest(join(dir, "package.json"));
      if (manifest?.name === "werift") return typeof manifest.version === "string" ? manifest.version : undefined;
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  } catch {
    return undefined;
  }
}

function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}
