/**
 * Every default that more than one module (or both sides of a connection) must agree on, in
 * one place. Platform-free: the browser bundles read it too. Module-local tuning constants
 * (poll periods, internal caps) stay next to the code they tune.
 */

const MiB = 1024 * 1024;

/** Path of the signaling endpoint on the host's HTTP server. */
export const DEFAULT_SIGNALING_PATH = "/bonito-signaling";

/** Path prefix of the per-session WebSocket endpoints (`/bonito-ws/<session id>`). */
export const WEBSOCKET_PATH_PREFIX = "/bonito-ws/";

/** Path prefix under which the host serves the page's scripts. */
export const ASSET_PATH_PREFIX = "/bonito/";

/** Largest frame (one Bonito message) accepted or sent, on every connection. */
export const DEFAULT_MAX_FRAME_SIZE = 256 * MiB;

/** How long a WebSocket session survives an abnormal drop while its page reconnects. */
export const DEFAULT_RECONNECT_WINDOW_MS = 30_000;

/** How long a served session waits for its frontend to finish loading before it is closed. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

/**
 * How long a Node frontend waits for its connection to open: room for a WebRTC negotiation
 * that times out (15 s) and the WebSocket fallback after it.
 */
export const DEFAULT_FRONTEND_OPEN_TIMEOUT_MS = 30_000;

/** ICE + DTLS + data channel open must complete within this time. */
export const DEFAULT_NEGOTIATION_TIMEOUT_MS = 15_000;

/**
 * After WebRTC could not connect, how long the server waits for the frontend to come back
 * over the WebSocket fallback before it ends the session.
 */
export const DEFAULT_FALLBACK_WAIT_MS = 10_000;

/** How long joining the signaling room may take (one round trip, bounded on its own). */
export const DEFAULT_SIGNALING_JOIN_TIMEOUT_MS = 10_000;

/** How long a signaling token stays valid when nobody joins. */
export const DEFAULT_TOKEN_TTL_MS = 30_000;

/** A joined signaling room with no message either way for this long is ended. */
export const DEFAULT_SIGNALING_IDLE_TIMEOUT_MS = 30_000;

/** Interval of the frontend runtime's keep-alive pings. */
export const DEFAULT_PING_INTERVAL_MS = 5_000;

// ---- Limits on what a frontend may make the server do (README "Security" lists them all).

/** Most msgpack values (scalars, strings, arrays, maps, keys, extensions) in one frame from a frontend. */
export const DEFAULT_MAX_FRAME_OBJECTS = 1_000_000;

/** Deepest nesting of arrays, maps and extension payloads in one frame from a frontend. */
export const DEFAULT_MAX_FRAME_DEPTH = 64;

/** Most processing time one frame from a frontend may take to inflate and decode. */
export const DEFAULT_MAX_FRAME_DECODE_MS = 10_000;

/** A session whose frames wait to be taken by its transport beyond this is closed: its frontend is not reading. */
export const DEFAULT_MAX_SEND_QUEUE_BYTES = 64 * MiB;

/** Memory all sessions of a server may hold in frames received but not yet processed (unfinished, waiting or being decoded). */
export const DEFAULT_MAX_INBOUND_BYTES = 512 * MiB;

/** Sessions whose frontend has not finished loading yet, in all. */
export const DEFAULT_MAX_PENDING_SESSIONS = 1000;

/** Sessions whose frontend has not finished loading yet, per client address (IPv6: per /64). */
export const DEFAULT_MAX_PENDING_SESSIONS_PER_ADDRESS = 32;
