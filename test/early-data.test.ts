/**
 * No message is lost because it arrived before our side saw the data channel `open`, on
 * every backend and in either role. Deterministic stand-ins for what Firefox does:
 *
 * - offerer (the server): a raw frontend writes its first messages *before* acknowledging
 *   the channel (DCEP DATA_CHANNEL_ACK), so they reach the server while its channel is
 *   still `connecting`: JSDoneLoading and ten updates in one BATCH, then a 1 MiB frame in
 *   16 fragments;
 * - answerer (a frontend): a raw offerer writes right behind its DCEP OPEN, before the
 *   answerer's ACK can have reached it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import type { RTCDataChannel } from "werift";
import { serve } from "../src/index.js";
import { WebRTCConnection } from "../src/webrtc/index.js";
import { encodeClientFrame, MessageType } from "../src/protocol/index.js";
import { encodeBatch, iterateFragments } from "../src/webrtc/channel/framing.js";
import { FramedChannel, type ChannelPort } from "../src/webrtc/channel/index.js";
import { connectSignaling, SignalingServer } from "../src/signaling/index.js";
import { negotiateAsAnswerer, negotiateAsOfferer, type PeerConnectionLike } from "../src/webrtc/negotiation.js";
import { loadBackend } from "../src/webrtc/backends/index.js";
import { weriftBackend } from "../src/webrtc/backends/werift/backend.js";
import { echoApp } from "./helpers/echo-app.js";
import { backendCases } from "./helpers/backends.js";
import { joinSendingBeforeAck } from "./helpers/early-sender.js";
import { patternBytes, within, MiB, assertCountingSequence } from "./helpers/payload.js";

const FRAGMENT = 64 * 1024;

for (const { backend, skip } of await backendCases()) {
  describe(`data before the channel opens [${backend}]`, { timeout: 60_000, skip }, () => {
    test("the server keeps what a frontend sends before its DCEP ACK, in order, and the session runs", async () => {
      const echo = echoApp();
      const reasons: string[] = [];
      const server = await serve(echo.app, {
        connection: () => new WebRTCConnection({ backend }),
        onSession: (session) => void session.closed.then((info) => reasons.push(info.reason)),
      });
      try {
        const big = patternBytes(MiB, 11);
        const update = (payload: unknown) => encodeClientFrame({ msg_type: MessageType.UpdateObservable, id: "input", payload }, false);
        const sender = await joinSendingBeforeAck(server.url, (sessionId) => [
          encodeBatch([
            encodeClientFrame({ msg_type: MessageType.JSDoneLoading, session: sessionId, message: "", exception: "nothing", stacktrace: "" }, false),
            ...Array.from({ length: 10 }, (_, i) => update(i)),
          ]),
          ...iterateFragments(update(big), FRAGMENT),
        ]);
        try {
          assert.ok(sender.earlyMessages >= 17, "a batch and at least 16 fragments");
          assert.equal(sender.messagesBeforeAck, sender.earlyMessages, "every early message went out before the ACK");
          const outputs: unknown[] = [];
          const echoed = new Promise<Uint8Array>((resolve) =>
            sender.runtime.observable("output").on((value) => {
              outputs.push(value);
              if (value instanceof Uint8Array) resolve(value);
            }),
          );
          // The server's ready frame: the session works end to end.
          await within(sender.runtime.wait_for_connection(), 10_000, "session ready");
          const bytes = await within(echoed, 30_000, "the echo of the 1 MiB frame");
          assertCountingSequence(outputs.slice(0, 10), 10, "echoes of the early updates");
          assert.ok(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(big), "the 1 MiB echo is byte-exact");
          const entry = echo.sessions.at(-1)!;
          assertCountingSequence(entry.received.slice(0, 10), 10, "early updates received by the server");
          assert.equal(entry.received.length, 11);
          assert.deepEqual(reasons, [], "no session closed");
        } finally {
          await sender.close();
        }
      } finally {
        await server.close();
      }
    });

    test("what a frontend sends before its ACK counts against the server's maxInboundBytes", async () => {
      let resolveEnd!: (reason: string) => void;
      const ended = new Promise<string>((resolve) => (resolveEnd = resolve));
      const server = await serve(echoApp().app, {
        connection: () => new WebRTCConnection({ backend }),
        limits: { maxInboundBytes: 256 * 1024 },
        onSession: (session) => void session.closed.then((info) => resolveEnd(info.reason)),
      });
      try {
        // The session is evicted, so the sender may or may not see its channel open.
        const sender = await joinSendingBeforeAck(server.url, () => [...iterateFragments(patternBytes(MiB, 5), FRAGMENT)]).catch(() => undefined);
        assert.match(await within(ended, 10_000, "the session is closed"), /above maxInboundBytes/);
        await sender?.close();
      } finally {
        await server.close();
      }
    });

    test("a frontend keeps what the server peer sends right behind its DCEP OPEN", async (t) => {
      const signaling = new SignalingServer({ mode: "standalone" });
      t.after(() => signaling.close());
      const answerer = await loadBackend(backend);
      const room = await signaling.openRoom("early-offer");
      const offererPc = weriftBackend.createPeerConnection([]);
      const answererPc = answerer.createPeerConnection([]);
      t.after(() => {
        weriftBackend.closePeerConnection(offererPc);
        answerer.closePeerConnection(answererPc);
      });
      const frames = Array.from({ length: 20 }, (_, i) => patternBytes(i * 7_000, i + 1));
      const early: boolean[] = [];
      const offered = negotiateAsOfferer(offererPc, room, {
        timeoutMs: 15_000,
        // werift queues these behind its OPEN and sends them as soon as SCTP is up.
        onChannel: (channel) => {
          const dc = channel as unknown as RTCDataChannel;
          for (const frame of frames) {
            for (const message of iterateFragments(frame, FRAGMENT)) {
              early.push(dc.readyState !== "open");
              dc.send(Buffer.from(message));
            }
          }
        },
      });
      const client = await connectSignaling(room.url, { sessionId: "early-offer", token: room.token, WebSocket, timeoutMs: 5_000 });
      t.after(() => client.close());
      let port: ChannelPort | undefined;
      await Promise.all([
        offered,
        negotiateAsAnswerer(answererPc, client, {
          timeoutMs: 15_000,
          answererDtlsRole: weriftBackend.answerSetup,
          onChannel: (channel) => (port = answerer.wrapChannel(channel, answererPc)),
        }),
      ]);
      assert.ok(early.every(Boolean), "every message was sent before the offerer's channel opened");
      const channel = new FramedChannel(port!, { heartbeatIntervalMs: 0, heartbeatTimeoutMs: 0 });
      t.after(() => channel.close());
      const received: Uint8Array[] = [];
      const all = new Promise<void>((resolve) =>
        channel.onFrame((frame) => {
          received.push(frame.slice());
          if (received.length === frames.length) resolve();
        }),
      );
      await within(all, 10_000, `${frames.length} frames at the answerer`);
      received.forEach((frame, i) => assert.ok(Buffer.from(frame).equals(frames[i]!), `frame ${i} differs`));
    });
  });
}
