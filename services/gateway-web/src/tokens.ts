import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ParleyError } from '@parley/errors';

export type Role = 'customer' | 'agent' | 'supervisor';
const ROLES: readonly Role[] = ['customer', 'agent', 'supervisor'];

/** No token the gateway signs lives longer than this; one that claims a longer life is refused. */
export const MAX_TOKEN_SECONDS = 24 * 3600;

export interface TokenClaims {
  role: Role;
  /** The customer's own address, or the user name. */
  sub: string;
  /** Customers: their session; agents: their agent ID. */
  sid?: string;
  sa?: string;
  agentId?: string;
  /** The token's own ID, by which sign-out revokes it. */
  jti: string;
  iat: number;
  exp: number;
}

/** Token IDs signed out before their expiry; consulted on every use of a token. */
export interface RevocationList {
  isRevoked(jti: string): boolean;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Session tokens as JWTs (HS256), signed and checked with node:crypto alone. */
export class TokenSigner {
  constructor(
    private readonly secret: string,
    private readonly revocations: RevocationList = { isRevoked: () => false },
  ) {}

  sign(claims: Omit<TokenClaims, 'iat' | 'exp' | 'jti'>, ttlSeconds: number, nowMs = Date.now()): string {
    if (!(ttlSeconds > 0 && ttlSeconds <= MAX_TOKEN_SECONDS)) throw new RangeError(`token lifetime must be 1..${MAX_TOKEN_SECONDS} s`);
    const iat = Math.floor(nowMs / 1000);
    const body = `${HEADER}.${b64(JSON.stringify({ ...claims, jti: randomBytes(16).toString('base64url'), iat, exp: iat + ttlSeconds }))}`;
    return `${body}.${createHmac('sha256', this.secret).update(body).digest('base64url')}`;
  }

  /**
   * The claims of a token this gateway signed, unexpired and not signed out. A token without `exp`, `iat` or
   * `jti`, with a lifetime over MAX_TOKEN_SECONDS, or with another header is refused even when the signature holds.
   */
  verify(token: string | undefined, roles: Role[], nowMs = Date.now()): TokenClaims {
    const unauthorized = new ParleyError('forbidden', 'sign in again', { reason: 'unauthorized' });
    if (!token || token.length > 4_096) throw unauthorized;
    const [header, payload, signature, extra] = token.split('.');
    if (!header || !payload || !signature || extra !== undefined || header !== HEADER) throw unauthorized;
    const expected = createHmac('sha256', this.secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw unauthorized;
    }
    if (typeof claims !== 'object' || claims === null || !isTime(claims.exp) || !isTime(claims.iat)) throw unauthorized;
    if (claims.exp <= claims.iat || claims.exp - claims.iat > MAX_TOKEN_SECONDS || claims.exp * 1000 <= nowMs) throw unauthorized;
    if (typeof claims.jti !== 'string' || claims.jti.length < 16 || this.revocations.isRevoked(claims.jti)) throw unauthorized;
    if (typeof claims.sub !== 'string' || !ROLES.includes(claims.role)) throw unauthorized;
    if (!roles.includes(claims.role)) throw new ParleyError('forbidden', 'not allowed for this role', { role: claims.role });
    return claims;
  }
}
