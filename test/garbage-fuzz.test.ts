/**
 * Garbage at the parsers a frontend reaches first, without a network in between: the
 * data-channel Reassembler, BATCH decoding and the signaling message parsers. Each takes
 * random and mutated input and must answer with its own error type (or a valid result that
 * respects its bounds), never another exception, and never hold more than it may.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Reassembler } from "../src/webrtc/channel/reassembler.js";
import { decodeBatch, encodeBatch } from "../src/webrtc/channel/batch.js";
import { FramingError, Kind, encodeClose, encodeHeader, encodeHeartbeat } from "../src/webrtc/channel/header.js";
import { fragmentFrame } from "../src/webrtc/channel/fragmenter.js";
import { parseFrontendMessage, parseServerMessage } from "../src/signaling/schema.js";
import { pick, prng, randomBytes, randomInt, type Random } from "./helpers/hostile-inputs.js";

const MAX_FRAME = 4096;

/** One data-channel message: random bytes, or a plausible one with a random kind and length. */
function randomMessage(random: Random): Uint8Array {
  switch (randomInt(random, 6)) {
    case 0:
      return randomBytes(random, randomInt(random, 40));
    case 1: {
      const message = randomBytes(random, 1 + randomInt(random, MAX_FRAME / 2));
      message[0] = encodeHeader(pick(random, [Kind.DATA_MORE, Kind.DATA_MORE, Kind.DATA_LAST]));
      return message;
    }
    case 2: {
      const frames = Array.from({ length: 1 + randomInt(random, 5) }, () => randomBytes(random, randomInt(random, 300)));
      const batch = encodeBatch(frames);
      // Sometimes cut or corrupt it.
      if (random() < 0.3) return batch.subarray(0, randomInt(random, batch.length));
      if (random() < 0.3) batch[1 + randomInt(random, batch.length - 1)] = randomInt(random, 256);
      return batch;
    }
    case 3:
      return random() < 0.5 ? encodeHeartbeat() : encodeClose("x".repeat(randomInt(random, 50)));
    case 4: {
      const message = randomBytes(random, 1 + randomInt(random, 20));
      // Unknown kinds and versions.
      message[0] = (randomInt(random, 4) << 6) | pick(random, [0, 5, 6, 8, 31, 63]);
      return message;
    }
    default:
      return pick(random, fragmentFrame(randomBytes(random, randomInt(random, MAX_FRAME * 2)), 2 + randomInt(random, 1500)));
  }
}

describe("garbage fuzz: the data-channel framing", () => {
  it("50,000 random messages: the Reassembler throws only FramingError and never holds or returns more than maxFrameSize", () => {
    const random = prng(21);
    let reassembler = new Reassembler(MAX_FRAME);
    let errors = 0;
    let frames = 0;
    for (let round = 0; round < 50_000; round++) {
      const message = randomMessage(random);
      try {
        const event = reassembler.push(message);
        if (event?.kind === "frame") {
          frames++;
          assert.ok(event.frame.length <= MAX_FRAME, `round ${round}: a frame of ${event.frame.length} bytes`);
        } else if (event?.kind === "frames") {
          for (const frame of event.frames) assert.ok(frame.length <= MAX_FRAME, `round ${round}: a batched frame of ${frame.length} bytes`);
          frames += event.frames.length;
        }
      } catch (error) {
        if (!(error instanceof FramingError)) assert.fail(`round ${round}: ${String(error)}`);
        errors++;
        assert.equal(reassembler.pendingBytes, 0, "a failed stream keeps nothing");
        // A broken stream is closed; the next channel starts afresh.
        reassembler = new Reassembler(MAX_FRAME);
      }
      assert.ok(reassembler.pendingBytes <= MAX_FRAME, `round ${round}: ${reassembler.pendingBytes} bytes held`);
    }
    assert.ok(errors > 5000 && frames > 5000, `${errors} errors, ${frames} frames`);
  });

  it("20,000 random BATCH payloads: FramingError, or frames that exactly tile the payload within maxFrameSize", () => {
    const random = prng(22);
    let valid = 0;
    for (let round = 0; round < 20_000; round++) {
      const payload =
        random() < 0.5
          ? randomBytes(random, randomInt(random, 64))
          : encodeBatch(Array.from({ length: 1 + randomInt(random, 4) }, () => randomBytes(random, randomInt(random, 200)))).subarray(1);
      if (random() < 0.3 && payload.length > 0) payload[randomInt(random, payload.length)] = randomInt(random, 256);
      try {
        const frames = decodeBatch(payload, 150);
        valid++;
        let covered = 0;
        for (const frame of frames) {
          assert.ok(frame.length <= 150);
          assert.equal(frame.buffer, payload.buffer, "views, not copies");
          covered = frame.byteOffset - payload.byteOffset + frame.length;
        }
        assert.equal(covered, payload.length, `round ${round}: the frames end where the payload ends`);
      } catch (error) {
        if (!(error instanceof FramingError)) assert.fail(`round ${round}: ${String(error)}`);
      }
    }
    assert.ok(valid > 1000, `${valid} valid batches`);
  });
});

/** A random JSON value: what `JSON.parse` can produce from any text a client sends. */
function randomJson(random: Random, depth = 0): unknown {
  switch (randomInt(random, depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return pick(random, [true, false, 0, -1, 1e308, 3.5, NaN]);
    case 2:
      return pick(random, ["", "join", "answer", "candidate", "bye", "offer", "error", "joined", "__proto__", "constructor"]);
    case 3:
      return "x".repeat(pick(random, [1, 255, 256, 257, 1024, 1025, 70_000]));
    case 4:
      return "v=0\r\n" + "a=x\r\n".repeat(randomInt(random, 20));
    case 5:
      return randomInt(random, 2 ** 31);
    case 6:
      return Array.from({ length: randomInt(random, 4) }, () => randomJson(random, depth + 1));
    default: {
      const record: Record<string, unknown> = JSON.parse('{"__proto__": {"polluted": true}}');
      const keys = ["type", "sessionId", "token", "sdp", "candidate", "reason", "code", "message", "sdpMid", "sdpMLineIndex", "usernameFragment"];
      for (let i = randomInt(random, 6); i > 0; i--) record[pick(random, keys)] = randomJson(random, depth + 1);
      if (random() < 0.7) record.type = pick(random, ["join", "answer", "candidate", "bye", "offer", "error", "joined", "nope"]);
      if (record.type === "candidate" && random() < 0.5) record.candidate = { candidate: randomJson(random, depth + 1), sdpMid: randomJson(random, depth + 1), sdpMLineIndex: randomJson(random, depth + 1) };
      return record;
    }
  }
}

describe("garbage fuzz: the signaling parsers", () => {
  it("30,000 random JSON values: a result or a refusal with its code, never an exception", () => {
    const random = prng(23);
    let accepted = 0;
    for (let round = 0; round < 30_000; round++) {
      const value = randomJson(random);
      for (const parse of [parseFrontendMessage, parseServerMessage]) {
        let result: ReturnType<typeof parse>;
        try {
          result = parse(value);
        } catch (error) {
          assert.fail(`round ${round}: ${String(error)} for ${JSON.stringify(value)?.slice(0, 200)}`);
        }
        if (result.ok) {
          accepted++;
          assert.equal(typeof result.message.type, "string");
          assert.equal(Object.getPrototypeOf(result.message), Object.prototype);
          assert.equal((result.message as { polluted?: unknown }).polluted, undefined, "no prototype pollution");
        } else {
          assert.ok(["bad-message", "unknown-type"].includes(result.code), result.code);
          assert.ok(result.message.length < 2000, "a bounded error message");
        }
      }
    }
    assert.ok(accepted > 100, `${accepted} accepted`);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});
