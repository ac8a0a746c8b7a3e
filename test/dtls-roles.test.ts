/**
 * Offers that strict peers accept: every backend's offer says `a=setup:actpass` (RFC 5763;
 * aiortc, for one, refuses anything else), and the answer takes the DTLS role that the
 * offering backend asks for in the bootstrap (`answerSetup`): werift wants the frontend to
 * be the DTLS server (`passive`), node-datachannel to be the client (`active`). A
 * node-datachannel answerer always answers `active` (it writes its own answer).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectBackendPairAlone } from "./helpers/backend-pair.js";
import { backendCases } from "./helpers/backends.js";

const cases = await backendCases();
const available = cases.filter((c) => !c.skip).map((c) => c.backend);

describe("DTLS roles in offers and answers", { timeout: 60_000 }, () => {
  for (const offerer of available) {
    for (const answerer of available) {
      it(`${offerer} offers actpass; a ${answerer} answer takes the role it asks for`, async (t) => {
        const pair = await connectBackendPairAlone(t, offerer, answerer);
        assert.match(pair.offerSdp, /^a=setup:actpass\r?$/m);
        assert.doesNotMatch(pair.offerSdp, /^a=setup:(active|passive)/m);
        const expected = answerer === "node-datachannel" ? "active" : pair.offerer.backend.answerSetup;
        assert.match(pair.answerSdp, new RegExp(`^a=setup:${expected}\\r?$`, "m"));
        t.diagnostic(`setup ${pair.setupMs.toFixed(0)} ms`);
      });
    }
  }
});
