/**
 * The tuning of a FramedChannel: what each option means, its default, and the checks an
 * option must pass before a channel uses it.
 */
import { DEFAULT_MAX_FRAME_SIZE } from "../../core/constants.js";
import { HEADER_SIZE } from "./framing.js";

/** Tuning of a FramedChannel; every field is optional. */
export interface FramedChannelOptions {
  /** Largest frame sent or accepted, in bytes. Default 256 MiB. */
  maxFrameSize?: number;
  /** Largest data-channel message we send (header included), further capped by the peer's limit. Default 64 KiB. */
  maxFragmentSize?: number;
  /** `write` pauses while the channel buffers more than this many bytes. Default 1 MiB. */
  highWaterMark?: number;
  /** ...and resumes once the buffer has drained to this level. Default 256 KiB. */
  lowWaterMark?: number;
  /** How often a heartbeat is sent; 0 sends none. Default 2000 ms. */
  heartbeatIntervalMs?: number;
  /** Close when nothing at all has arrived for this long; 0 never does. Default 8000 ms, so a vanished peer is noticed within 10 s even when the watchdog fires late. */
  heartbeatTimeoutMs?: number;
  /** A write fails (and the channel closes) when the buffer makes no progress for this long. Default 30000 ms. */
  writeTimeoutMs?: number;
  /**
   * How long closing may take at each step: letting already-accepted writes finish, and
   * waiting for the peer's CLOSE_ACK or for the peer to close the channel after our
   * CLOSE_ACK. Those two waits also end once the peer has been silent for a heartbeat
   * interval plus a second (a live peer sends at least a heartbeat that often), so a
   * vanished peer holds a close up for 3 s by default, not 5. Default 5000 ms.
   */
  closeTimeoutMs?: number;
}

const DEFAULTS: Required<FramedChannelOptions> = {
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxFragmentSize: 64 * 1024,
  highWaterMark: 1024 * 1024,
  lowWaterMark: 256 * 1024,
  heartbeatIntervalMs: 2000,
  heartbeatTimeoutMs: 8000,
  writeTimeoutMs: 30000,
  closeTimeoutMs: 5000,
};

/** The options with every default filled in; throws a RangeError naming an option that is out of range. */
export function resolveOptions(options: FramedChannelOptions): Required<FramedChannelOptions> {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof FramedChannelOptions>) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
      throw new RangeError(`FramedChannel option ${key} must be a finite number >= 0, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  if (resolved.maxFragmentSize <= HEADER_SIZE) {
    throw new RangeError(`maxFragmentSize must exceed the ${HEADER_SIZE}-byte header`);
  }
  if (resolved.lowWaterMark > resolved.highWaterMark) {
    throw new RangeError("lowWaterMark must not exceed highWaterMark");
  }
  return resolved;
}
