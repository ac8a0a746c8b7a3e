/**
 * A throwaway certificate authority and a server certificate it signed, made by the test
 * with the `openssl` command (Debian `openssl`): for HTTPS tests that must trust a custom
 * CA (`connectFrontend(url, { ca })`) rather than switch verification off.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isIP } from "node:net";

const run = promisify(execFile);

export interface TestCertificates {
  /** PEM of the CA certificate: what a client passes as `ca`. */
  ca: string;
  /** PEM of the server's private key and certificate (signed by the CA). */
  key: string;
  cert: string;
}

/** A CA and a server certificate valid for `names` (DNS names and IP addresses). */
export async function makeCertificates(names: string[] = ["localhost", "127.0.0.1"]): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "bonito-certs-"));
  const path = (name: string) => join(dir, name);
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl("req", "-x509", ...ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=bonito test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    await openssl("req", ...ec, "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", `/CN=${names[0]}`);
    const altNames = names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
    await writeFile(path("server.ext"), `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    await openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
      "-out", path("server.pem"), "-days", "2", "-extfile", path("server.ext"));
    const [ca, key, cert] = await Promise.all(["ca.pem", "server.key", "server.pem"].map((name) => readFile(path(name), "utf8")));
    return { ca: ca!, key: key!, cert: cert! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openssl(...args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error("openssl is not installed: apt-get install openssl");
    throw new Error(`openssl ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`);
  }
}
