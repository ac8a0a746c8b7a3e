/**
 * `node dist/bench/profile.js FILE.cpuprofile... [--top N]`: where a V8 CPU profile
 * (`node --cpu-prof`, or `npm run bench -- --profile DIR`) spends its time. Prints the
 * functions with the most self time and the self time per layer: werift's SCTP, DTLS,
 * ICE and data channel code, crypto, our framing/transport/protocol/session code, the
 * bench harness, Node internals, GC. Native code without a script (a crypto binding, a
 * Buffer builtin) is charged to the layer of the nearest JavaScript caller, marked
 * "(native)".
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Ordered: the first matching rule names the layer. */
const LAYERS: Array<[RegExp, string]> = [
  [/\/werift\/lib\/sctp\//, "werift sctp"],
  [/\/werift\/lib\/dtls\//, "werift dtls"],
  [/\/werift\/lib\/ice\//, "werift ice"],
  [/\/werift\/lib\/webrtc\//, "werift webrtc (data channel, sctp transport)"],
  [/\/werift\/lib\/common\//, "werift common (events, binary)"],
  [/\/werift\//, "werift other"],
  [/@noble\//, "noble crypto (werift)"],
  [/@shinyoshiaki\//, "binary-data (werift)"],
  [/\/dist\/src\/framing\//, "ours: framing"],
  [/\/dist\/src\/transport\//, "ours: transport (FramedChannel, ports)"],
  [/\/dist\/src\/protocol\//, "ours: protocol (encode/decode)"],
  [/\/dist\/src\/(session|observable|connection|server)\.js/, "ours: session"],
  [/\/dist\/src\/(frontend|client)\//, "ours: frontend runtime"],
  [/\/dist\/src\/webrtc\//, "ours: webrtc (negotiation, backends)"],
  [/\/dist\/src\//, "ours: other"],
  [/\/dist\/signaling\//, "ours: signaling"],
  [/\/dist\/bench\//, "bench harness"],
  // Page profiles (Chromium): our bundles as the server hands them out, the bench page bundle.
  [/\/bonito\/runtime\.js/, "ours (page): runtime.js (protocol, observables)"],
  [/\/bonito\/webrtc\.js/, "ours (page): webrtc.js (framing, transport, negotiation)"],
  [/\/bonito\/websocket\.js/, "ours (page): websocket.js"],
  [/\/bench-page\.js|__playwright|pptr:/, "bench harness"],
  [/@msgpack\//, "msgpack"],
  [/\/pako\//, "pako"],
  [/\/node_modules\/ws\//, "ws"],
  [/\/node-datachannel\//, "node-datachannel"],
  [/^node:internal\/crypto|^node:crypto/, "node crypto"],
  [/^node:(internal\/)?dgram|^node:internal\/udp/, "node dgram"],
  [/^node:/, "node internals"],
];

/**
 * werift ships as one bundle (lib/index.mjs) whose regions start with comments such as
 * `// ../sctp/src/sctp.ts`; map a line of it back to its source module.
 */
const bundleRegions = new Map<string, Array<{ line: number; module: string }>>();

function bundleModule(url: string, line: number): string | null {
  if (!/werift\/lib\/index\.mjs$/.test(url)) return null;
  let regions = bundleRegions.get(url);
  if (!regions) {
    regions = [];
    try {
      const text = readFileSync(url.startsWith("file:") ? fileURLToPath(url) : url, "utf8").split("\n");
      text.forEach((content, i) => {
        const match = /^\/\/ \.\.\/([\w-]+\/src\/[\w/.-]+)$/.exec(content);
        if (match) regions!.push({ line: i, module: match[1]! });
      });
    } catch {
      // Bundle not readable: fall back to "werift other".
    }
    bundleRegions.set(url, regions);
  }
  let found: string | null = null;
  for (const region of regions) {
    if (region.line > line) break;
    found = region.module;
  }
  return found;
}

function layerOf(url: string, line = 0): string | null {
  if (!url) return null;
  const module = bundleModule(url, line);
  if (module) return `werift ${module.split("/")[0]}`;
  for (const [pattern, name] of LAYERS) if (pattern.test(url)) return name;
  return "other scripts";
}

interface Tally {
  self: Map<string, number>;
  /** Self time charged to the nearest caller in a package (werift, ours, ...), Node's own code looked through. */
  owner: Map<string, number>;
  functions: Map<string, { ms: number; layer: string }>;
  total: number;
}

function analyse(profile: CpuProfile): Tally {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const layerCache = new Map<number, string>();
  const layerFor = (id: number): string => {
    const cached = layerCache.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let layer: string;
    if (name === "(garbage collector)") layer = "GC";
    else if (name === "(idle)") layer = "idle";
    else if (name === "(program)") layer = "(program: VM, native, not attributed)";
    else if (name === "(root)") layer = "(root)";
    else {
      const own = layerOf(node.callFrame.url, node.callFrame.lineNumber);
      if (own) layer = own;
      else {
        // Native code: charge it to the nearest caller that has a script.
        let up = parent.get(id);
        let found: string | null = null;
        while (up !== undefined && !found) {
          const caller = byId.get(up)!.callFrame;
          found = layerOf(caller.url, caller.lineNumber);
          up = parent.get(up);
        }
        layer = `${found ?? "unknown"} (native)`;
      }
    }
    layerCache.set(id, layer);
    return layer;
  };
  const isPackage = (layer: string | null): layer is string =>
    layer !== null && !layer.startsWith("node ") && layer !== "other scripts";
  const ownerCache = new Map<number, string>();
  const ownerFor = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached) return cached;
    let owner = layerFor(id);
    const base = owner.replace(/ \(native\)$/, "");
    if (!isPackage(base) || owner.endsWith("(native)")) {
      let up: number | undefined = id;
      let found: string | null = null;
      while (up !== undefined && !found) {
        const frame = byId.get(up)!.callFrame;
        const layer = layerOf(frame.url, frame.lineNumber);
        if (isPackage(layer)) found = layer;
        up = parent.get(up);
      }
      if (found) owner = found;
    }
    ownerCache.set(id, owner);
    return owner;
  };
  const tally: Tally = { self: new Map(), owner: new Map(), functions: new Map(), total: 0 };
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // timeDeltas[i] is the time before sample i; charge it to sample i (the usual convention).
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id)!;
    const layer = layerFor(id);
    tally.total += ms;
    tally.self.set(layer, (tally.self.get(layer) ?? 0) + ms);
    const owner = ownerFor(id);
    tally.owner.set(owner, (tally.owner.get(owner) ?? 0) + ms);
    const frame = node.callFrame;
    const module = frame.url ? bundleModule(frame.url, frame.lineNumber) : null;
    const where = module ? `werift/${module}` : frame.url ? shortUrl(frame.url) : "";
    const key = `${frame.functionName || "(anonymous)"}  ${where ? `${where}:${frame.lineNumber + 1}` : "[native]"}`;
    const entry = tally.functions.get(key) ?? { ms: 0, layer };
    entry.ms += ms;
    tally.functions.set(key, entry);
  }
  return tally;
}

function shortUrl(url: string): string {
  const i = url.indexOf("node_modules/");
  if (i >= 0) return url.slice(i + "node_modules/".length);
  const d = url.indexOf("/dist/");
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, "");
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1).padStart(5)}%`;
}

function main(): void {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf("--top");
  const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;
  if (args.length === 0) {
    console.error("usage: node dist/bench/profile.js FILE.cpuprofile... [--top N]");
    process.exit(2);
  }
  for (const file of args) {
    const tally = analyse(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
    const busy = tally.total - (tally.self.get("idle") ?? 0);
    console.log(`\n## ${basename(file)}: ${(tally.total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (shares below are of busy time)\n`);
    console.log("self time by layer:");
    for (const [layer, ms] of [...tally.self].sort((a, b) => b[1] - a[1])) {
      if (layer === "idle") continue;
      console.log(`  ${pct(ms, busy)}  ${ms.toFixed(0).padStart(7)} ms  ${layer}`);
    }
    console.log("\nthe same, with Node internals and native code charged to the package that called them:");
    for (const [layer, ms] of [...tally.owner].sort((a, b) => b[1] - a[1])) {
      if (layer === "idle" || ms < busy / 1000) continue;
      console.log(`  ${pct(ms, busy)}  ${ms.toFixed(0).padStart(7)} ms  ${layer}`);
    }
    console.log(`\ntop ${top} functions by self time:`);
    for (const [name, { ms, layer }] of [...tally.functions].sort((a, b) => b[1].ms - a[1].ms).slice(0, top + 1)) {
      if (layer === "idle") continue;
      console.log(`  ${pct(ms, busy)}  ${ms.toFixed(0).padStart(7)} ms  ${name}   [${layer}]`);
    }
  }
}

main();
