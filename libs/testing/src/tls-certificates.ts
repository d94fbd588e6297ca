import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './executable.js';

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA and client certificate nobody trusts, to show they are refused. */
  strangerCertFile: string;
  strangerKeyFile: string;
}

/**
 * A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl
 * (EC P-256, one day), for TLS tests on loopback.
 */
export function makeTestCertificates(dir = mkdtempSync(join(tmpdir(), 'parley-tls-'))): TestCertificates {
  const openssl = findExecutable('openssl');
  if (!openssl) throw new Error('openssl is not installed (apt-get install -y openssl)');
  const run = (...args: string[]) => {
    const r = spawnSync(openssl, args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  const key = (name: string) => run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  const ca = (name: string) => {
    key(name);
    run('req', '-x509', '-new', '-key', `${name}.key`, '-days', '1', '-subj', `/CN=${name}`, '-out', `${name}.pem`);
  };
  const leaf = (name: string, signer: string, ext: string) => {
    key(name);
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  ca('parley-test-ca');
  leaf('server', 'parley-test-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'parley-test-ca', 'extendedKeyUsage=clientAuth\n');
  ca('stranger-ca');
  leaf('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: join(dir, 'parley-test-ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    strangerCertFile: join(dir, 'stranger.pem'),
    strangerKeyFile: join(dir, 'stranger.key'),
  };
}
