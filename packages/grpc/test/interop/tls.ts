/**
 * A self-signed certificate for the TLS (h2) interop runs: made by openssl at test time for
 * "localhost" and 127.0.0.1, in a temporary directory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const OPENSSL = "/usr/bin/openssl";

/** The name the certificate is for; clients connect to 127.0.0.1 and check this name. */
export const TLS_NAME = "localhost";

export interface TestCert {
  dir: string;
  keyFile: string;
  certFile: string;
  key: Buffer;
  cert: Buffer;
  remove(): void;
}

/** Why no certificate can be made here, or undefined (the requirement "openssl"). */
export function opensslMissing(): string | undefined {
  const r = spawnSync(OPENSSL, ["version"], { encoding: "utf8", timeout: 30_000 });
  if (r.error || r.status !== 0) return `${OPENSSL} does not run (${r.error?.message ?? r.stderr.trim()}); scripts/setup-system.sh installs openssl`;
  return undefined;
}

/** A P-256 key and a self-signed certificate for localhost and 127.0.0.1, valid one day. */
export function makeCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "sgwire-interop-tls-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  const r = spawnSync(OPENSSL, [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", `/CN=${TLS_NAME}`, "-addext", `subjectAltName=DNS:${TLS_NAME},IP:127.0.0.1`,
    "-keyout", keyFile, "-out", certFile,
  ], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl req failed: ${r.stderr || r.error?.message}`);
  }
  return {
    dir, keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
