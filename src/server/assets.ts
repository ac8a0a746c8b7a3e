/**
 * The page's scripts, served under `/bonito/`: the runtime, and whatever each connection
 * ships for its browser side ({@link BrowserAsset}). Only names that a connection declared
 * are served, each from the file it named.
 */
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { BROWSER_ASSET_NAME, type BrowserAsset } from "../session/connection.js";

/** The page runtime (`window.Bonito`), built into dist/browser/. */
export const RUNTIME_ASSET: BrowserAsset = { name: "runtime.js", file: new URL("../../browser/runtime.js", import.meta.url) };

export class AssetTable {
  private readonly files = new Map<string, string>();

  constructor() {
    this.add(RUNTIME_ASSET);
  }

  /** Declare `asset`; a name already declared with another file is an error (two plugins collide). */
  add(asset: BrowserAsset): void {
    if (!BROWSER_ASSET_NAME.test(asset.name)) {
      throw new Error(`browser asset name ${JSON.stringify(asset.name)} must be lowercase letters, digits and dashes, ending in .js`);
    }
    const file = asset.file instanceof URL ? fileURLToPath(asset.file) : asset.file;
    const known = this.files.get(asset.name);
    if (known !== undefined && known !== file) {
      throw new Error(`browser asset ${asset.name} is declared twice, as ${known} and as ${file}`);
    }
    this.files.set(asset.name, file);
  }

  /** Answer a request for `/bonito/<name>`. */
  async serve(name: string, response: ServerResponse): Promise<void> {
    const file = this.files.get(name);
    if (file === undefined) return respond(response, 404, "text/plain", "no such asset\n");
    let source: Buffer;
    try {
      source = await readFile(file);
    } catch {
      return respond(response, 404, "text/plain", `no such asset: ${name} (did you run npm run build?)\n`);
    }
    respond(response, 200, "text/javascript; charset=utf-8", source);
  }
}

/** Writes a complete response that no cache keeps. */
export function respond(response: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  response.end(body);
}
