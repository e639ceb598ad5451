// A throwaway TLS certificate for 127.0.0.1, made by openssl at test time (nothing is committed):
// the wss listener of the drachtio stand-in serves it, and clients trust it explicitly (`ca` for a
// Node client, its SPKI hash for Chromium's --ignore-certificate-errors-spki-list).
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCert {
  /** PEM private key (P-256). */
  key: string;
  /** PEM self-signed certificate, CN and subjectAltName IP 127.0.0.1, valid one day from now. */
  cert: string;
  /** base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium's SPKI list wants it. */
  spkiSha256: string;
}

export async function selfSignedCert(ip = '127.0.0.1'): Promise<TestCert> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', `/CN=${ip}`, '-addext', `subjectAltName=IP:${ip}`, '-days', '1',
      '-keyout', keyFile, '-out', certFile,
    ], { timeout: 15_000 });
    const key = readFileSync(keyFile, 'utf8');
    const cert = readFileSync(certFile, 'utf8');
    const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    return { key, cert, spkiSha256: createHash('sha256').update(spki).digest('base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
