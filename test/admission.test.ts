/**
 * Who counts as one client for the pending-session caps: an IPv4 address, an IPv6 /64, and
 * behind a trusted proxy the address the proxy saw.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PendingSessions, addressKey, clientAddress } from "../src/server/admission.js";

describe("pending-session caps: who is one client", () => {
  it("IPv6 addresses of one /64 are one client; IPv4 (mapped or not) is the address", () => {
    assert.equal(addressKey("2001:db8:1:2::1"), addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert.notEqual(addressKey("2001:db8:1:2::1"), addressKey("2001:db8:1:3::1"));
    assert.equal(addressKey("2001:0db8:0001:0002:0:0:0:1"), addressKey("2001:db8:1:2::9"));
    assert.equal(addressKey("fe80::1%eth0"), addressKey("fe80::2"));
    assert.equal(addressKey("::ffff:10.0.0.7"), "10.0.0.7");
    assert.equal(addressKey("10.0.0.7"), "10.0.0.7");
    assert.equal(addressKey("::1"), addressKey("::2"));
  });

  it("behind a trusted proxy the client is the last X-Forwarded-For entry; otherwise the socket's peer", () => {
    const request = (forwarded: string | undefined) =>
      ({ headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded }, socket: { remoteAddress: "127.0.0.1" } }) as unknown as IncomingMessage;
    assert.equal(clientAddress(request("1.1.1.1, 203.0.113.9"), true), "203.0.113.9");
    assert.equal(clientAddress(request("1.1.1.1, 203.0.113.9"), false), "127.0.0.1", "untrusted: the header is ignored");
    assert.equal(clientAddress(request("not an address"), true), "127.0.0.1");
    assert.equal(clientAddress(request(undefined), true), "127.0.0.1");
  });

  it("a slot is released once, and both caps are counted", () => {
    const pending = new PendingSessions(3, 2);
    const a1 = pending.admit("10.0.0.1");
    const a2 = pending.admit("10.0.0.1");
    assert.match(JSON.stringify(pending.admit("10.0.0.1")), /limit maxPendingSessionsPerAddress 2/);
    const b1 = pending.admit("10.0.0.2");
    assert.match(JSON.stringify(pending.admit("10.0.0.3")), /limit maxPendingSessions 3/);
    assert.ok("release" in a1 && "release" in a2 && "release" in b1);
    a1.release();
    a1.release();
    assert.ok("release" in pending.admit("10.0.0.3"), "one slot free, not two");
    assert.match(JSON.stringify(pending.admit("10.0.0.4")), /limit maxPendingSessions 3/);
  });
});
