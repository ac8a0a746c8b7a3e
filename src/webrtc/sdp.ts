/**
 * The few edits negotiation makes to SDP text: the DTLS role of an answer, and relay-only
 * candidate lists. Line-based, as SDP is (RFC 8866), and shared by every peer.
 */

/**
 * The answer with its DTLS role set to `role` (`a=setup:active` makes the answerer the DTLS
 * client, `passive` the server). RFC 8842 lets the answerer to an `actpass` offer pick
 * either; our offers always say `actpass` (RFC 5763: strict peers such as aiortc refuse
 * anything else) and the offering stack names the role it needs:
 *
 * - werift wants a `passive` answerer. werift creates its DTLS endpoint only after its own
 *   ICE check succeeded and drops DTLS packets that arrive before that (our
 *   dtls-early-datagrams patch keeps them, when it applies), so as DTLS server it can lose
 *   the client's first flight (sent the moment the client's ICE connects) and then waits
 *   for the client's retransmit timer. As DTLS client on the offering
 *   (ICE-controlling) side it learns that ICE connected after the answerer did, so a
 *   `passive` answerer is already listening, and werift's own 100 ms wait before its first
 *   flight is skipped (backends/werift/patches/dtls-early-start.ts). Measured on loopback,
 *   werift offerer and Chromium answerer, ICE connected → DTLS connected: cold processes
 *   0.33–0.57 s with `active` (werift's log shows a resent ClientHello) and 0.24–0.48 s with
 *   `passive`; werift ↔ werift setup went from ~175 to ~60–80 ms once the wait was skipped.
 * - node-datachannel wants an `active` answerer (see its backend.ts): as DTLS client it
 *   would send its first flight the moment its ICE connects, which a werift answerer drops.
 */
export function withAnswerSetup(sdp: string, role: "active" | "passive"): string {
  return sdp.replace(/^a=setup:(active|passive)(\r?)$/gm, `a=setup:${role}$2`);
}

/** The first `a=setup:` value of an SDP, if any. */
export function setupRole(sdp: string): string | undefined {
  return /^a=setup:(\w+)/m.exec(sdp)?.[1];
}

/** Whether an ICE candidate line (`candidate:...` or `a=candidate:...`) is a relay candidate. */
export function isRelayCandidate(candidate: string): boolean {
  return / typ relay( |$)/.test(candidate);
}

/** `sdp` without the candidate lines a stack embedded that are not relay candidates. */
export function withoutNonRelayCandidates(sdp: string): string {
  return sdp.replace(/^a=candidate:[^\r\n]*\r?\n/gm, (line) => (isRelayCandidate(line.trimEnd()) ? line : ""));
}
