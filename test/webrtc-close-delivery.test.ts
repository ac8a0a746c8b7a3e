/**
 * Accepted means delivered, on close too: updates whose sends were accepted before one side
 * closed all reach the other side, in order, before it learns of the close. Both directions,
 * every backend pair, a few runs each (the stress script `npm run stress:close` runs many).
 * node-datachannel once lost such updates: it discards unacknowledged data when its peer
 * connection closes, and the channel was closed as soon as our CLOSE had left its buffer.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { BackendName } from "../src/webrtc/index.js";
import { backendCases } from "./helpers/backends.js";
import { frontendSendsAndCloses, lossIn, serverSendsAndCloses } from "./helpers/close-scenarios.js";

const RUNS = 3;

const cases = await backendCases();
const available = cases.filter((c) => !c.skip).map((c) => c.backend);
const pairs: Array<[BackendName, BackendName]> = available.flatMap((server) => available.map((frontend) => [server, frontend] as [BackendName, BackendName]));
const skip = cases.find((c) => c.skip)?.skip ?? false;

describe("messages accepted before a close arrive before it", { timeout: 180_000, skip }, () => {
  for (const [server, frontend] of pairs) {
    test(`${server} server, ${frontend} frontend: the server sends, then closes the session`, async () => {
      for (let run = 0; run < RUNS; run++) assert.equal(lossIn(await serverSendsAndCloses(server, frontend)), null, `run ${run}`);
    });
    test(`${server} server, ${frontend} frontend: the frontend sends, then closes`, async () => {
      for (let run = 0; run < RUNS; run++) assert.equal(lossIn(await frontendSendsAndCloses(server, frontend)), null, `run ${run}`);
    });
  }
});
