import { SignetError } from './errors';

/*
 * Image names in one canonical spelling, REGISTRY/REPOSITORY: what gate policies match, what
 * signatures name, what the admission webhook pins and caches. Rules and images meet only
 * here, so two spellings that a puller reads as the same repository must come out the same:
 * the host's case, the HTTPS port, a trailing dot, IPv6 notation, Docker Hub's other host
 * names and its library/ namespace are folded. A spelling whose meaning depends on who reads
 * it (port 80, a numeric host that is not dotted decimal) is refused rather than guessed at.
 *
 * Not folded: names that only resolve to the same address (localhost and 127.0.0.1, a host
 * name and its IP address). Under HTTPS the certificate binds a registry to its name; a
 * plain-HTTP registry answers to every name that resolves to it, which no spelling rule can
 * close (see docs/gate.md).
 */

/** REGISTRY/REPOSITORY, canonical: `ghcr.io` + `acme/shop`, `docker.io` + `library/nginx`. */
export interface ImageName {
  /** The host in lower case, with its port unless it is 443: `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  registry: string;
  repository: string;
}

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's other host names, each serving the same repositories. */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
/** The HTTPS port: the registry itself, as every puller reaches a registry named without a port. */
const HTTPS_PORT = 443;
// The distribution spec's grammar for a path component: lower-case alphanumerics joined by separators.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const DOTTED_DECIMAL = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** Where WHATWG URL (and so Node's fetch) reads a host as IPv4: its last label is a number. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/;
const GLOB_SYNTAX = /[*?[\]{}()!+@]/;

/**
 * Reads `[REGISTRY/]REPOSITORY` (no tag or digest) as Docker does, in the canonical spelling.
 * The first component is a registry when it has a dot or a port, is localhost, or has an
 * upper-case letter (Docker's rule); otherwise the image is on Docker Hub, where one-component
 * names live under library/. `reference` is the whole reference, for the message.
 * Throws E_INPUT.
 */
export function parseImageName(name: string, reference: string = name): ImageName {
  const read = readImageName(name);
  if ('problem' in read) throw new SignetError({ code: 'E_INPUT', message: `"${reference}" is not an image reference: ${read.problem}` });
  return read;
}

function readImageName(name: string): ImageName | { problem: string } {
  const parts = name.split('/');
  const first = parts[0] as string;
  let registry = DOCKER_HUB;
  if (parts.length > 1 && namesRegistry(first)) {
    const canonical = canonicalRegistry(first);
    if ('problem' in canonical) return canonical;
    registry = canonical.registry;
    // Lower-cased, a name that was a registry only for its capitals would read as a Docker Hub namespace.
    if (!namesRegistry(registry)) {
      return {
        problem: `"${first}" is a registry to Docker only for its capital letters; a registry's name has a dot or a port, or is localhost`,
      };
    }
    parts.shift();
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const bad = parts.find((part) => !COMPONENT.test(part));
  if (bad !== undefined)
    return { problem: `"${bad}" is not a valid repository name component (lower-case letters, digits, ".", "_", "-")` };
  return { registry, repository: parts.join('/') };
}

/**
 * A gate policy's image glob in the spelling of the names it is matched against, or E_INPUT
 * when no canonical name could ever match it (an upper-case letter, `:443`, a Docker Hub alias
 * in a glob, a tag or digest). A literal registry is made canonical (`ghcr.io:443/acme/**` is
 * `ghcr.io/acme/**`); a first component that is no registry is Docker Hub's, as in a
 * reference (`nginx` is `docker.io/library/nginx`, `acme/*` is `docker.io/acme/*`).
 */
export function canonicalImagePattern(glob: string): string {
  const fail = (why: string): never => {
    throw new SignetError({ code: 'E_INPUT', message: `"${glob}" ${why}` });
  };
  if (/[^\x21-\x7e]/.test(glob)) fail('can never match: image names are ASCII (a look-alike letter is another name)');
  if (/[A-Z]/.test(glob)) fail(`can never match: image names are read in lower case; write "${glob.toLowerCase()}"`);
  const slash = glob.indexOf('/');
  // The first segment may be a registry with a port; after it, ":" or "@" starts a tag or digest.
  const repository = glob.slice(slash + 1);
  if (repository.includes(':') || repository.includes('@')) {
    fail('names a tag or digest; an image rule matches REGISTRY/REPOSITORY (globs), and every tag and digest of it is checked');
  }
  if (glob === '**') return glob;
  if (!GLOB_SYNTAX.test(glob)) {
    const name = readImageName(glob);
    return 'problem' in name ? fail(`can never match: ${name.problem}`) : `${name.registry}/${name.repository}`;
  }
  if (slash < 0) fail('can never match: an image name is REGISTRY/REPOSITORY, and a glob without "/" (other than **) covers none');
  const head = glob.slice(0, slash);
  if (!GLOB_SYNTAX.test(head)) {
    if (!namesRegistry(head)) return `${DOCKER_HUB}/${glob}`;
    const canonical = canonicalRegistry(head);
    if ('problem' in canonical) return fail(`can never match: ${canonical.problem}`);
    const oneComponent = canonical.registry === DOCKER_HUB && !repository.includes('/') && repository !== '**';
    return `${canonical.registry}/${oneComponent ? 'library/' : ''}${repository}`;
  }
  return `${registryGlob(head, fail)}/${repository}`;
}

/** Docker's test for a first component that names a registry rather than a Docker Hub namespace. */
function namesRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component !== component.toLowerCase();
}

type Canonical = { registry: string } | { problem: string };

/** HOST[:PORT] in its canonical spelling, or why it cannot be one. */
function canonicalRegistry(given: string): Canonical {
  const problem = (why: string): Canonical => ({ problem: why });
  const ipv6 = given.startsWith('[');
  const end = ipv6 ? given.indexOf(']') + 1 : given.includes(':') ? given.indexOf(':') : given.length;
  if (ipv6 && end === 0) return problem(`"${given}" opens an IPv6 address with "[" and does not close it`);
  const host = given.slice(0, end);
  const portText = given.slice(end);
  if (portText !== '' && !/^:\d+$/.test(portText)) return problem(`"${given}" is not HOST[:PORT]`);
  let canonical: string;
  if (ipv6) {
    // Docker's grammar: hex digits and colons only (no zone, no embedded dotted IPv4).
    const address = /^\[[0-9a-fA-F:]+\]$/.test(host) ? ipv6Hostname(host) : undefined;
    if (address === undefined) return problem(`"${host}" is not an IPv6 address`);
    canonical = address;
  } else {
    // A trailing dot names the same host from the root of DNS.
    const lower = host.toLowerCase().replace(/\.$/, '');
    const labels = lower.split('.');
    if (!labels.every((label) => LABEL.test(label))) {
      return problem(`"${host}" is not a host name (ASCII letters, digits and "-", in labels joined by ".")`);
    }
    // 127.1, 0x7f.0.0.1 and 017.0.0.1 are 127.0.0.1 to inet_aton and URL parsers, and host names to Go.
    if (NUMERIC_LABEL.test(labels[labels.length - 1] as string) && !DOTTED_DECIMAL.test(lower)) {
      return problem(
        `"${host}" is not a dotted-decimal IPv4 address, and resolvers disagree on what it names; write the address as a.b.c.d`,
      );
    }
    canonical = lower;
  }
  if (portText !== '') {
    const port = Number(portText.slice(1));
    if (port < 1 || port > 65535) return problem(`${portText.slice(1)} is not a port number (1-65535)`);
    if (port === 80) {
      return problem(
        `port 80 is plain HTTP's, so whether ${canonical}:80 is the registry ${canonical} depends on how each puller reaches it; name the registry without it`,
      );
    }
    if (port !== HTTPS_PORT) canonical += `:${port}`;
  }
  return { registry: DOCKER_HUB_ALIASES.has(canonical) ? DOCKER_HUB : canonical };
}

/** The address as WHATWG URL writes it (RFC 5952: lower case, zeros compressed); an IPv4-mapped one as that IPv4 address. */
function ipv6Hostname(host: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(hostname);
  if (!mapped) return hostname;
  const [high, low] = [Number.parseInt(mapped[1] as string, 16), Number.parseInt(mapped[2] as string, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * A first segment with wildcards. Only its literal host before a `:PORT` glob can be made
 * canonical (`127.0.0.1:*`); what is refused are the spellings no canonical name has.
 */
function registryGlob(head: string, fail: (why: string) => never): string {
  if (/(^|[^\\])\[/.test(head)) fail('can never match: "[" starts a character class in a glob; escape an IPv6 address as \\[::1\\]');
  if (/:(?:443|80|0\d*)(?!\d)/.test(head)) fail('can never match: image names carry no :443, :80 or leading zeros in a port');
  if (/\.(?=$|:|[,}])/.test(head)) fail('can never match: image names carry no trailing dot after a host');
  for (const alias of DOCKER_HUB_ALIASES) if (head.includes(alias)) fail(`can never match: image names call ${alias} ${DOCKER_HUB}`);
  const literalHost = /^([^*?[\]{}()!+@:]+):(.*)$/.exec(head);
  if (!literalHost) return head;
  const canonical = canonicalRegistry(literalHost[1] as string);
  if ('problem' in canonical) return fail(`can never match: ${canonical.problem}`);
  return `${canonical.registry}:${literalHost[2]}`;
}
