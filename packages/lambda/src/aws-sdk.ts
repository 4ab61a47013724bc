// The AWS SDK clients are optional peer dependencies of @signet/lambda: packaging and verifying a
// zip need none of them, and a `npm install -g @signet/cli` that never deploys should not bring
// the Lambda, S3 and Signer clients (26 MB). A deploy loads the ones it needs when it starts, and
// one that is not installed is named, with the command that installs it, as key providers are.
import type * as LambdaSdk from '@aws-sdk/client-lambda';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type * as SignerSdk from '@aws-sdk/client-signer';
import { SignetError } from '@signet/core';

interface AwsSdk {
  lambda: typeof LambdaSdk;
  s3: typeof S3Sdk;
  signer: typeof SignerSdk;
}

const PACKAGES: Record<keyof AwsSdk, string> = {
  lambda: '@aws-sdk/client-lambda',
  s3: '@aws-sdk/client-s3',
  signer: '@aws-sdk/client-signer',
};

/** The SDK client packages a deploy needs, or E_PROVIDER_MISSING naming every one that is not installed. */
export function awsSdk<K extends keyof AwsSdk>(...clients: K[]): Pick<AwsSdk, K> {
  const resolved = clients.map((client) => [client, resolveClient(PACKAGES[client])] as const);
  const missing = resolved.filter(([, file]) => file === undefined).map(([client]) => PACKAGES[client]);
  if (missing.length > 0) {
    throw new SignetError({
      code: 'E_PROVIDER_MISSING',
      message: `deploying to AWS needs ${missing.join(', ')}; install ${missing.length === 1 ? 'it' : 'them'} beside Signet: npm install ${missing.join(' ')} (with -g for a global signet)`,
    });
  }
  return Object.fromEntries(resolved.map(([client, file]) => [client, require(file as string)])) as Pick<AwsSdk, K>;
}

/** Beside @signet/lambda first (a global signet and a global SDK), then from the user's project. */
function resolveClient(packageName: string): string | undefined {
  for (const paths of [undefined, [process.cwd()]]) {
    try {
      return require.resolve(packageName, paths ? { paths } : undefined);
    } catch {
      // not here; try the next place
    }
  }
  return undefined;
}

const NODE_VERSION_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Builds an SDK client without the SDK's multi-line warning, on Node 20, that SDK releases after
 * January 2027 will need Node 22: Signet supports Node 20 with the SDK versions it accepts, and
 * the warning would break the CLI's one-line output. The SDK reads the variable while a client
 * is built (once per process); the environment is left as it was.
 */
export function quietClient<T>(build: () => T): T {
  const before = process.env[NODE_VERSION_WARNING];
  process.env[NODE_VERSION_WARNING] = 'true';
  try {
    return build();
  } finally {
    if (before === undefined) delete process.env[NODE_VERSION_WARNING];
    else process.env[NODE_VERSION_WARNING] = before;
  }
}
