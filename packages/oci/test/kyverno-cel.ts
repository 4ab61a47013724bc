/*
 * An exported ImageValidatingPolicy run on a Pod admission request, as Kyverno 1.19 runs it
 * (pkg/image/verification/evaluator: compiledPolicy.Evaluate and EnforceRequired), with its CEL
 * evaluated by a real CEL implementation (@bufbuild/cel, RE2 for matches()). Kyverno's own
 * functions are stood in for: verifyImageSignatures and verifyAttestationSignatures count the
 * attestors that the test says signed, parseImageReference reads a name as go-containerregistry
 * does (Docker Hub as index.docker.io), for references written as Signet names them.
 */
import { CelScalar, celFunc, celMethod, isCelList, listType, mapType, run } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { parseImageReference } from '../src';

export interface Pod {
  spec: {
    containers?: { name: string; image: string }[];
    initContainers?: { name: string; image: string }[];
    ephemeralContainers?: { name: string; image: string }[];
    volumes?: { name: string; image?: { reference: string } }[];
  };
}

export interface Signatures {
  /** Whether this attestor (by the exported attestor's name) signed the image. */
  signed(image: string, attestor: string): boolean;
  /** Whether this attestor signed an attestation of this predicate type for the image. */
  attested?(image: string, predicateType: string, attestor: string): boolean;
}

export interface Admission {
  /** The policy applies to the request (matchConditions). */
  matched: boolean;
  /** The denial's message; undefined when admitted. */
  denied?: string;
  /** Each verification call: image and attestor names, and the predicate type for an attestation. */
  calls: { image: string; attestors: string[]; predicateType?: string }[];
}

interface IvpSpec {
  matchConditions: { expression: string }[];
  matchImageReferences: { glob: string }[];
  images: { name: string; expression: string }[];
  validationConfigurations: { verifyDigest: boolean; required: boolean };
  attestors: { name: string }[];
  attestations?: { name: string; intoto: { type: string } }[];
  variables: { name: string; expression: string }[];
  validations: { expression: string; message: string }[];
}

const IMAGE = mapType(CelScalar.STRING, CelScalar.STRING);

export function admit(document: object, object: Pod, signatures: Signatures, oldObject?: Pod): Admission {
  const { spec } = document as { spec: IvpSpec };
  const request = { operation: oldObject === undefined ? 'CREATE' : 'UPDATE' };
  const calls: Admission['calls'] = [];
  const verified = new Map<string, boolean>();
  const names = (list: unknown) => [...(isCelList(list) ? list : [])].map(String);
  const predicateTypes = new Map((spec.attestations ?? []).map((a) => [a.name, a.intoto.type]));
  const funcs = [
    ...strings,
    celFunc('verifyImageSignatures', [CelScalar.STRING, listType(CelScalar.DYN)], CelScalar.INT, (image, list) => {
      const attestors = names(list);
      calls.push({ image, attestors });
      const count = attestors.filter((attestor) => signatures.signed(image, attestor)).length;
      verified.set(image, count > 0);
      return BigInt(count);
    }),
    celFunc(
      'verifyAttestationSignatures',
      [CelScalar.STRING, CelScalar.STRING, listType(CelScalar.DYN)],
      CelScalar.INT,
      (image, attestation, list) => {
        const predicateType = predicateTypes.get(attestation);
        if (predicateType === undefined) throw new Error(`attestation not found in policy: ${attestation}`);
        const attestors = names(list);
        calls.push({ image, attestors, predicateType });
        const count = attestors.filter((attestor) => signatures.attested?.(image, predicateType, attestor)).length;
        verified.set(image, count > 0);
        return BigInt(count);
      },
    ),
    celFunc('parseImageReference', [CelScalar.STRING], IMAGE, (reference) => {
      const { registry, repository } = parseImageReference(reference);
      return new Map([
        ['registry', registry === 'docker.io' ? 'index.docker.io' : registry],
        ['repository', repository],
      ]);
    }),
    celMethod('registry', IMAGE, [], CelScalar.STRING, function () {
      return this.get('registry') as string;
    }),
    celMethod('repository', IMAGE, [], CelScalar.STRING, function () {
      return this.get('repository') as string;
    }),
  ];
  const evaluate = (expression: string, bindings: Record<string, unknown>) => {
    // biome-ignore lint/suspicious/noExplicitAny: the evaluator takes any CEL input
    const result = run(expression, bindings as any, { funcs });
    if (result instanceof Error) throw result;
    return result;
  };
  const input = { request, object, oldObject: oldObject ?? null };

  for (const { expression } of spec.matchConditions) {
    if (evaluate(expression, input) !== true) return { matched: false, calls };
  }
  // Kyverno's own extractors for a Pod, then the policy's.
  const images = new Map<string, string[]>(
    (['containers', 'initContainers', 'ephemeralContainers'] as const).map((list) => [list, (object.spec[list] ?? []).map((c) => c.image)]),
  );
  for (const { name, expression } of spec.images) images.set(name, names(evaluate(expression, input)));
  expect(spec.matchImageReferences).toEqual([{ glob: '*' }]);
  const all = [...images.values()].flat();
  if (spec.validationConfigurations.verifyDigest) {
    // go-containerregistry's name.ParseReference, looser than Signet's: a reference with a digest is name.Digest.
    const tagged = all.find((image) => !image.includes('@'));
    if (tagged !== undefined) return { matched: true, denied: `image ${tagged} does not have a digest`, calls };
  }
  const variables = new Map<string, unknown>();
  const bindings = () => ({
    ...input,
    images,
    variables,
    attestors: new Map(spec.attestors.map(({ name }) => [name, name])),
    attestations: new Map((spec.attestations ?? []).map(({ name }) => [name, name])),
  });
  // Kyverno's variables are lazy: each is evaluated when an expression first uses it.
  const withVariables = (expression: string) => {
    for (const [, name] of expression.matchAll(/variables\.(\w+)/g)) {
      const variable = spec.variables.find((v) => v.name === name);
      if (variable === undefined) throw new Error(`no variable ${name}`);
      if (!variables.has(name as string)) variables.set(name as string, evaluate(withVariables(variable.expression), bindings()));
    }
    return expression;
  };
  for (const { expression, message } of spec.validations) {
    if (evaluate(withVariables(expression), bindings()) !== true) return { matched: true, denied: message, calls };
  }
  if (spec.validationConfigurations.required) {
    const unverified = all.find((image) => verified.get(image) !== true);
    if (unverified !== undefined) return { matched: true, denied: `image ${unverified} is not verified`, calls };
  }
  return { matched: true, calls };
}
