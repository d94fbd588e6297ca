import fc from 'fast-check';

/** The subset of JSON Schema the Parley contracts use (docs/asyncapi.yaml, docs/openapi-gateway-web.yaml). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  maxItems?: number;
  minItems?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  const?: unknown;
  not?: JsonSchema;
  format?: string;
}

/** Strings that break naive code: control characters, line breaks, bidi overrides, lone surrogates, emoji. */
export const NASTY_STRINGS = [
  '',
  ' ',
  'a\nb',
  'a\r\nb',
  '\u0000',
  'tab\there',
  '\u202Eevil',
  '\uD800',
  '\uDFFF',
  '\u{1F600}',
  'e\u0301',
  '\uFEFF',
  '%00',
  '../../etc/passwd',
  '*',
  '>',
  'a.b',
  'a b',
  '$JS.API.STREAM.DELETE.PARLEY_EVENTS',
  '<script>alert(1)</script>',
  "'; DROP TABLE x; --",
  'x'.repeat(70),
] as const;

/** Keys that reach prototypes in naive object mappers. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'] as const;

const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 40 }));

const typeOf = (s: JsonSchema): string | undefined => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type);

/** Values valid under `schema` (ignoring `format`, which the contracts only use on replies). */
export function validValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (typeOf(schema)) {
    case 'string': {
      if (schema.pattern) {
        const re = new RegExp(schema.pattern);
        const forbidden = (schema.not?.enum ?? []) as unknown[];
        return fc.stringMatching(re).filter((s) => !forbidden.includes(s) && s.length <= (schema.maxLength ?? Infinity) && s.length >= (schema.minLength ?? 0));
      }
      return fc
        .string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 60), unit: 'grapheme' })
        .filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity));
    }
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(schema.items ? validValue(schema.items) : fc.string(), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    case 'object':
    default: {
      if (!schema.properties && typeof schema.additionalProperties === 'object') {
        const keys = schema.propertyNames ? validValue({ type: 'string', ...schema.propertyNames }) : fc.string({ minLength: 1, maxLength: 10 });
        return fc.dictionary(keys as fc.Arbitrary<string>, validValue(schema.additionalProperties), { maxKeys: 4 }).map((d) => ({ ...d }));
      }
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(props).map(([k, v]) => [k, required.has(k) ? validValue(v) : fc.option(validValue(v), { nil: undefined })] as const);
      return fc.record(Object.fromEntries(entries)).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
    }
  }
}

/** Values of the wrong kind for any schema: other types, nested and huge values, nasty strings. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, -1),
  nastyString,
  fc.constant('x'.repeat(20_000)),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string(), { minLength: 150, maxLength: 250 }),
  fc.integer({ min: 20, max: 2_000 }).map((depth) => nest(depth, 'array')),
  fc.integer({ min: 20, max: 2_000 }).map((depth) => nest(depth, 'object')),
  fc.constantFrom(...PROTOTYPE_KEYS).map((k) => JSON.parse(`{"${k}": {"polluted": true}}`) as unknown),
);

/** `[[[…1…]]]` or `{"a":{"a":…}}` nested `depth` levels, built without recursion. */
export function nest(depth: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/**
 * Payloads derived from a valid one: a field of the wrong kind, a required field missing, extra fields (prototype
 * keys among them), or the whole body replaced by something that is not an object.
 */
export function mutatedValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const props = Object.keys(schema.properties ?? {});
  const required = schema.required ?? [];
  const base = validValue(schema) as fc.Arbitrary<Record<string, unknown>>;
  const variants: fc.Arbitrary<unknown>[] = [
    // Through JSON text, so a `__proto__` key is an own key as it is in a parsed request.
    fc.tuple(base, fc.constantFrom(...PROTOTYPE_KEYS, 'extra', 'a'.repeat(300)), hostileValue).map(([b, k, v]) => {
      const rest = JSON.stringify(b).slice(1);
      return JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}${rest === '}' ? '' : ','}${rest}`) as unknown;
    }),
    hostileValue,
  ];
  if (props.length > 0) variants.push(fc.tuple(base, fc.constantFrom(...props), hostileValue).map(([b, k, v]) => ({ ...b, [k]: v })));
  if (required.length > 0) variants.push(fc.tuple(base, fc.constantFrom(...required)).map(([b, k]) => Object.fromEntries(Object.entries(b).filter(([key]) => key !== k))));
  return fc.oneof(...variants);
}
