/**
 * Bonito's session tree with a Node frontend over the real WebSocket connection: the initial
 * frame in Bonito's layout, sub-sessions shown with UpdateSession, and the server answering
 * CloseSession and GetSessionDOM as Bonito does.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, type BonitoServer, type Session } from "../src/index.js";
import { connectFrontend, type Frontend } from "../src/frontend/node/index.js";
import { fromBase64 } from "../src/core/base64.js";
import { MessageType, ObservableRef, decodeInitFrame, type BonitoMessage } from "../src/protocol/index.js";
import { nextValue, waitUntil, within } from "./helpers/payload.js";

/** Resolves the next time `session` becomes ready (its frontend reported it loaded). */
function nextReady(session: Session): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const off = session.onReady(() => {
        off();
        resolve();
      });
    }),
    10_000,
    `session ${session.id} ready`,
  );
}

for (const compression of [false, true]) {
  describe(`sub-sessions, Node frontend, compression ${compression ? "on" : "off"}`, { timeout: 60_000 }, () => {
    let server: BonitoServer;
    let frontend: Frontend;
    let root: Session;
    const warnings: string[] = [];

    before(async () => {
      server = await serve(
        (session) => {
          // The first session is the frontend's; the bootstrap test makes others.
          root ??= session;
          session.observable(-0, "minus-zero");
          session.observable<unknown>(null, "ran-init");
          void session.evaljs("Bonito.observable('ran-init').set('yes');");
          return `<div data-jscall-id="slot"></div>`;
        },
        { compression, logger: { ...console, warn: (...args: unknown[]) => void warnings.push(args.join(" ")) } },
      );
      frontend = await connectFrontend(server.url);
    });
    after(async () => {
      await frontend?.close();
      await server?.close();
    });

    test("the initial frame is Bonito's layout: the messages the app sent, as an array, its observables in the cache", async () => {
      const response = await fetch(server.url, { headers: { accept: "application/json" } });
      const bootstrap = (await response.json()) as { sessionId: string; init: string };
      const init = decodeInitFrame(fromBase64(bootstrap.init), compression);
      assert.equal(init.sessionId, bootstrap.sessionId);
      assert.deepEqual(init.messages.map((m) => m.msg_type), [MessageType.EvalJavascript]);
      const cached = init.caches[0]!.objects as ObservableRef[];
      assert.deepEqual(cached.map((o) => o.id), ["minus-zero", "ran-init"]);
      assert.ok(Object.is(cached[0]!.value, -0), "-0 keeps its sign in a server frame");
      await server.sessions.get(bootstrap.sessionId)?.close();
    });

    test("the app's messages ran in the frontend during init, and -0 arrived as -0", async () => {
      await waitUntil(() => root.observable<unknown>(null, "ran-init").value === "yes", 10_000, "the init code's update");
      assert.equal(root.status, "open");
      assert.ok(Object.is(frontend.observable("minus-zero").value, -0));
    });

    test("updateDom: the sub-session's messages run, it reports loaded, and its observables work both ways", async () => {
      const got: unknown[] = [];
      const sub = await root.updateDom("slot", (s) => {
        s.observable(1, "sub-value").on((value) => got.push(value));
        void s.evaljs("Bonito.observable('sub-value').set(2);");
        return `<b>sub</b>`;
      });
      // The frontend's answer needs a round trip; updateDom resolved as soon as the content was queued.
      await nextReady(sub);
      assert.equal(sub.status, "open");
      assert.equal(sub.sessionType, "sub");
      await waitUntil(() => got.length === 1, 10_000, "the sub-session's update");
      assert.deepEqual(got, [2]);
      const arrived = nextValue(frontend.observable("sub-value"));
      await sub.observable(0, "sub-value").set(3);
      assert.equal(await arrived, 3);
    });

    test("CloseSession naming a sub-session closes only it, and the frontend frees it", async () => {
      const sub = await root.updateDom("slot", (s) => {
        s.observable("x", "to-free");
        return "<i>short-lived</i>";
      });
      await nextReady(sub);
      assert.ok(frontend.runtime.closable_sessions().includes(sub.id));
      frontend.runtime.close_session(sub.id);
      const info = await within(sub.closed, 10_000, "sub-session closed");
      assert.equal(info.reason, "closed by the frontend");
      assert.equal(root.status, "open");
      await waitUntil(() => frontend.runtime.lookup_global_object("to-free") === null, 10_000, "free_session in the frontend");
      assert.ok(!frontend.runtime.closable_sessions().includes(sub.id));
    });

    test("GetSessionDOM: the server builds the sub-session's content again and sends it", async () => {
      let runs = 0;
      const sub = await root.updateDom("slot", (s) => {
        runs++;
        s.observable(runs, "run-count");
        return `<u>run ${runs}</u>`;
      });
      await nextReady(sub);
      const again = nextReady(sub);
      frontend.runtime.send_to_julia({ msg_type: MessageType.GetSessionDOM, session: sub.id, replace: "slot" });
      await again;
      assert.equal(runs, 2);
      assert.equal(frontend.observable("run-count").value, 2);
      assert.equal(sub.status, "open");
    });

    test("GetSessionDOM for a session without content is reported and ignored", async () => {
      const before = warnings.length;
      frontend.runtime.send_to_julia({ msg_type: MessageType.GetSessionDOM, session: "no-such-session", replace: "slot" });
      await waitUntil(() => warnings.length > before, 10_000, "the warning");
      assert.match(warnings.at(-1)!, /no-such-session, which has none to send/);
      // Still open: a round trip works.
      const echoed = nextValue(root.observable<unknown>(null, "after-unknown"));
      await frontend.observable("after-unknown").set("still here");
      assert.equal(await echoed, "still here");
      assert.equal(root.status, "open");
    });

    test("CloseSession for the root with subsession \"root\" empties it and keeps it open, as Bonito", async () => {
      const kept = root.observable("kept", "emptied");
      frontend.runtime.send_to_julia({ msg_type: MessageType.CloseSession, session: root.id, subsession: "root" } as BonitoMessage);
      // Once the server has processed it, asking for the id makes a new observable.
      await waitUntil(() => root.observable("new", "emptied") !== kept, 10_000, "the root emptied");
      assert.equal(root.status, "open");
      const arrived = nextValue(frontend.observable("still-open"));
      await root.observable("", "still-open").set("yes");
      assert.equal(await arrived, "yes");
    });

    test("closing the root closes its sub-sessions", async () => {
      const sub = await root.updateDom("slot", () => "<s>last</s>");
      await nextReady(sub);
      await frontend.close();
      const info = await within(sub.closed, 10_000, "sub-session closed with its root");
      assert.match(info.reason, /./);
      assert.equal(root.status, "closed");
    });
  });
}
