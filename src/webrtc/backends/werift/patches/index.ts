/**
 * Every workaround for werift, behind one call: `applyWeriftPatches(pc)`, made once per
 * peer connection by the werift backend, right after creating it.
 *
 * Each patch is typed against werift's own exported types, so that `tsc` fails when a
 * werift upgrade renames or removes what a patch touches. At run time the loaded werift
 * may still differ from the one this was compiled against (a lockfile override, a
 * deduplicated install), so:
 * - the patches name the werift versions they were tested with; when another one is
 *   loaded, one warning goes to the logger (once per process);
 * - each patch checks, before its first use, that werift still has what it relies on,
 *   and is skipped (and named in that warning) when it does not;
 * - `BONITO_WERIFT_PATCHES=0` turns them all off, e.g. to check whether a problem
 *   comes from a patch or from werift itself.
 */
import type { RTCPeerConnection } from "werift";
import type { Logger } from "../../../../core/logger.js";
import { dtlsEarlyDatagramsPatch } from "./dtls-early-datagrams.js";
import { dtlsEarlyStartPatch } from "./dtls-early-start.js";
import { dtlsRecordSequencePatch } from "./dtls-record-sequence.js";
import type { WeriftPatch } from "./patch.js";
import { udpBuffersPatch } from "./udp-buffers.js";
import { noDefaultStunPatch } from "./no-default-stun.js";
import { turnAllocationPatch } from "./turn-allocation.js";
import { iceConsentPatch } from "./ice-consent.js";
import { loadedWeriftVersion, TESTED_WERIFT_VERSIONS } from "./version.js";

export type { WeriftPatch } from "./patch.js";

/** The environment variable that turns every werift patch off when it is `0` or `false`. */
export const WERIFT_PATCHES_ENV = "BONITO_WERIFT_PATCHES";

/** Every patch, in the order they are applied. */
export const WERIFT_PATCHES: readonly WeriftPatch[] = [
  dtlsRecordSequencePatch,
  udpBuffersPatch,
  dtlsEarlyDatagramsPatch,
  dtlsEarlyStartPatch,
  noDefaultStunPatch,
  turnAllocationPatch,
  iceConsentPatch,
];

/** Whether `env` turns the patches off. */
export function weriftPatchesDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[WERIFT_PATCHES_ENV]?.trim().toLowerCase();
  return value === "0" || value === "false";
}

/** What a patch set needs to know about the werift it patches. */
export interface WeriftPatchSetOptions {
  /** The versions the patches were tested with. */
  tested: readonly string[];
  /** The loaded werift's version (undefined: unknown, treated as untested). */
  loadedVersion: () => string | undefined;
}

/**
 * A list of patches with the state they keep per process: which of them werift still
 * supports (decided at the first use) and whether the untested-version warning was given.
 */
export class WeriftPatchSet {
  private usable: readonly WeriftPatch[] | undefined;
  private warned = false;

  constructor(
    private readonly patches: readonly WeriftPatch[],
    private readonly options: WeriftPatchSetOptions,
  ) {}

  /**
   * Applies every usable patch to `pc` and returns their names (none when the patches are
   * turned off). The first call with an untested werift warns through `logger`.
   */
  apply(pc: RTCPeerConnection, logger: Logger, env: NodeJS.ProcessEnv = process.env): string[] {
    if (weriftPatchesDisabled(env)) return [];
    const usable = this.decideOnce(logger);
    const applied: string[] = [];
    for (const patch of usable) {
      try {
        patch.apply(pc);
        applied.push(patch.name);
      } catch {
        // A patch must not throw; if one does, the connection runs on werift's own behaviour.
      }
    }
    return applied;
  }

  private decideOnce(logger: Logger): readonly WeriftPatch[] {
    if (this.usable) return this.usable;
    const skipped: string[] = [];
    const usable: WeriftPatch[] = [];
    for (const patch of this.patches) {
      const missing = missingOf(patch);
      if (missing.length === 0) usable.push(patch);
      else skipped.push(`${patch.name} (werift lacks ${missing.join(", ")})`);
    }
    this.usable = usable;
    const version = this.options.loadedVersion();
    const tested = version !== undefined && this.options.tested.includes(version);
    if ((!tested || skipped.length > 0) && !this.warned) {
      this.warned = true;
      logger.warn(untestedWeriftMessage(version, this.options.tested, usable.map((p) => p.name), skipped));
    }
    return usable;
  }
}

/** The warning for a werift the patches were not tested with (or that lacks what some need). */
export function untestedWeriftMessage(version: string | undefined, tested: readonly string[], applied: string[], skipped: string[]): string {
  const loaded = version === undefined ? "a werift of unknown version" : `werift ${version}`;
  return (
    `bonito: ${loaded} is loaded; bonito-webrtc's werift workarounds were tested with ${tested.join(", ")}. ` +
    `Applying ${applied.length > 0 ? applied.join(", ") : "none"}` +
    (skipped.length > 0 ? `; skipping ${skipped.join("; ")}` : "") +
    `. Set ${WERIFT_PATCHES_ENV}=0 to apply none.`
  );
}

function missingOf(patch: WeriftPatch): string[] {
  try {
    return patch.missing();
  } catch (error) {
    return [`(check failed: ${(error as Error).message})`];
  }
}

const processPatches = new WeriftPatchSet(WERIFT_PATCHES, { tested: TESTED_WERIFT_VERSIONS, loadedVersion: loadedWeriftVersion });

/**
 * Applies every werift workaround to `pc`; call it once, right after creating the peer
 * connection. Returns the names of the patches applied. Warns once per process (through
 * `logger`, default `console`) when the loaded werift is not one the patches were tested
 * with; `BONITO_WERIFT_PATCHES=0` applies none.
 */
export function applyWeriftPatches(pc: RTCPeerConnection, options: { logger?: Logger } = {}): string[] {
  return processPatches.apply(pc, options.logger ?? console);
}
