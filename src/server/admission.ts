/**
 * Caps on pending sessions: sessions created for a page load or a bootstrap whose frontend
 * has not finished loading yet. Each runs the app and holds memory until its frontend
 * connects or its connect timeout ends it, so without a cap anyone can create them faster
 * than they expire. Counted in all and per client address; an IPv6 client counts per /64
 * (one subscriber usually holds a whole /64, and could otherwise pick a fresh address per
 * request). A request over either cap is refused with 503.
 */
import type { IncomingMessage } from "node:http";
import { isIP, isIPv4, isIPv6 } from "node:net";

/** A claimed slot; release it once the session has loaded or ended (idempotent). */
export type Release = () => void;

export class PendingSessions {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly maxPending: number,
    private readonly maxPendingPerAddress: number,
  ) {}

  /**
   * Claims a slot for a session requested from `address`. Returns its release, or why the
   * request is refused (naming the limit).
   */
  admit(address: string | undefined): { release: Release } | { refused: string } {
    const key = addressKey(address ?? "");
    const mine = this.byAddress.get(key) ?? 0;
    if (mine >= this.maxPendingPerAddress) {
      return { refused: `${mine} sessions from this address have not finished loading (limit maxPendingSessionsPerAddress ${this.maxPendingPerAddress})` };
    }
    if (this.total >= this.maxPending) {
      return { refused: `${this.total} sessions have not finished loading (limit maxPendingSessions ${this.maxPending})` };
    }
    this.total++;
    this.byAddress.set(key, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.byAddress.get(key) ?? 1) - 1;
        if (left > 0) this.byAddress.set(key, left);
        else this.byAddress.delete(key);
      },
    };
  }
}

/**
 * The address of the client that sent `request`: the socket's peer, or, behind a trusted
 * proxy, the last address the proxy appended to `X-Forwarded-For` (the one it saw; earlier
 * entries are the client's own word).
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const header = request.headers["x-forwarded-for"];
    const last = (Array.isArray(header) ? header.join(",") : header)?.split(",").at(-1)?.trim();
    if (last && isIP(last)) return last;
  }
  return request.socket.remoteAddress;
}

/** What clients are counted by: the IPv4 address, or the /64 prefix of an IPv6 address. */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1]!;
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  return `${expandIPv6(plain).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  // An IPv4 tail (::1.2.3.4) is two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const zeros = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
