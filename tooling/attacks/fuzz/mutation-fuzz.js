// The mutation fuzz of bundle/artifact pairs: start from bundles that verify (core's committed
// fixtures, each with its policy and trusted root), change one to three things an attacker
// controls (a bit of any base64 field, a number, a field deleted, retyped or swapped in from
// another bundle, the statement rewritten, the artifact changed), verify, and judge:
//
//   - a crash: anything but a SignetError, or E_INTERNAL (bad input must get its own code);
//   - a false accept: a mutant that verifies while saying something no seed says: another
//     signer, statement, subject or digests, other artifact bytes, or a trusted time no seed
//     has. A mutant may verify only by proving what a genuine signature proves (a DSSE envelope
//     of one seed moved into another, both signed by the same key over the same artifact, is
//     such a genuine signature).
//
// Plain CommonJS, so that the attack suite (jest) and the benchmark (node, built packages) run
// the same cases. Deterministic: the same seed gives the same cases.

const fs = require('node:fs');
const path = require('node:path');
const core = require('@signet/core');

const FIXTURES = path.resolve(__dirname, '../../../packages/core/test/__fixtures__');

/** The seeds: each a bundle that verifies, with what it needs. */
function seeds() {
  const read = (name) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
  const artifact = Buffer.from(read('artifact.txt'));
  const trustedRoot = core.parseTrustedRoot(JSON.parse(read('trusted_root.json')));
  const keys = [{ publicKey: read('release.pub'), name: 'release' }];
  const issuer = read('oidc-issuer.txt').trim();
  const identities = [
    {
      subject: 'https://github.com/my-org/release-workflows/.github/workflows/release.yml@refs/heads/main',
      issuer,
      sourceRepository: 'https://github.com/my-org/my-app',
    },
  ];
  const bundle = (name) => JSON.parse(read(`${name}.sigstore.json`));
  return [
    { name: 'message.key', json: bundle('message.key'), policy: { keys } },
    { name: 'message.key.logged', json: bundle('message.key.logged'), policy: { keys } },
    { name: 'message.key.timestamped', json: bundle('message.key.timestamped'), policy: { keys } },
    { name: 'dsse.key.sbom', json: bundle('dsse.key.sbom'), policy: { keys, predicateTypes: ['https://cyclonedx.org/bom'] } },
    { name: 'dsse.key.npm-release', json: bundle('dsse.key.npm-release'), policy: { keys }, subjectName: 'pkg:npm/@acme/demo@1.0.0' },
    { name: 'message.keyless', json: bundle('message.keyless'), policy: { identities } },
  ].map((seed) => ({ ...seed, artifact, trustedRoot }));
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (list) => list[Math.floor(next() * list.length)] };
}

/** Every [parent, key] path of a JSON value, depth first. */
function slots(value, found = []) {
  if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      found.push([value, key]);
      slots(value[key], found);
    }
  }
  return found;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The mutations, each (json, context, random) => description, or undefined when it does not apply. */
const MUTATIONS = [
  function flipBase64Bit(json, _c, r) {
    const candidates = slots(json).filter(([o, k]) => typeof o[k] === 'string' && o[k].length >= 4 && BASE64.test(o[k]));
    if (candidates.length === 0) return undefined;
    const [o, k] = r.pick(candidates);
    const bytes = Buffer.from(o[k], 'base64');
    if (bytes.length === 0) return undefined;
    const at = r.int(bytes.length);
    bytes[at] ^= 1 << r.int(8);
    o[k] = bytes.toString('base64');
    return `flip a bit of ${k}`;
  },
  function shiftNumber(json, _c, r) {
    const candidates = slots(json).filter(([o, k]) => typeof o[k] === 'string' && /^\d+$/.test(o[k]));
    if (candidates.length === 0) return undefined;
    const [o, k] = r.pick(candidates);
    o[k] = String(BigInt(o[k]) + BigInt(r.pick([-86400, -1, 1, 3600, 10 ** 6])));
    if (o[k].startsWith('-')) o[k] = '0';
    return `shift ${k}`;
  },
  function deleteField(json, _c, r) {
    const candidates = slots(json).filter(([o]) => !Array.isArray(o));
    if (candidates.length === 0) return undefined;
    const [o, k] = r.pick(candidates);
    delete o[k];
    return `delete ${k}`;
  },
  function retype(json, _c, r) {
    const candidates = slots(json);
    const [o, k] = r.pick(candidates);
    o[k] = r.pick([null, 0, -1, 1e308, '', 'x', [], {}, [o[k]], true]);
    return `retype ${k}`;
  },
  function duplicate(json, _c, r) {
    const candidates = slots(json).filter(([o, k]) => Array.isArray(o[k]) && o[k].length > 0);
    if (candidates.length === 0) return undefined;
    const [o, k] = r.pick(candidates);
    o[k].push(structuredClone(o[k][0]));
    return `duplicate ${k}[0]`;
  },
  function transplant(json, context, r) {
    const donor = r.pick(context.others);
    const parts = ['verificationMaterial', 'messageSignature', 'dsseEnvelope'];
    const part = r.pick(parts);
    if (!(part in donor)) return undefined;
    if (part === 'verificationMaterial') {
      const field = r.pick(['publicKey', 'certificate', 'tlogEntries', 'timestampVerificationData']);
      if (!(field in donor.verificationMaterial)) return undefined;
      json.verificationMaterial[field] = structuredClone(donor.verificationMaterial[field]);
      return `transplant verificationMaterial.${field}`;
    }
    delete json.messageSignature;
    delete json.dsseEnvelope;
    json[part] = structuredClone(donor[part]);
    return `transplant ${part}`;
  },
  function rewriteStatement(json, _c, r) {
    if (!json.dsseEnvelope || typeof json.dsseEnvelope.payload !== 'string') return undefined;
    let statement;
    try {
      statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
    } catch {
      return undefined;
    }
    const edit = r.pick(['type', 'name', 'digest', 'subject', 'release']);
    if (edit === 'type') statement.predicateType = r.pick(['https://slsa.dev/provenance/v1', 'https://signet.dev/manifest/v1', 'x']);
    if (edit === 'name' && statement.subject?.[0]) statement.subject[0].name = 'pkg:npm/evil@6.6.6';
    if (edit === 'digest' && statement.subject?.[0]) statement.subject[0].digest = { sha256: '0'.repeat(64) };
    if (edit === 'subject' && Array.isArray(statement.subject))
      statement.subject.push({ name: 'evil.js', digest: { sha256: 'f'.repeat(64) } });
    if (edit === 'release') statement.predicateType = 'https://signet.dev/npm-release/v1';
    json.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    return `rewrite the statement's ${edit}`;
  },
  function payloadType(json, _c, r) {
    if (!json.dsseEnvelope) return undefined;
    json.dsseEnvelope.payloadType = r.pick(['text/plain', 'application/vnd.in-toto+json ', 'application/json']);
    return 'change payloadType';
  },
  function mediaType(json, _c, r) {
    json.mediaType = r.pick([
      'application/vnd.dev.sigstore.bundle+json;version=0.1',
      'application/vnd.dev.sigstore.bundle+json;version=0.2',
      'application/vnd.dev.sigstore.bundle.v0.3+json',
      'application/vnd.dev.sigstore.bundle.v0.4+json',
    ]);
    return 'change mediaType';
  },
];

/** Artifact changes: the bytes the mutant is checked against. */
const ARTIFACT_MUTATIONS = [
  (bytes, r) => {
    const changed = Buffer.from(bytes);
    changed[r.int(changed.length)] ^= 1;
    return ['flip an artifact byte', changed];
  },
  (bytes) => [`append to the artifact`, Buffer.concat([bytes, Buffer.from('\n')])],
  (bytes) => ['truncate the artifact', bytes.subarray(0, bytes.length - 1)],
];

/**
 * One mutant: a seed picked from `all` ({ name, json, artifact }), its JSON and artifact changed
 * one to three times. `random` is a prng(); the same sequence gives the same mutants.
 */
function mutateOne(all, random) {
  const s = random.pick(all);
  const json = structuredClone(s.json);
  const context = { others: all.filter((o) => o !== s).map((o) => o.json) };
  const applied = [];
  let artifact = s.artifact;
  const count = 1 + random.int(3);
  for (let m = 0; m < count; m++) {
    if (random.next() < 0.12) {
      const [what, bytes] = random.pick(ARTIFACT_MUTATIONS)(artifact, random);
      artifact = bytes;
      applied.push(what);
      continue;
    }
    // A mutation that no longer fits what earlier ones left (a deleted parent) does not apply.
    let done;
    try {
      done = random.pick(MUTATIONS)(json, context, random);
    } catch {
      done = undefined;
    }
    if (done) applied.push(done);
  }
  return { seed: s, json, artifact, applied };
}

/** What a verification proved, to compare a mutant's with its seed's. */
function claims(verified) {
  return JSON.stringify({
    signer: verified.signer,
    statement: verified.statement ?? null,
    subject: verified.subject ?? null,
    digests: verified.digests,
  });
}

/**
 * Runs `cases` mutants (default 1,000) from `seed` and returns the counts and the first few
 * failures: { cases, refused, accepted, falseAccepts, crashes, byCode, failures, ms }.
 */
async function runMutationFuzz({ cases = 1000, seed = 1, onCase } = {}) {
  const all = seeds();
  const random = prng(seed);
  // What genuine signatures prove: every seed's claims and trusted times.
  const genuineClaims = new Set();
  const genuineTimes = new Set();
  for (const s of all) {
    const verifier = core.createVerifier({ policy: s.policy, trustedRoot: s.trustedRoot });
    const verified = await verifier.verify(core.parseBundle(s.json), {
      bytes: s.artifact,
      ...(s.subjectName ? { name: s.subjectName } : {}),
    });
    genuineClaims.add(claims(verified));
    for (const t of verified.timestamps) genuineTimes.add(`${t.source}@${t.time.getTime()}`);
  }
  const result = { cases, refused: 0, accepted: 0, falseAccepts: 0, crashes: 0, byCode: {}, failures: [], ms: 0 };
  const started = Date.now();
  for (let i = 0; i < cases; i++) {
    const { seed: s, json, artifact, applied } = mutateOne(all, random);
    const label = `${s.name}: ${applied.join('; ') || 'nothing'}`;
    let outcome;
    try {
      const bundle = core.parseBundle(json);
      const verifier = core.createVerifier({ policy: s.policy, trustedRoot: s.trustedRoot });
      const verified = await verifier.verify(bundle, { bytes: artifact, ...(s.subjectName ? { name: s.subjectName } : {}) });
      const newTime = verified.timestamps.find((t) => !genuineTimes.has(`${t.source}@${t.time.getTime()}`));
      if (!artifact.equals(s.artifact) || !genuineClaims.has(claims(verified)) || newTime || !core.isVerified(verified)) {
        outcome = 'false accept';
        result.falseAccepts++;
        result.failures.push({ kind: 'false accept', case: i, label });
      } else {
        outcome = 'accepted';
        result.accepted++;
      }
    } catch (error) {
      if (core.isSignetError(error) && error.code !== 'E_INTERNAL') {
        outcome = error.code;
        result.refused++;
        result.byCode[error.code] = (result.byCode[error.code] ?? 0) + 1;
      } else {
        outcome = 'crash';
        result.crashes++;
        result.failures.push({
          kind: 'crash',
          case: i,
          label,
          error: String(error?.stack ?? error)
            .split('\n')
            .slice(0, 4)
            .join(' | '),
        });
      }
    }
    onCase?.(i, label, outcome);
  }
  result.ms = Date.now() - started;
  return result;
}

module.exports = { runMutationFuzz, mutateOne, prng };
