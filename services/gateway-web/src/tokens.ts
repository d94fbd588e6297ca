import { createHmac, timingSafeEqual } from 'node:crypto';
import { ParleyError } from '@parley/errors';

export type Role = 'customer' | 'agent' | 'supervisor';

export interface TokenClaims {
  role: Role;
  /** The customer's own address, or the user name. */
  sub: string;
  /** Customers: their session; agents: their agent ID. */
  sid?: string;
  sa?: string;
  agentId?: string;
  iat: number;
  exp: number;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** Session tokens as JWTs (HS256), signed and checked with node:crypto alone. */
export class TokenSigner {
  constructor(private readonly secret: string) {}

  sign(claims: Omit<TokenClaims, 'iat' | 'exp'>, ttlSeconds: number, nowMs = Date.now()): string {
    const iat = Math.floor(nowMs / 1000);
    const body = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ ...claims, iat, exp: iat + ttlSeconds }))}`;
    return `${body}.${createHmac('sha256', this.secret).update(body).digest('base64url')}`;
  }

  verify(token: string | undefined, roles: Role[], nowMs = Date.now()): TokenClaims {
    const unauthorized = new ParleyError('forbidden', 'sign in again', { reason: 'unauthorized' });
    if (!token) throw unauthorized;
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) throw unauthorized;
    const expected = createHmac('sha256', this.secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw unauthorized;
    }
    if (claims.exp * 1000 < nowMs) throw unauthorized;
    if (!roles.includes(claims.role)) throw new ParleyError('forbidden', 'not allowed for this role', { role: claims.role });
    return claims;
  }
}
