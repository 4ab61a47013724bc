import { type GatePolicy, predicateTypeName, SignetError } from '@signet/core';
import { exportName, type ImageRule, imageRules, type PolicyExport, Signers, Warnings } from './policy-export';
import { celRespelledReference, RESPELLED_MESSAGE } from './respelled-references';

/*
 * A gate policy's `kind: image` rules as one Kyverno ImageValidatingPolicy
 * (policies.kyverno.io/v1), the successor of ClusterPolicy verifyImages. Its checks are CEL
 * expressions, which can say what verifyImages could not:
 * - Signet's rules match the canonical REGISTRY/REPOSITORY against picomatch globs. Here each
 *   image's name is read by parseImageReference (go-containerregistry, as Kyverno reads it to
 *   verify it, Docker Hub as index.docker.io) and matched against an RE2 expression of the
 *   globs, exactly.
 * - Signet applies the first rule that matches an image, and denies an image none matches: a
 *   variable gives each image its first matching rule, and each rule verifies its own images.
 * What it cannot say (a key's validity window, a certificate's source repository) is returned
 * as a warning, as the other exports do.
 *
 * Written against Kyverno 1.19 (the CRDs in test/fixtures/kyverno), whose engine enforces
 * what 1.18 accepted but did not yet do (mutateDigest, verifyDigest, required).
 */

export interface ImageValidatingPolicyOptions {
  /** metadata.name (default `signet-images`). */
  name?: string;
  /** A NamespacedImageValidatingPolicy in this namespace, holding only its pods to the rules; default a cluster-wide ImageValidatingPolicy. */
  namespace?: string;
}

const API_VERSION = 'policies.kyverno.io/v1';
// RFC 1123 label, as Kubernetes names namespaces.
const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// CEL's reserved words, which cannot follow `attestors.`.
const CEL_RESERVED = new Set(
  'as break const continue else false for function if import in let loop package namespace null return true var void while'.split(' '),
);

/** The pod spec's lists of containers, each with the image a node pulls for it. */
const IMAGE_LISTS = ['initContainers', 'containers', 'ephemeralContainers'];

/**
 * A Kyverno ImageValidatingPolicy, or NamespacedImageValidatingPolicy with `namespace`: one
 * document verifying every image a Pod makes a node pull (containers', init and ephemeral
 * containers', image volumes') against the rule Signet would apply to it.
 */
export function kyvernoImageValidatingPolicy(policy: GatePolicy, options: ImageValidatingPolicyOptions = {}): PolicyExport {
  const name = exportName(options);
  const namespace = options.namespace === undefined ? undefined : namespaceName(options.namespace);
  const warnings = new Warnings('Kyverno');
  const rules = imageRules(policy, warnings);
  const attestors = new Attestors(new Signers(policy, warnings), rules);
  const attestations = new Map<string, string>();

  const validations: object[] = [
    { expression: `variables.imageReferences.all(image, !(${celRespelledReference('image')}))`, message: RESPELLED_MESSAGE },
  ];
  if (!rules.some((rule) => rule.all)) {
    validations.push({
      expression: "variables.imageRules.all(image, image.rule != '')",
      message: 'an image that no kind: image rule of the Signet policy covers: Signet denies it',
    });
  }
  for (const current of rules) {
    const { index, rule } = current;
    const own = `variables.imageRules.filter(image, image.rule == '${index}')`;
    const where = `rules[${index}] (${current.all ? '**' : (rule.match ?? []).join(', ')})`;
    validations.push({
      expression: `${own}.all(image, verifyImageSignatures(image.image, ${attestors.list(rule.signers, rule.tlog)}) > 0)`,
      message: `${where}: the image must be signed by ${oneOf(rule.signers)}`,
    });
    for (const required of rule.attestations) {
      const attestation = attestationName(attestations, required.predicateType);
      validations.push({
        expression: `${own}.all(image, verifyAttestationSignatures(image.image, attestations.${attestation}, ${attestors.list(required.signers, rule.tlog)}) > 0)`,
        message: `${where}: the image must have a ${required.predicateType} attestation signed by ${oneOf(required.signers)}`,
      });
    }
  }

  const document = {
    apiVersion: API_VERSION,
    kind: namespace === undefined ? 'ImageValidatingPolicy' : 'NamespacedImageValidatingPolicy',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec: {
      // Pods only: adding pods/ephemeralcontainers (kubectl debug) turns off Kyverno's autogen
      // for Deployments and the rest, whose pods are then checked as they are created.
      matchConstraints: {
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'] },
        ],
      },
      // An update is checked when it brings an image that the same container or volume did not
      // have: a label or finalizer change must not fail, nor re-pin, because of images admitted before.
      matchConditions: [{ name: 'brings-an-image', expression: bringsAnImage() }],
      // Fail closed, with the longest timeout the API server allows (registry and log round trips).
      failurePolicy: 'Fail',
      validationActions: ['Deny'],
      webhookConfiguration: { timeoutSeconds: 30 },
      // No background scans, which would re-verify running Pods against registries.
      evaluation: { background: { enabled: false } },
      // Every image: the rules below choose what each one needs.
      matchImageReferences: [{ glob: '*' }],
      // Kyverno extracts the containers' images itself; a volume's image is pulled as well.
      images: [
        {
          name: 'imageVolumes',
          expression: 'has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.image)).map(v, v.image.reference) : []',
        },
      ],
      // Tags are pinned to the digests verified (containers'; an image volume must name its
      // digest), and every image must have been verified.
      validationConfigurations: { mutateDigest: true, verifyDigest: true, required: true },
      attestors: attestors.definitions(),
      ...(attestations.size > 0
        ? {
            attestations: [...attestations].map(([predicateType, attestation]) => ({ name: attestation, intoto: { type: predicateType } })),
          }
        : {}),
      variables: [
        { name: 'imageReferences', expression: [...IMAGE_LISTS, 'imageVolumes'].map((list) => `images.${list}`).join(' + ') },
        // Signet's rule for each image: the first whose globs match its name ('' when none does).
        { name: 'imageRules', expression: imageRulesExpression(rules) },
      ],
      validations,
    },
  };
  return { documents: [document], warnings: warnings.list() };
}

function namespaceName(namespace: string): string {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    throw new SignetError({
      code: 'E_USAGE',
      message: `"${namespace}" is not a Kubernetes namespace name: use lowercase letters, digits and "-" (at most 63)`,
    });
  }
  return namespace;
}

/** `variables.imageRules`: `{image, rule}` per image reference, rule the index of Signet's rule as a string. */
function imageRulesExpression(rules: readonly ImageRule[]): string {
  const reference = 'parseImageReference(reference)';
  // go-containerregistry names Docker Hub index.docker.io, Signet docker.io; both add library/.
  const name = `(${reference}.registry() == 'index.docker.io' ? 'docker.io' : ${reference}.registry()) + '/' + ${reference}.repository()`;
  let chain = "''";
  for (const { index, all, patterns } of [...rules].reverse()) {
    if (all) {
      chain = `'${index}'`;
      continue;
    }
    const regExp = `^(?:${patterns.map((pattern) => pattern.regExp).join('|')})$`;
    // No quote can be in a glob that names images, and so none in a raw string.
    if (regExp.includes("'")) throw new SignetError({ code: 'E_INPUT', message: `rules[${index}].match: an image glob has no quote` });
    chain = `image.name.matches(r'${regExp}') ? '${index}' : ${chain}`;
  }
  return `variables.imageReferences.map(reference, {'image': reference, 'name': ${name}}).map(image, {'image': image.image, 'rule': ${chain}})`;
}

/**
 * Whether the request brings an image: a create, or an update in which a container (or image
 * volume) has an image that the one of the same name did not have before.
 */
function bringsAnImage(): string {
  const added = (list: string, image: string) =>
    `(has(object.spec.${list}) && object.spec.${list}.exists(c, ${list === 'volumes' ? 'has(c.image) && ' : ''}!(has(oldObject.spec.${list}) && oldObject.spec.${list}.exists(o, o.name == c.name && ${list === 'volumes' ? 'has(o.image) && ' : ''}o.${image} == c.${image}))))`;
  return ["request.operation == 'CREATE'", ...IMAGE_LISTS.map((list) => added(list, 'image')), added('volumes', 'image.reference')].join(
    ' || ',
  );
}

/** The policy's signers as the attestors the validations name, one per key and log requirement. */
class Attestors {
  private readonly names = new Map<string, string>();
  private readonly attestors: object[] = [];
  /** Signers some rule needs without a log entry: a key also needed with one is then a second attestor, NAME-tlog. */
  private readonly unlogged: Set<string>;

  constructor(
    private readonly signers: Signers,
    rules: readonly ImageRule[],
  ) {
    this.unlogged = new Set(
      rules.filter(({ rule }) => !rule.tlog).flatMap(({ rule }) => [...rule.signers, ...rule.attestations.flatMap((a) => a.signers)]),
    );
  }

  /** A CEL list of the attestors for these signers. */
  list(signers: readonly string[], tlog: boolean): string {
    return `[${signers.map((signer) => `attestors${this.reference(signer, tlog)}`).join(', ')}]`;
  }

  definitions(): object[] {
    return this.attestors;
  }

  private reference(signer: string, tlog: boolean): string {
    const attestor = this.signers.imageValidatingAttestor(signer, tlog);
    const key = JSON.stringify(attestor);
    let name = this.names.get(key);
    if (name === undefined) {
      const isKey = 'key' in (attestor as { cosign: object }).cosign;
      const base = isKey && tlog && this.unlogged.has(signer) ? `${signer}-tlog` : signer;
      const taken = new Set(this.names.values());
      name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
      this.names.set(key, name);
      this.attestors.push({ name, ...attestor });
    }
    return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !CEL_RESERVED.has(name) ? `.${name}` : `['${name}']`;
  }
}

/** The name of the policy's attestation of this predicate type, a CEL identifier. */
function attestationName(attestations: Map<string, string>, predicateType: string): string {
  let name = attestations.get(predicateType);
  if (name === undefined) {
    const short = predicateTypeName(predicateType);
    name = /^[a-z][a-z0-9]*$/.test(short) && !CEL_RESERVED.has(short) ? short : `attestation${attestations.size}`;
    attestations.set(predicateType, name);
  }
  return name;
}

function oneOf(signers: readonly string[]): string {
  return signers.length === 1 ? (signers[0] as string) : `one of ${signers.join(', ')}`;
}
