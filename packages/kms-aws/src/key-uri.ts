import { type KeyRef, SignetError } from '@signet/core';

/** What an `awskms://[ENDPOINT]/KEY` reference names. */
export interface AwsKeyUri {
  /** As KMS takes it in `KeyId`: a key ID, key ARN, `alias/NAME` or alias ARN. */
  keyId: string;
  /** `https://ENDPOINT` when the reference names an endpoint. */
  endpoint?: string;
  /** The region of an ARN. */
  region?: string;
  /** `alias/NAME` when the reference names an alias (by name or ARN). */
  aliasName?: string;
}

const KEY_ID = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key\/.+|alias\/.+)$/;
const ENDPOINT = /^[a-zA-Z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:.]+\](?::\d{1,5})?$/;

const FORMS =
  'awskms:///KEY_ID, awskms:///alias/NAME, awskms:///arn:aws:kms:REGION:ACCOUNT:key/ID or …:alias/NAME (optionally awskms://HOST[:PORT]/…)';

/**
 * Reads cosign's AWS KMS reference: `awskms:///KEY_ID|KEY_ARN|alias/NAME|ALIAS_ARN`, or
 * with an endpoint, `awskms://HOST[:PORT]/…` (reached over HTTPS, as cosign does).
 */
export function parseAwsKeyUri(ref: KeyRef): AwsKeyUri {
  const slash = ref.location.indexOf('/');
  const host = slash < 0 ? ref.location : ref.location.slice(0, slash);
  const key = slash < 0 ? '' : ref.location.slice(slash + 1);
  if (host !== '' && (KEY_ID.test(ref.location) || ALIAS_NAME.test(ref.location) || ARN.test(ref.location))) {
    throw invalid(ref, `the key must follow a third slash: awskms:///${ref.location}`);
  }
  // The parts of a reference that failed to parse are described, never quoted: they may hold a `user:secret@`.
  if (host !== '' && !ENDPOINT.test(host)) {
    throw invalid(
      ref,
      host.includes('@')
        ? "an endpoint takes no user:password@ (AWS credentials come from the SDK's chain)"
        : 'the endpoint is not HOST[:PORT]',
    );
  }
  const endpoint = host === '' ? undefined : `https://${host}`;

  if (KEY_ID.test(key)) return { keyId: key, endpoint };
  if (ALIAS_NAME.test(key)) return { keyId: key, endpoint, aliasName: key };
  const arn = ARN.exec(key);
  if (arn) {
    const [, region, , resource = ''] = arn;
    if (resource.startsWith('alias/')) {
      if (!ALIAS_NAME.test(resource)) throw invalid(ref, 'the ARN names no valid alias (alias/ then letters, digits, "/", "_" or "-")');
      return { keyId: key, endpoint, region, aliasName: resource };
    }
    if (!KEY_ID.test(resource.slice('key/'.length))) throw invalid(ref, 'the ARN names no valid key ID');
    return { keyId: key, endpoint, region };
  }
  throw invalid(ref, key === '' ? 'it names no key' : 'the key is not a key ID, key ARN, alias/NAME or alias ARN');
}

function invalid(ref: KeyRef, why: string): SignetError {
  return new SignetError({ code: 'E_INPUT', message: `${ref.display} is not an AWS KMS key reference: ${why}. Use ${FORMS}` });
}
