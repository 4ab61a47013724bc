// Suite "fuzz": the mutation fuzz of bundle/artifact pairs (tooling/attacks/fuzz), at 10,000
// cases, through the built packages. Not a speed figure: the counts of false accepts and
// crashes, which must be 0, with the time it took for context.
import { createRequire } from 'node:module';
import { check } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const { runMutationFuzz } = require('../../attacks/fuzz/mutation-fuzz.js');

const CASES = 10_000;
const SEED = 20261206;

export default {
  title: 'the mutation fuzz of bundles and artifacts',
  description:
    "Core's committed bundles (key and keyless, message signatures and statements, logged and timestamped), each changed one to three ways an attacker could and verified: none may verify while saying more than a genuine signature says, and none may crash.",

  async run({ log }) {
    log(`${CASES} mutants, seed ${SEED}`);
    const result = await runMutationFuzz({ cases: CASES, seed: SEED });
    const codes = Object.entries(result.byCode)
      .sort(([, a], [, b]) => b - a)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    const detail = (text) => ({ text, ...result, failures: result.failures.slice(0, 20) });
    const summary = `${result.refused} refused (${codes}), ${result.accepted} verified as genuine, in ${(result.ms / 1000).toFixed(1)} s`;
    return {
      checks: [
        check({
          id: 'false-accepts',
          what: `false accepts in ${CASES} mutants`,
          target: '= 0',
          comparator: '<=',
          limit: 0,
          value: result.falseAccepts,
          unit: 'cases',
          detail: detail(summary),
        }),
        check({
          id: 'crashes',
          what: `crashes (E_INTERNAL or not a SignetError) in ${CASES} mutants`,
          target: '= 0',
          comparator: '<=',
          limit: 0,
          value: result.crashes,
          unit: 'cases',
          detail: detail(summary),
        }),
      ],
      notes: [
        `The seeds: core's committed fixtures (packages/core/test/__fixtures__): message signatures by a key (plain, logged in Rekor with a signed entry timestamp and inclusion proof, RFC 3161-timestamped), DSSE statements by the key (an SBOM, an npm release naming its package) and a keyless message signature (Fulcio certificate with GitHub source-repository extensions, Rekor entry, timestamp), each with its policy and the local stack's trusted root.`,
        `The mutations (1 to 3 per case, chosen by a seeded PRNG, seed ${SEED}): a flipped bit in any base64 field (signatures, digests, payloads, certificates, log bodies, SETs, proofs, checkpoints, timestamps); a number shifted (integratedTime, logIndex, treeSize); a field deleted or retyped (null, numbers, strings, lists, objects); a list element duplicated; verification material or content moved in from another seed; the statement rewritten (predicate type, subject name or digest, an added subject); the payload or media type changed; the artifact's bytes flipped, extended or truncated.`,
        'A false accept is a mutant that verifies while its signer, statement, matched subject, digests or artifact bytes differ from every genuine seed, or with a trusted time no seed has (a mutant may verify only by proving what a genuine signature proves: unsigned fields such as key hints and inclusion proofs beside a signed entry timestamp carry nothing). A crash is any error that is not a SignetError, or E_INTERNAL.',
      ],
    };
  },
};
