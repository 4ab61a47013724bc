import type { EmulatorRequest } from '../http-emulator';

/** An error as a service answers it: S3's <Code> or a JSON service's error type, the HTTP status, the message. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra elements of an S3 error document (Key, BucketName, …). */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What the services share: the emulated account and region, and the emulator's own URL. */
export interface AccountContext {
  region: string;
  accountId: string;
  url(): string;
}

/** An authenticated request, as a service's operation sees it. */
export interface Call {
  request: EmulatorRequest;
  operation: string;
  /** The IAM user name of the caller. */
  user: string;
}

/** Lambda writes its dates as `2024-05-01T12:00:00.000+0000`, not with a `Z`. */
export function lambdaDate(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

export function jsonObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function stringField(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  return typeof value === 'string' ? value : undefined;
}
