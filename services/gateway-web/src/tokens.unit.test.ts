import { createHmac } from 'node:crypto';
import { ParleyError } from '@parley/errors';
import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_SECONDS, TokenSigner } from './tokens.js';

const SECRET = 's'.repeat(40);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A token signed with the real secret but with claims of the attacker's choosing. */
const forge = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }) => {
  const body = `${b64(header)}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
};
const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ParleyError);
    expect((err as ParleyError).details).toEqual({ reason: 'unauthorized' });
    return;
  }
  throw new Error('the token was accepted');
};

describe('web tokens (defect 7)', () => {
  const now = Date.now();
  const iat = Math.floor(now / 1000);
  const base = { role: 'agent', sub: 'alex', agentId: 'alex', jti: 'j'.repeat(22) };

  it('accepts what it signed, within its life', () => {
    const signer = new TokenSigner(SECRET);
    expect(signer.verify(signer.sign({ role: 'agent', sub: 'alex', agentId: 'alex' }, 60, now), ['agent'], now)).toMatchObject({ sub: 'alex', exp: iat + 60 });
    refused(() => signer.verify(signer.sign({ role: 'agent', sub: 'alex' }, 60, now), ['agent'], now + 61_000));
  });

  it('refuses a correctly signed token without exp, with a non-numeric or a too-long life, or without iat or jti', () => {
    const signer = new TokenSigner(SECRET);
    expect(signer.verify(forge({ ...base, iat, exp: iat + 60 }), ['agent'], now)).toMatchObject({ sub: 'alex' });
    refused(() => signer.verify(forge({ ...base, iat }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, iat, exp: null }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, iat, exp: '9999999999' }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, iat, exp: 1e300 }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, iat, exp: iat + MAX_TOKEN_SECONDS + 1 }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, exp: iat + 60 }), ['agent'], now));
    refused(() => signer.verify(forge({ role: 'agent', sub: 'alex', iat, exp: iat + 60 }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, iat, exp: iat + 60 }, { alg: 'none' }), ['agent'], now));
    refused(() => signer.verify(forge({ ...base, role: 'admin', iat, exp: iat + 60 }), ['agent'], now));
  });

  it('refuses a revoked token', () => {
    const revoked = new Set<string>();
    const signer = new TokenSigner(SECRET, { isRevoked: (jti) => revoked.has(jti) });
    const token = signer.sign({ role: 'supervisor', sub: 'sam' }, 60, now);
    const { jti } = signer.verify(token, ['supervisor'], now);
    revoked.add(jti);
    refused(() => signer.verify(token, ['supervisor'], now));
  });
});
