// Writes docs/crd-reference.md from the CRD schemas in crds/:
// `npm run crd-docs`. With --check it writes nothing and exits 1 when the
// page is stale. Run `npm run crds` first when the API types changed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

const root = join(import.meta.dirname, '..');
const crdsDir = join(root, 'crds');
const outputPath = join(root, 'docs', 'crd-reference.md');

/** The parts of an OpenAPI v3 schema that the CRDs use. */
interface Schema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string }[];
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  priority?: number;
  description?: string;
}

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
      additionalPrinterColumns?: PrinterColumn[];
    }[];
  };
}

/** One row of a field table. */
interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  defaultValue: string;
  rules: string[];
  description: string;
}

/** Escapes text for one Markdown table cell. Backslashes stay, because code spans show them literally. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ').trim();
}

function code(text: string): string {
  return `\`${text.replace(/`/g, '\'')}\``;
}

function typeOf(schema: Schema): string {
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return 'object (any fields)';
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'object' && schema.additionalProperties) return `map of ${typeOf(schema.additionalProperties)}`;
  const base = schema.type ?? 'any';
  return schema.format ? `${base} (${schema.format})` : base;
}

function rulesOf(schema: Schema): string[] {
  const rules: string[] = [];
  if (schema.enum) rules.push(`one of ${schema.enum.map((value) => code(String(value))).join(', ')}`);
  if (schema.minimum !== undefined) rules.push(`minimum ${schema.minimum}`);
  if (schema.maximum !== undefined) rules.push(`maximum ${schema.maximum}`);
  if (schema.minLength !== undefined) rules.push(`minLength ${schema.minLength}`);
  if (schema.maxLength !== undefined) rules.push(`maxLength ${schema.maxLength}`);
  if (schema.minItems !== undefined) rules.push(`minItems ${schema.minItems}`);
  if (schema.maxItems !== undefined) rules.push(`maxItems ${schema.maxItems}`);
  if (schema.pattern !== undefined) rules.push(`pattern ${code(schema.pattern)}`);
  if (schema['x-kubernetes-list-type']) {
    const keys = schema['x-kubernetes-list-map-keys'];
    rules.push(`list type ${schema['x-kubernetes-list-type']}${keys ? ` keyed by ${keys.join(', ')}` : ''}`);
  }
  for (const validation of schema['x-kubernetes-validations'] ?? []) {
    rules.push(`CEL ${code(validation.rule)}${validation.message ? `: ${validation.message}` : ''}`);
  }
  return rules;
}

/** Lists every field under `schema` in document order, depth first. */
function collectFields(schema: Schema, path: string, required: boolean, rows: FieldRow[]): void {
  rows.push({
    path,
    type: typeOf(schema),
    required,
    defaultValue: schema.default === undefined ? '' : code(JSON.stringify(schema.default)),
    rules: rulesOf(schema),
    description: schema.description ?? '',
  });
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    collectFields(child, `${path}.${name}`, (schema.required ?? []).includes(name), rows);
  }
  if (schema.items?.properties) {
    for (const [name, child] of Object.entries(schema.items.properties)) {
      collectFields(child, `${path}[].${name}`, (schema.items.required ?? []).includes(name), rows);
    }
  }
}

function fieldTable(schema: Schema, path: string, required: boolean): string[] {
  const rows: FieldRow[] = [];
  collectFields(schema, path, required, rows);
  const lines = ['| Field | Type | Required | Default | Validation | Description |', '| --- | --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    lines.push(`| ${code(row.path)} | ${cell(row.type)} | ${row.required ? 'yes' : ''} | ${cell(row.defaultValue)} | ${cell(row.rules.join('; '))} | ${cell(row.description)} |`);
  }
  return lines;
}

function renderCrd(crd: Crd): string[] {
  const { group, scope, names } = crd.spec;
  const lines: string[] = [`## ${names.kind}`, ''];
  const facts = [
    `- API: ${code(`${group}/${crd.spec.versions.map((version) => version.name).join(', ')}`)}, kind ${code(names.kind)}, ${scope.toLowerCase()}`,
    `- Names: ${[names.plural, names.singular, ...(names.shortNames ?? [])].map(code).join(', ')}`,
  ];
  if (names.categories?.length) facts.push(`- Categories: ${names.categories.map(code).join(', ')} (\`kubectl get ${names.categories[0]}\` lists every kind in it)`);
  lines.push(...facts, '');

  for (const version of crd.spec.versions) {
    const schema = version.schema.openAPIV3Schema;
    lines.push(`### ${version.name}`, '');
    if (schema.description) lines.push(schema.description, '');
    const subresources: string[] = [];
    if (version.subresources?.status) subresources.push('`status`');
    const scale = version.subresources?.scale;
    if (scale) subresources.push(`\`scale\` (replicas ${code(scale.specReplicasPath)}, status ${code(scale.statusReplicasPath)}${scale.labelSelectorPath ? `, selector ${code(scale.labelSelectorPath)}` : ''})`);
    if (subresources.length > 0) lines.push(`Subresources: ${subresources.join(', ')}.`, '');

    const columns = version.additionalPrinterColumns ?? [];
    if (columns.length > 0) {
      lines.push('Printer columns (`kubectl get`; priority 1 shows only with `-o wide`):', '', '| Column | Type | JSONPath | Priority |', '| --- | --- | --- | --- |');
      for (const column of columns) lines.push(`| ${column.name} | ${column.type} | ${code(column.jsonPath)} | ${column.priority ?? 0} |`);
      lines.push('');
    }

    for (const part of ['spec', 'status']) {
      const partSchema = schema.properties?.[part];
      if (!partSchema) continue;
      lines.push(`#### ${part}`, '', ...fieldTable(partSchema, part, (schema.required ?? []).includes(part)), '');
    }
  }
  return lines;
}

/** Renders the whole reference page from the CRD files in crds/. */
export function renderReference(): string {
  const files = readdirSync(crdsDir).filter((file) => file.endsWith('.yaml')).sort();
  const lines = [
    '# CRD reference',
    '',
    '<!-- Generated by `npm run crd-docs` from crds/*.yaml; do not edit. -->',
    '',
    'Fields of the custom resources the operator serves, from the OpenAPI schemas that the apiserver',
    'enforces. `Required` is relative to the parent object: a required field inside an optional object',
    'is required only when that object is set. CEL rules run in the apiserver, so a violation is',
    'rejected by `kubectl apply` with the message shown.',
    '',
    `Source files: ${files.map((file) => code(`crds/${file}`)).join(', ')}.`,
    '',
  ];
  for (const file of files) {
    const crd = load(readFileSync(join(crdsDir, file), 'utf8')) as Crd;
    lines.push(...renderCrd(crd));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (import.meta.main) {
  const text = renderReference();
  let current = '';
  try {
    current = readFileSync(outputPath, 'utf8');
  } catch {
    // A missing page is stale.
  }
  if (process.argv.includes('--check')) {
    if (current !== text) {
      process.stderr.write('docs/crd-reference.md is stale; run npm run crd-docs\n');
      process.exitCode = 1;
    }
  } else if (current !== text) {
    writeFileSync(outputPath, text);
    process.stdout.write('wrote docs/crd-reference.md\n');
  }
}
