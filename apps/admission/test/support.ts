import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { opensslCertificate } from '@signet/test-support';
import type { AdmissionReviewResponse, JsonPatchOperation } from '../src';

/** The name the API server calls the webhook by: the Service in deploy/. */
export const SERVICE_HOST = 'signet-admission.signet-system.svc';
/** The registry host the fixtures name; tests put their registry's in its place. */
export const FIXTURE_REGISTRY = '127.0.0.1:5000';
/** The digest the fixtures name; tests put a real one in its place. */
export const FIXTURE_DIGEST = `sha256:${'1'.repeat(64)}`;

/** A golden AdmissionReview from test/fixtures, with strings replaced (a registry host, a digest, an image). */
export function fixture(name: string, replacements: Record<string, string> = {}): string {
  let text = fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8');
  for (const [from, to] of Object.entries(replacements)) text = text.replaceAll(from, to);
  return text;
}

/** A serving certificate for SERVICE_HOST, made by openssl as the README tells operators to. */
export function servingCertificate(): { key: string; cert: string } {
  return opensslCertificate(`DNS:${SERVICE_HOST}`);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request to the server on 127.0.0.1, as the API server makes it: TLS to SERVICE_HOST, trusting the caBundle. */
export function call(
  server: https.Server,
  ca: string,
  method: string,
  urlPath: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port, path: urlPath, method, ca, servername: SERVICE_HOST, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** POSTs a review and returns its answer, parsed. */
export async function postReview(
  server: https.Server,
  ca: string,
  endpoint: string,
  body: string,
): Promise<{ status: number; review: AdmissionReviewResponse }> {
  const answer = await call(server, ca, 'POST', endpoint, body);
  expect(answer.headers['content-type']).toBe('application/json');
  return { status: answer.status, review: JSON.parse(answer.text) as AdmissionReviewResponse };
}

/** The JSON Patch of a response, decoded. */
export function decodePatch(review: AdmissionReviewResponse): JsonPatchOperation[] | undefined {
  if (review.response.patch === undefined) return undefined;
  expect(review.response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as JsonPatchOperation[];
}

export async function listen(server: https.Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}

export async function close(server: https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
