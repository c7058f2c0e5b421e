// Builders for the OpenAPI v3 schemas of our CRDs. Each builder returns the
// plain schema object that goes into crds/*.yaml and carries the TypeScript
// type of the values it accepts, so `Infer<typeof schema>` is the type the
// controller reads and the two cannot drift apart.

declare const VALUE_TYPE: unique symbol;

/** A CEL rule in `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  /** A field path relative to the schema node, for the error. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** An OpenAPI v3 schema node as apiextensions.k8s.io/v1 accepts it. */
export interface JsonSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  description?: string;
  format?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema;
  required?: readonly string[];
  'x-kubernetes-validations'?: readonly CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-embedded-resource'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** A schema node tagged with the TypeScript type of the values it accepts. */
export type Schema<T> = JsonSchema & { readonly [VALUE_TYPE]?: T };

/** The TypeScript type of the values a schema accepts. */
export type Infer<S> = S extends { readonly [VALUE_TYPE]?: infer T } ? Exclude<T, undefined> : never;

type Common = Pick<JsonSchema, 'description' | 'x-kubernetes-validations'>;

/** Options of a string node. */
export interface StringOptions<E extends string> extends Common {
  enum?: readonly E[];
  default?: E;
  format?: 'date-time' | 'int-or-string' | string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/** A string; with `enum`, a union of its members. */
export function string<const E extends string = string>(options: StringOptions<E> = {}): Schema<E> {
  return { type: 'string', ...options };
}

/** Options of an integer node. */
export interface IntegerOptions extends Common {
  format?: 'int32' | 'int64';
  default?: number;
  minimum?: number;
  maximum?: number;
}

/** A whole number. */
export function integer(options: IntegerOptions = {}): Schema<number> {
  return { type: 'integer', ...options };
}

/** A boolean. */
export function boolean(options: Common & { default?: boolean } = {}): Schema<boolean> {
  return { type: 'boolean', ...options };
}

/** A list of `items`. */
export function array<I extends JsonSchema>(items: I, options: Common & Pick<JsonSchema, 'minItems' | 'maxItems' | 'x-kubernetes-list-type' | 'x-kubernetes-list-map-keys'> = {}): Schema<Infer<I>[]> {
  return { type: 'array', items, ...options };
}

/** A map from string keys to `values`. */
export function map<V extends JsonSchema>(values: V, options: Common = {}): Schema<Record<string, Infer<V>>> {
  return { type: 'object', additionalProperties: values, ...options };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The value type of an object node: `required` keys are mandatory, the rest optional. */
export type ObjectValue<P extends Record<string, JsonSchema>, R extends keyof P> = Simplify<
  { [K in R]: Infer<P[K]> } & { [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

/** An object with known `properties`; unknown fields are pruned by the apiserver. */
export function object<P extends Record<string, JsonSchema>, const R extends keyof P & string = never>(
  properties: P,
  options: Common & { required?: readonly R[]; default?: Record<string, unknown> } = {},
): Schema<ObjectValue<P, R>> {
  const { required, ...rest } = options;
  return { type: 'object', properties, ...(required && required.length > 0 ? { required } : {}), ...rest };
}

/**
 * An embedded object whose fields the apiserver keeps without checking them,
 * such as a PodTemplateSpec. Use it only where a Kubernetes type is embedded.
 */
export function preserved<T>(options: Common = {}): Schema<T> {
  return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...options };
}
