/**
 * The sandbox's TLS material: a CA generated at start and one server certificate for every host name the
 * sandbox answers as (ARM, any vault, localhost, 127.0.0.1). Clients trust the CA, never the server cert.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const SANDBOX_TLS_HOSTNAMES = ['management.azure.com', '*.vault.azure.net', 'localhost'] as const;
export const SANDBOX_TLS_IPS = ['127.0.0.1'] as const;

/** Everything needed to serve and to trust the sandbox; all values PEM. Persistable as JSON. */
export interface SandboxTlsMaterial {
  caCertPem: string;
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('sandbox TLS: empty private key PEM');
  return (await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, [
    'sign',
  ])) as webcrypto.CryptoKey;
}

async function createServerCert(
  ca: x509.X509Certificate,
  caKey: webcrypto.CryptoKey,
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=kmsflow sandbox',
    issuer: ca.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...SANDBOX_TLS_HOSTNAMES.map((value) => ({ type: 'dns' as const, value })),
        ...SANDBOX_TLS_IPS.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A fresh CA and server certificate. */
export async function generateSandboxTls(): Promise<SandboxTlsMaterial> {
  const caKeys = await generateKeyPair();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=kmsflow sandbox CA',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    keys: caKeys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const server = await createServerCert(ca, caKeys.privateKey);
  return {
    caCertPem: ca.toString('pem'),
    caKeyPem: await privateKeyPem(caKeys.privateKey),
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
  };
}

/**
 * Keeps a persisted CA (so kubeconfigs and trusted clients from before a restart stay valid) and issues a
 * new server certificate from it.
 */
export async function reissueServerCert(
  material: Pick<SandboxTlsMaterial, 'caCertPem' | 'caKeyPem'>,
): Promise<SandboxTlsMaterial> {
  const ca = new x509.X509Certificate(material.caCertPem);
  const caKey = await importPrivateKeyPem(material.caKeyPem);
  const server = await createServerCert(ca, caKey);
  return {
    caCertPem: material.caCertPem,
    caKeyPem: material.caKeyPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
  };
}
