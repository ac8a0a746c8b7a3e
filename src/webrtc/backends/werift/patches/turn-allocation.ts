/**
 * werift's TURN allocations must not keep a finished process alive.
 *
 * werift (0.24.4) leaks one in two ways:
 * - It refreshes an allocation in a loop that awaits a promise timer of 5/6 of the
 *   allocation's lifetime (500 s for coturn's default 600 s). Closing the peer connection
 *   ends the loop only after that timer fires: a process that used a relay stays alive for
 *   up to eight minutes after its last connection closed.
 * - When the allocation itself fails (the relay refuses the credential, e.g. an expired
 *   short-lived one), the UDP socket opened for it is never closed, and the process never
 *   exits.
 * This replaces the refresh loop of every allocation with the same refresh on a timer that
 * does not hold the process (the allocation's socket does, while it is open) and that
 * closing the allocation clears, and it closes the socket of an allocation that failed.
 *
 * werift makes an allocation and starts it in one step while gathering, so there is no peer
 * connection to hook: the first `apply` installs this on werift's `TurnProtocol` for the
 * whole process. When werift's shape differs, this does nothing.
 */
import * as werift from "werift";
import type { TurnProtocol } from "werift";
import { hasMethod, isClass, missingMembers, type WeriftPatch } from "./patch.js";

/** STUN method and class of a TURN Refresh request (RFC 8656). */
const REFRESH = 4;
const REQUEST = 0;

/** What this touches of a TurnProtocol instance; private in werift's types, checked where used. */
interface TurnInternals {
  server: TurnProtocol["server"];
  transport: TurnProtocol["transport"];
  refresh?: unknown;
  refreshHandle?: { resolve?: () => void };
  requestWithRetry(request: werift.Message, addr: TurnProtocol["server"]): Promise<[werift.Message, unknown]>;
}

let installed = false;

export const turnAllocationPatch: WeriftPatch = {
  name: "turn-allocation",
  missing: () => [
    ...missingMembers("werift", { TurnProtocol: isClass(werift.TurnProtocol), Message: isClass(werift.Message) }),
    ...missingMembers("TurnProtocol", {
      connectionMade: hasMethod(werift.TurnProtocol.prototype, "connectionMade"),
      requestWithRetry: hasMethod(werift.TurnProtocol.prototype, "requestWithRetry"),
    }),
  ],
  apply() {
    if (installed) return;
    installed = true;
    const prototype = werift.TurnProtocol.prototype;
    const connectionMade = prototype.connectionMade;
    prototype.connectionMade = async function (this: TurnProtocol) {
      const turn = this as unknown as TurnInternals;
      // `refresh` is an instance field the constructor set: replace it before it runs.
      if (typeof turn.refresh === "function") turn.refresh = (lifetime: number) => refreshQuietly(turn, lifetime);
      try {
        return await connectionMade.call(this);
      } catch (error) {
        // werift drops a failed allocation without closing its socket.
        await Promise.resolve(turn.transport?.close()).catch(() => {});
        throw error;
      }
    };
  },
};

/** werift's refresh, on an unref'd timer that closing the allocation clears. */
function refreshQuietly(turn: TurnInternals, lifetimeSeconds: number): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (seconds: number) => {
    if (stopped) return;
    timer = setTimeout(() => void renew(seconds), (5 / 6) * seconds * 1000);
    timer.unref();
  };
  const renew = async (seconds: number) => {
    const request = new werift.Message(REFRESH, REQUEST);
    request.setAttribute("LIFETIME", seconds);
    try {
      const [response] = await turn.requestWithRetry(request, turn.server);
      const granted: unknown = response.getAttributeValue("LIFETIME");
      schedule(typeof granted === "number" && granted > 0 ? granted : seconds);
    } catch {
      // No answer: try again after the same interval, as werift does.
      schedule(seconds);
    }
  };
  // werift's close() calls refreshHandle.resolve() to stop its loop.
  turn.refreshHandle = {
    resolve: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
  schedule(lifetimeSeconds);
}
