import { RESERVED_KEYS } from '@parley/contracts';
import { invalidPayload } from '@parley/errors';

/**
 * Bounds every request body before anything walks it recursively (class-transformer, class-validator, handlers).
 * The same limits hold over NATS and over HTTP, and `docs/asyncapi.yaml` states them (`x-parley-limits`).
 */
export const PAYLOAD_LIMITS = {
  /** UTF-8 bytes of one request body (the largest valid request, a 16,000-character message, fits with room). */
  maxBytes: 256 * 1024,
  /** Nesting of objects and arrays; the deepest valid request (`client.capabilities[i]`) has depth 3. */
  maxDepth: 16,
  /** Objects, arrays and values in one body. */
  maxNodes: 20_000,
} as const;

const refuse = (path: string, message: string) => invalidPayload(`invalid fields: ${path}`, { fields: { [path]: [message] } });

/** Iterative (no recursion, so no stack to exhaust): depth, node count and reserved keys of a parsed body. */
export function checkPayloadShape(raw: unknown): void {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: raw, depth: 0, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (++nodes > PAYLOAD_LIMITS.maxNodes) throw invalidPayload(`the request body has more than ${PAYLOAD_LIMITS.maxNodes} values`);
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= PAYLOAD_LIMITS.maxDepth) throw refuse(path || '(body)', `nested deeper than ${PAYLOAD_LIMITS.maxDepth} levels`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1, path: `${path}[${i}]` });
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (RESERVED_KEYS.has(key)) throw refuse(at, `"${key}" is a reserved name`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
}

/** Decodes a NATS request body: size first, then UTF-8 and JSON; the shape is checked by `checkPayloadShape`. */
export function decodeJsonBody(data: Uint8Array): unknown {
  if (data.byteLength > PAYLOAD_LIMITS.maxBytes) throw invalidPayload(`the request body is larger than ${PAYLOAD_LIMITS.maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw invalidPayload('the request body is not UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidPayload('the request body is not JSON');
  }
}
