/*
 * Image references in spellings Signet reads as another name, refused in the exported
 * policies. Signet matches a rule against the canonical name (see @signet/core's
 * parseImageName: GHCR.io:443/acme/shop is ghcr.io/acme/shop); Kyverno and policy-controller
 * match the reference as written, so there a respelled registry would meet another rule (or
 * none). What they cannot fold, they are told to deny: the image must be written as Signet's
 * rules name it, and then it meets the same rule there as in Signet.
 *
 * index.docker.io is left out: both controllers' own Docker Hub spelling, which the exported
 * patterns cover (see policy-export.ts).
 */

/**
 * Go (RE2) regular expressions over a whole image reference, each matching a registry that
 * Signet reads in another spelling or refuses. Every one needs a "/" after the first
 * component, so a Docker Hub name (nginx:1.27) is never taken for a registry.
 */
const RESPELLED_REGISTRY = [
  // An upper-case letter: Docker takes the first component for a registry for that alone.
  '^[^/]*[A-Z][^/]*/',
  // :443 (HTTPS's own port), :80 (refused: plain HTTP's), or a port with a leading zero.
  '^[^/]*:(?:0[0-9]*|80|443)/',
  // A trailing dot after the host.
  '^[^/]*\\.(?::[0-9]+)?/',
  // Docker Hub's other host names.
  '^(?:registry-1\\.docker\\.io|registry\\.hub\\.docker\\.com)(?::[0-9]+)?/',
  // An IPv4 address in an IPv6 one (Docker's grammar refuses the dotted form; Signet folds the hex one).
  '^\\[(?:[^/]*\\.|::ffff:)',
];

/** A registry whose last label is a number (127.1, 10.0.0.010) and so an IPv4 address to URL parsers... */
const NUMERIC_HOST = '^(?:[^/:]*\\.)?(?:0x[0-9a-f]*|[0-9]+)(?::[0-9]+)?/';
/** ...which Signet accepts only in dotted decimal; without a dot or a port the component is a Docker Hub namespace. */
const DOTTED_DECIMAL_OR_NAMESPACE =
  '^(?:(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?::[0-9]+)?|[^/.:]*)/';

/** Why a respelled reference is denied, for the exported policies' messages. */
export const RESPELLED_MESSAGE =
  'write the image as Signet names it: the registry in lower case, without :443, :80 or a trailing dot, Docker Hub as docker.io, an IPv4 address in dotted decimal';

/**
 * A Kyverno rule (kyverno.io/v1, validate with foreach) denying a Pod any of whose images,
 * containers' and image volumes' alike, names its registry in a respelling.
 */
export function kyvernoRespelledReferencesRule(): object {
  // JMESPath raw strings ('…') keep a backslash as it is, so each expression goes in unchanged.
  const respelled = (value: string) => [
    ...RESPELLED_REGISTRY.map((re) => ({ key: `{{ regex_match('${re}', ${value} || '') }}`, operator: 'Equals', value: true })),
    {
      key: `{{ regex_match('${NUMERIC_HOST}', ${value} || '') && !regex_match('${DOTTED_DECIMAL_OR_NAMESPACE}', ${value} || '') }}`,
      operator: 'Equals',
      value: true,
    },
  ];
  return {
    name: 'respelled-image-references',
    match: { any: [{ resources: { kinds: ['Pod'] } }] },
    validate: {
      failureAction: 'Enforce',
      message: RESPELLED_MESSAGE,
      foreach: [
        {
          list: 'request.object.spec.[initContainers, containers, ephemeralContainers][]',
          deny: { conditions: { any: respelled('element.image') } },
        },
        { list: 'request.object.spec.volumes[?image].image || `[]`', deny: { conditions: { any: respelled('element.reference') } } },
      ],
    },
  };
}

/**
 * policy-controller globs (pkg/apis/glob: * is [^/]*, ** is .*, over go-containerregistry's
 * ref.Name()) matching the respellings its globs can express, for a ClusterImagePolicy whose
 * one authority fails. It has no character classes: an upper-case letter is 26 globs, and a
 * numeric or IPv6 host cannot be told from a canonical one (policyControllerPolicy warns).
 */
export const POLICY_CONTROLLER_RESPELLED_GLOBS: readonly string[] = [
  ...[...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((letter) => `*${letter}*/**`),
  '*:443/**',
  '*:80/**',
  '*:0*/**',
  '*./**',
  '*.:*/**',
  'registry-1.docker.io/**',
  'registry-1.docker.io:*/**',
  'registry.hub.docker.com/**',
  'registry.hub.docker.com:*/**',
];

/**
 * A CEL expression (Kyverno ImageValidatingPolicy) true when the image reference in the
 * variable `value` names its registry in a respelling. CEL's matches() is RE2, as Go's regexp
 * is, and a raw string (r'…') keeps each backslash as it is.
 */
export function celRespelledReference(value: string): string {
  const matches = (re: string) => `${value}.matches(r'${re}')`;
  return [...RESPELLED_REGISTRY.map(matches), `(${matches(NUMERIC_HOST)} && !${matches(DOTTED_DECIMAL_OR_NAMESPACE)})`].join(' || ');
}
