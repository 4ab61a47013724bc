// Suite "monitor": how fast `signet monitor` scans a Rekor v2 log, against what it cannot avoid.
//   A tiles directory of 70,000 hashedrekord entries (past 65,536: a level-2 tile), scanned by
//   @signet/monitor's runMonitor from its first entry (checkpoint verified, every entry bundle
//   read, every entry hashed into the compact range, its signer read and matched against a
//   watch, a signer seen again taken from a small cache, the root compared, the state saved),
//   vs a plain loop that only reads the same entry bundles and hashes each entry (its RFC 6962
//   leaf hash), in the same process, interleaved.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, median, scratchDir } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const { hashLeaf, loadMonitorConfig, runMonitor } = require('@signet/monitor');
const {
  CertificateAuthority,
  TILE_WIDTH,
  TiledLog,
  hashedRekordV2Body,
  tilePath,
  writeTilesDirectory,
} = require('@signet/emulators/sigstore');

const ENTRIES = 70_000;
const ROUNDS = 7;
const WARMUPS = 1;
const OTHER_CERTIFICATES = 200;
const OTHER_KEYS = 100;
/** Every this many entries, one by the watched identity, and one by the watched KMS key. */
const WATCHED_IDENTITY_EVERY = 500;
const WATCHED_KEY_EVERY = 997;
/** Watched entries left out of the ledger: the alerts a scan must report, by index. */
const UNEXPECTED = [WATCHED_IDENTITY_EVERY * 7, WATCHED_IDENTITY_EVERY * 101, WATCHED_KEY_EVERY * 33];

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const FULCIO = '1.3.6.1.4.1.57264.1';

export default {
  title: 'scanning a transparency log',
  description:
    'How fast `signet monitor` reads a Rekor v2 log from a local tiles directory, hashing every entry into its compact range and parsing and ' +
    'matching every signer, against a loop that only reads the same entry bundles and hashes their entries.',

  async run({ log }) {
    const dir = scratchDir('monitor');
    log(`writing a Rekor v2 tiles directory of ${ENTRIES.toLocaleString('en-US')} entries in ${dir}`);
    const { tiles, configFile, ledgerFile, mix, bundleBytes } = await writeLog(dir);
    const config = await loadMonitorConfig(configFile);
    const stateFile = path.join(dir, 'state.json');

    const scan = async () => {
      fs.rmSync(stateFile, { force: true });
      const result = await runMonitor({ config, stateFile, ledgerFile, since: { index: 0 }, report: () => {} });
      // The scan must really match: exactly the watched entries the ledger does not hold, nothing unreadable.
      const found = result.alerts.map((alert) => `${alert.kind}@${alert.logIndex}`);
      const expected = UNEXPECTED.map((index) => `unexpected-entry@${index}`).sort();
      if (result.failures.length > 0 || JSON.stringify([...found].sort()) !== JSON.stringify(expected)) {
        throw new Error(
          `the scan reported ${JSON.stringify(found)} and failures ${JSON.stringify(result.failures)}, not ${JSON.stringify(expected)}`,
        );
      }
    };
    const readAndHash = async () => {
      const count = await readAndHashEntries(tiles, ENTRIES);
      if (count !== ENTRIES) throw new Error(`the plain loop hashed ${count} entries, not ${ENTRIES}`);
    };

    log(`scanning it, ${ROUNDS} rounds interleaved with a plain read-and-hash loop (after ${WARMUPS} warm-up round)`);
    const m = await compareRuns(
      [
        { name: 'monitor', fn: scan },
        { name: 'plain', fn: readAndHash },
      ],
      { rounds: ROUNDS, warmups: WARMUPS },
    );
    const rate = ENTRIES / (m.monitor.medianMs / 1000);
    const plainRate = ENTRIES / (m.plain.medianMs / 1000);
    return {
      checks: [
        check({
          id: 'monitor-scan-rate',
          what: '`runMonitor` scanning a Rekor v2 tiles directory: entries parsed, matched and hashed per second',
          target: '≥ 20,000 entries/s',
          comparator: '>=',
          limit: 20_000,
          value: Math.round(rate),
          unit: 'entries/s',
          detail: {
            text: `${ENTRIES.toLocaleString('en-US')} entries in ${seconds(m.monitor.medianMs)} (median of ${ROUNDS})`,
            medianMs: m.monitor.medianMs,
            wallMs: m.monitor.wallMs,
          },
        }),
        check({
          id: 'monitor-scan-ratio',
          what: '`runMonitor` scan time ÷ a loop that only reads the same entry bundles and hashes each entry',
          target: '≤ 1.50×',
          comparator: '<=',
          limit: 1.5,
          value: m.monitor.medianMs / m.plain.medianMs,
          unit: '×',
          detail: {
            text: `${seconds(m.monitor.medianMs)} vs ${seconds(m.plain.medianMs)} (median of ${ROUNDS}); the loop: ${Math.round(plainRate).toLocaleString('en-US')} entries/s`,
            medianMs: m.monitor.medianMs,
            referenceMedianMs: m.plain.medianMs,
            wallMs: m.monitor.wallMs,
            referenceWallMs: m.plain.wallMs,
          },
        }),
      ],
      notes: [
        `The log: ${ENTRIES.toLocaleString('en-US')} Rekor v2 hashedrekord entries (canonical JSON as rekor-tiles writes it, ${(bundleBytes / 2 ** 20).toFixed(1)} MiB of entry bundles) written by the emulators' \`writeTilesDirectory\` (full tiles, the partial ones of the current size, a level-2 tile) to the OS temporary directory. Signers: ${mix}. The watch: a \`certIdentities\` pattern for acme/shop's release workflow, an \`identities\` rule on its source repository, and the KMS key's fingerprint; the ledger holds the leaf hash of every watched entry but ${UNEXPECTED.length}.`,
        `The scan: \`runMonitor({ config, stateFile, ledgerFile, since: { index: 0 } })\` of the built @signet/monitor, in this process, from a fresh state file each time: the Ed25519 checkpoint verified; every entry bundle read (from a folder synchronously, only if a regular file); every entry leaf-hashed and appended to the compact range (every node hash computed: none is taken from the log's hash tiles, which only a first run starting mid-log reads, and which the checkpoint's root then binds); every signer read from the canonical JSON without a parse and matched (fingerprint and certificate search), except that a signer whose raw bytes equal, compared in full, those of one of the last 1,024 read is that one's, and one that matched nothing is not fingerprinted or searched again; the range's root compared with the checkpoint's; the state saved at the 16th bundle, then at every 16th once nine times the last save's duration has passed (or after a second), each written and synced while the next bundle is scanned, and at the end. Each scan is checked to report exactly the ${UNEXPECTED.length} watched entries missing from the ledger and nothing else.`,
        `The reference: a loop over the same entry bundle files, in order, each read with \`fs.promises.readFile\` and split at its uint16 length prefixes, each entry's leaf hash SHA-256(0x00 ‖ entry) computed by @signet/monitor's own exported \`hashLeaf\`, so both sides hash alike. ${WARMUPS} warm-up round (page cache, JIT), then ${ROUNDS} rounds, each running both once, the order alternating; the figures are medians. The rate is entries over the scan's median wall time.`,
      ],
    };
  },
};

/** Runs async functions interleaved (the order rotated every round) and returns each one's median wall time. */
async function compareRuns(cases, { rounds, warmups }) {
  for (let round = 0; round < warmups; round++) for (const { fn } of cases) await fn();
  const samples = new Map(cases.map(({ name }) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const { name, fn } = cases[(round + i) % cases.length];
      const start = process.hrtime.bigint();
      await fn();
      samples.get(name).push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return Object.fromEntries(
    [...samples].map(([name, ms]) => [
      name,
      { medianMs: Math.round(median(ms) * 10) / 10, wallMs: ms.map((value) => Math.round(value * 10) / 10) },
    ]),
  );
}

async function readAndHashEntries(dir, size) {
  let count = 0;
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const bytes = await fs.promises.readFile(path.join(dir, tilePath('entries', bundle, Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH))));
    for (let offset = 0; offset < bytes.length; count++) {
      const length = bytes.readUInt16BE(offset);
      hashLeaf(bytes.subarray(offset + 2, offset + 2 + length));
      offset += 2 + length;
    }
  }
  return count;
}

/** Fulcio-shaped certificates: a GitHub workflow (or an email) identity, with the extensions Fulcio writes. */
async function certificate(ca, identity) {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  if (identity.email) {
    return Buffer.from(await ca.issue(spki, { kind: 'email', value: identity.email }, [{ oid: `${FULCIO}.8`, value: identity.issuer }]));
  }
  const { repository, ref } = identity;
  const san = `https://github.com/${repository}/.github/workflows/release.yml@${ref}`;
  return Buffer.from(
    await ca.issue(spki, { kind: 'uri', value: san }, [
      { oid: `${FULCIO}.1`, value: GITHUB_ISSUER, legacy: true },
      { oid: `${FULCIO}.8`, value: GITHUB_ISSUER },
      { oid: `${FULCIO}.9`, value: san },
      { oid: `${FULCIO}.12`, value: `https://github.com/${repository}` },
      { oid: `${FULCIO}.13`, value: 'a'.repeat(40) },
      { oid: `${FULCIO}.14`, value: ref },
      { oid: `${FULCIO}.21`, value: `https://github.com/${repository}/actions/runs/1234/attempts/1` },
    ]),
  );
}

async function writeLog(dir) {
  const ca = await CertificateAuthority.create();
  const others = [];
  for (let i = 0; i < OTHER_CERTIFICATES; i++) {
    others.push(
      i % 4 === 3
        ? { x509Certificate: await certificate(ca, { email: `someone${i}@example.com`, issuer: 'https://accounts.google.com' }) }
        : // Some look like acme's own: same owner, another repository.
          {
            x509Certificate: await certificate(ca, {
              repository: i % 10 === 0 ? `acme/shop-${i}` : `org${i}/project${i}`,
              ref: `refs/tags/v1.${i}.0`,
            }),
          },
    );
  }
  for (let i = 0; i < OTHER_KEYS; i++) {
    others.push({ publicKey: crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }) });
  }
  const watchedCertificate = { x509Certificate: await certificate(ca, { repository: 'acme/shop', ref: 'refs/tags/v2.0.0' }) };
  const kmsKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  const watchedKey = { publicKey: kmsKey };

  const logOrigin = 'bench.signet.test/log';
  let tiledLog = new TiledLog(logOrigin);
  const ledger = [];
  let bundleBytes = 0;
  for (let index = 0; index < ENTRIES; index++) {
    const watched = index % WATCHED_IDENTITY_EVERY === 0 ? watchedCertificate : index % WATCHED_KEY_EVERY === 0 ? watchedKey : undefined;
    const signer = watched ?? others[index % others.length];
    const body = hashedRekordV2Body(signer, crypto.createHash('sha256').update(`artifact ${index}`).digest(), crypto.randomBytes(71));
    bundleBytes += body.length + 2;
    tiledLog.append(body);
    if (watched && !UNEXPECTED.includes(index)) {
      const leaf = hashLeaf(body).toString('hex');
      ledger.push({
        leaf,
        logIndex: index,
        digest: `sha256:${'0'.repeat(64)}`,
        signer: watched === watchedKey ? 'kms' : 'acme/shop',
        time: new Date().toISOString(),
      });
    }
  }
  const tiles = path.join(dir, 'tiles');
  writeTilesDirectory(tiledLog, tiles);
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${logOrigin}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: tiledLog.publicKey.toString('base64'),
          keyDetails: 'PKIX_ED25519',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: tiledLog.logId.toString('base64') },
        checkpointKeyId: { keyId: tiledLog.logId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  tiledLog = undefined; // its entries and tree: garbage before the measuring starts
  fs.writeFileSync(path.join(dir, 'trusted_root.json'), JSON.stringify(trustedRoot));
  const ledgerFile = path.join(dir, 'ledger.jsonl');
  fs.writeFileSync(ledgerFile, `${ledger.map((record) => JSON.stringify(record)).join('\n')}\n`);
  const configFile = path.join(dir, 'monitor.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      logs: [{ url: pathToFileURL(tiles).href, version: 2 }],
      trustedRoot: 'trusted_root.json',
      monitoredValues: {
        certIdentities: [
          {
            certSubject: 'https://github\\.com/acme/shop/\\.github/workflows/release\\.yml@.*',
            issuers: [GITHUB_ISSUER.replace(/\./g, '\\.')],
          },
        ],
        fingerprints: [crypto.createHash('sha256').update(kmsKey).digest('hex')],
      },
      identities: [
        { issuer: GITHUB_ISSUER, subjectRegExp: '^https://github\\.com/acme/shop/.*$', sourceRepository: 'https://github.com/acme/shop' },
      ],
    }),
  );
  const certificates = OTHER_CERTIFICATES + 1;
  const mix = `${certificates} Fulcio-shaped certificates from the emulators' CA (GitHub workflow identities with Fulcio's extensions, some of acme's other repositories, and email identities) and ${OTHER_KEYS + 1} ECDSA P-256 keys, in rotation; one entry in ${WATCHED_IDENTITY_EVERY} by the watched identity (acme/shop's release workflow) and one in ${WATCHED_KEY_EVERY} by the watched KMS key`;
  return { tiles, configFile, ledgerFile, mix, bundleBytes };
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}
