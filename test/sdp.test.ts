/**
 * The SDP edits a negotiation makes, on SDP text as the stacks write it (CRLF line ends,
 * several media sections, candidates of every type).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isRelayCandidate, setupRole, withAnswerSetup, withoutNonRelayCandidates } from "../src/webrtc/sdp.js";

const HOST = "a=candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host";
const SRFLX = "a=candidate:2 1 udp 1694498815 198.51.100.7 50001 typ srflx raddr 192.0.2.10 rport 50000";
const RELAY = "a=candidate:3 1 udp 16777215 203.0.113.5 3478 typ relay raddr 198.51.100.7 rport 50001";
const RELAY_AT_END = "a=candidate:4 1 udp 16777214 203.0.113.5 3479 typ relay";

function sdp(lines: string[], eol = "\r\n"): string {
  return lines.join(eol) + eol;
}

const ANSWER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "a=setup:active",
  "a=mid:0",
  HOST,
  SRFLX,
  RELAY,
  RELAY_AT_END,
  "a=sctp-port:5000",
];

describe("SDP edits", () => {
  it("sets the answer's DTLS role, keeping the line ends", () => {
    for (const eol of ["\r\n", "\n"]) {
      const passive = withAnswerSetup(sdp(ANSWER, eol), "passive");
      assert.equal(setupRole(passive), "passive");
      assert.equal(passive, sdp(ANSWER, eol).replace("a=setup:active", "a=setup:passive"));
      assert.equal(withAnswerSetup(passive, "active"), sdp(ANSWER, eol));
    }
  });

  it("leaves an offer's actpass alone: only an answer's role is chosen", () => {
    const offer = sdp(ANSWER.map((line) => (line === "a=setup:active" ? "a=setup:actpass" : line)));
    assert.equal(withAnswerSetup(offer, "passive"), offer);
    assert.equal(setupRole(offer), "actpass");
    assert.equal(setupRole("v=0\r\n"), undefined);
  });

  it("tells relay candidates from the others, in SDP and trickle form", () => {
    assert.deepEqual([HOST, SRFLX, RELAY, RELAY_AT_END].map(isRelayCandidate), [false, false, true, true]);
    assert.equal(isRelayCandidate(RELAY.slice(2)), true, "a trickled candidate has no a= prefix");
    assert.equal(isRelayCandidate("a=candidate:5 1 udp 1 192.0.2.1 9 typ relayed"), false);
  });

  it("drops every candidate line that is not a relay, and nothing else", () => {
    for (const eol of ["\r\n", "\n"]) {
      const relayOnly = withoutNonRelayCandidates(sdp(ANSWER, eol));
      assert.equal(relayOnly, sdp(ANSWER.filter((line) => line !== HOST && line !== SRFLX), eol));
    }
  });
});
