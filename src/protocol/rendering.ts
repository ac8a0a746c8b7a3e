/**
 * The values Bonito v5 uses to put sub-session content into a page and to share objects
 * between sessions: DOM nodes (extension 105), raw HTML (108) and tracking-only references
 * (109). They are plain data here; the browser runtime turns nodes into DOM elements.
 *
 * Layouts (Bonito.jl v5.0.0 `src/serialization/msgpack.jl` writes them,
 * `js_dependencies/Protocol.js` reads them):
 *
 *   105  DOM node: msgpack [tag, children, attributes]; children are strings or nodes,
 *        attributes a map of name => value (`juliasvgnode: true` marks SVG elements)
 *   108  raw HTML: msgpack string
 *   109  tracking only: msgpack key string; the frontend already holds the object under
 *        that key (a parent session sent it) and starts tracking it for this session too
 */
import { decodeExtensionPayload, encodeExtensionPayload, extensionCodec, type CodecContext } from "./extensions.js";
import { ProtocolError, describeValue, isPlainObject } from "./messages.js";

/** An element to build in the page (extension 105), as Bonito's `SerializedNode`. */
export class DomNode {
  constructor(
    readonly tag: string,
    readonly children: readonly unknown[] = [],
    readonly attributes: Readonly<Record<string, unknown>> = {},
  ) {}
}

/** HTML to insert as it is (extension 108); Bonito's JS wraps it in a `<div>`. */
export class RawHtml {
  constructor(readonly html: string) {}
}

/** A reference to an object the frontend already holds, to be tracked by this session as well (extension 109). */
export class TrackingOnly {
  constructor(readonly key: string) {}
}

extensionCodec.register({
  type: 105,
  encode: (value, context: CodecContext | undefined) =>
    value instanceof DomNode
      ? encodeExtensionPayload([value.tag, value.children, value.attributes], `DOM node <${value.tag}>`, context)
      : null,
  decode: (data, _type, context) => {
    const what = "extension 105 (DOM node)";
    const value = decodeExtensionPayload(data, context, what);
    if (!Array.isArray(value) || value.length !== 3) throw new ProtocolError(`${what}: expected [tag, children, attributes], got ${describeValue(value)}`);
    const [tag, children, attributes] = value;
    if (typeof tag !== "string") throw new ProtocolError(`${what}: tag must be a string, got ${describeValue(tag)}`);
    if (!Array.isArray(children)) throw new ProtocolError(`${what}: children must be an array, got ${describeValue(children)}`);
    if (!isPlainObject(attributes)) throw new ProtocolError(`${what}: attributes must be a map, got ${describeValue(attributes)}`);
    return new DomNode(tag, children, attributes);
  },
});

extensionCodec.register({
  type: 108,
  encode: (value, context: CodecContext | undefined) =>
    value instanceof RawHtml ? encodeExtensionPayload(value.html, "raw HTML", context) : null,
  decode: (data, _type, context) => {
    const what = "extension 108 (raw HTML)";
    const html = decodeExtensionPayload(data, context, what);
    if (typeof html !== "string") throw new ProtocolError(`${what}: expected a string, got ${describeValue(html)}`);
    return new RawHtml(html);
  },
});

extensionCodec.register({
  type: 109,
  encode: (value, context: CodecContext | undefined) =>
    value instanceof TrackingOnly ? encodeExtensionPayload(value.key, "TrackingOnly", context) : null,
  decode: (data, _type, context) => {
    const what = "extension 109 (TrackingOnly)";
    const key = decodeExtensionPayload(data, context, what);
    if (typeof key !== "string") throw new ProtocolError(`${what}: key must be a string, got ${describeValue(key)}`);
    return new TrackingOnly(key);
  },
});
