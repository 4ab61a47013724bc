// The sigstore-conformance `bundle-verify` suite, through signet-conformance exactly as the
// official runner calls it: verify-bundle --bundle B (--key K | --certificate-identity I
// --certificate-oidc-issuer O) [--trusted-root T] TARGET, each case with the artifact's
// path and with sha256:HEX in its place.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type RunResult, SIGNET_CONFORMANCE, sha256Hex, signetAsync, singleErrorLine, vectorsDir } from '@signet/test-support';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const CONCURRENCY = 4;

interface Invocation {
  name: string;
  mode: 'path' | 'digest';
  shouldFail: boolean;
  args: string[];
}

function invocations(vectors: string): Invocation[] {
  const suite = path.join(vectors, 'sigstore-conformance-assets/bundle-verify');
  const publicGoodRoot = path.join(vectors, 'public-good/trusted_root.json');
  const cases = fs
    .readdirSync(suite, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return cases.flatMap((name) => {
    const dir = path.join(suite, name);
    const has = (file: string) => fs.existsSync(path.join(dir, file));
    const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();
    const artifact = has('artifact') ? path.join(dir, 'artifact') : path.join(suite, 'a.txt');
    const trust = has('key.pub')
      ? ['--key', path.join(dir, 'key.pub')]
      : [
          '--certificate-identity',
          has('identity') ? read('identity') : DEFAULT_IDENTITY,
          '--certificate-oidc-issuer',
          has('issuer') ? read('issuer') : DEFAULT_ISSUER,
        ];
    const root = has('trusted_root.json') ? path.join(dir, 'trusted_root.json') : publicGoodRoot;
    const base = ['verify-bundle', '--bundle', path.join(dir, 'bundle.sigstore.json'), ...trust, '--trusted-root', root];
    const shouldFail = name.endsWith('_fail');
    return [
      { name, mode: 'path' as const, shouldFail, args: [...base, artifact] },
      { name, mode: 'digest' as const, shouldFail, args: [...base, `sha256:${sha256Hex(fs.readFileSync(artifact))}`] },
    ];
  });
}

/** Runs every invocation, CONCURRENCY at a time, each in its own empty directory. */
async function runAll(all: Invocation[]): Promise<Map<Invocation, RunResult & { leftBehind: string[] }>> {
  const results = new Map<Invocation, RunResult & { leftBehind: string[] }>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < all.length; i = next++) {
      const invocation = all[i] as Invocation;
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-conformance-'));
      try {
        const result = await signetAsync(invocation.args, { cwd, script: SIGNET_CONFORMANCE });
        results.set(invocation, { ...result, leftBehind: fs.readdirSync(cwd) });
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

const vectors = vectorsDir();
if (!vectors) {
  console.warn(
    'conformance: no Sigstore vectors found (looked for SIGNET_VECTORS, ../shared/vectors, /work/shared/vectors); the sigstore-conformance suite is skipped',
  );
}

(vectors ? describe : describe.skip)('sigstore-conformance bundle-verify through signet-conformance', () => {
  const all = vectors ? invocations(vectors) : [];
  let results: Map<Invocation, RunResult & { leftBehind: string[] }>;

  beforeAll(async () => {
    results = await runAll(all);
  }, 300_000);

  test('all 70 cases are there, each run twice', () => {
    expect(new Set(all.map((invocation) => invocation.name)).size).toBe(70);
    expect(all).toHaveLength(140);
  });

  test.each(all.map((invocation) => [`${invocation.name} (${invocation.mode})`, invocation] as const))('%s', (_label, invocation) => {
    const result = results.get(invocation);
    if (!result) throw new Error('not run');
    expect(result.leftBehind).toEqual([]);
    expect(result.stderr).not.toMatch(/TypeError|\n\s+at /);
    if (invocation.shouldFail) {
      const error = singleErrorLine(result.stderr);
      expect(error.code).not.toBe('E_INTERNAL');
      expect([1, 2]).toContain(result.status);
    } else {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
  });
});
