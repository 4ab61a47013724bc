// Kyverno's published CRD schemas (fixtures/kyverno, see SOURCE.md), checked as the API server checks an object.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';

const CRDS: Record<string, string> = {
  'kyverno.io/v1 ClusterPolicy': 'kyverno.io_clusterpolicies.yaml',
  'policies.kyverno.io/v1 ImageValidatingPolicy': 'policies.kyverno.io_imagevalidatingpolicies.yaml',
  'policies.kyverno.io/v1 NamespacedImageValidatingPolicy': 'policies.kyverno.io_namespacedimagevalidatingpolicies.yaml',
};

type Schema = Record<string, unknown>;

// Not strict: a structural schema's oneOf lists only which field is required (required: [cosign]),
// which Ajv's strict mode takes for a mistake.
const ajv = new Ajv({ allErrors: true, strict: false });
// Ajv checks these formats only as far as JSON can: the API server's own checks are the same.
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
// Kubernetes' structural-schema extensions: a set or a map-list has no two equal items (or keys);
// the others change how objects merge or are pruned, which structural() below takes care of.
ajv.addKeyword({
  keyword: 'x-kubernetes-list-type',
  type: 'array',
  schemaType: 'string',
  validate: (listType: string, data: unknown[], parentSchema?: Schema) => {
    const keys = (parentSchema?.['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
    const identity = (item: unknown) =>
      JSON.stringify(listType === 'map' ? keys.map((key) => (item as Record<string, unknown>)[key]) : item);
    return listType === 'atomic' || new Set(data.map(identity)).size === data.length;
  },
});
ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys', schemaType: 'array' });
ajv.addKeyword({ keyword: 'x-kubernetes-map-type', schemaType: 'string' });
ajv.addKeyword({ keyword: 'x-kubernetes-preserve-unknown-fields', schemaType: 'boolean' });

const validators = new Map<string, ValidateFunction>();

/**
 * A CRD version's schema with what a structural schema means and JSON Schema does not say: an
 * object's fields are the ones it lists (the API server prunes others, or refuses them with
 * kubectl's default strict field validation), unless it preserves unknown fields.
 */
function structural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(structural);
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Schema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    // properties and additionalProperties hold schemas keyed by field name, whose names are not keywords.
    result[keyword] =
      keyword === 'properties'
        ? Object.fromEntries(Object.entries(value as Schema).map(([field, sub]) => [field, structural(sub)]))
        : structural(value);
  }
  if (result.properties !== undefined && result.additionalProperties === undefined && !result['x-kubernetes-preserve-unknown-fields']) {
    result.additionalProperties = false;
  }
  return result;
}

/** The `v1` schema of the CRD that serves this apiVersion and kind, compiled once. */
function validator(apiVersion: string, kind: string): ValidateFunction {
  const key = `${apiVersion} ${kind}`;
  let validate = validators.get(key);
  if (!validate) {
    const file = CRDS[key];
    if (!file) throw new Error(`no CRD for ${key} in test/fixtures/kyverno`);
    const yaml = require('yaml') as typeof import('yaml');
    const crd = yaml.parse(fs.readFileSync(path.join(__dirname, 'fixtures/kyverno', file), 'utf8'));
    const [group, version] = apiVersion.split('/');
    if (crd.spec.group !== group || crd.spec.names.kind !== kind) throw new Error(`${file} is not the CRD of ${key}`);
    const served = crd.spec.versions.find((v: { name: string; served: boolean }) => v.name === version && v.served);
    if (!served) throw new Error(`${file} does not serve ${version}`);
    validate = ajv.compile(structural(served.schema.openAPIV3Schema) as Schema);
    validators.set(key, validate);
  }
  return validate;
}

/** What the API server would refuse in a Kyverno document, one line per error (none: it is valid). */
export function kyvernoSchemaErrors(document: object): string[] {
  const { apiVersion, kind } = document as { apiVersion: string; kind: string };
  const validate = validator(apiVersion, kind);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`);
}
