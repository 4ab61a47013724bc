import { SignetError } from '@signet/core';

/*
 * The AdmissionReview side of the webhook, with no I/O: reading a review, finding the pod
 * spec in the object it carries, listing the images to check, and writing the answer and
 * the JSON Patch that pins tags to digests.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The fields of an AdmissionReview v1 request the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  /** The kind of the object, as converted for the webhook (apps/v1 Deployment, v1 Pod). */
  kind: GroupVersionKind;
  /** `ephemeralcontainers` for `kubectl debug`; empty for the resource itself. */
  subResource?: string;
  operation: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  oldObject?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: 'JSONPatch';
  /** The JSON Patch, base64. */
  patch?: string;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** A review that could be read, or why not, with its uid when even that could be read. */
export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; uid?: string; message: string };

/** One image field of a pod spec: an image Kubernetes pulls to run the pod. */
export interface PodImage {
  /** The JSON pointer of the image field: `/spec/template/spec/containers/0/image`, `/spec/volumes/1/image/reference`. */
  path: string;
  image: string;
  /** The list it is in: `containers`, `initContainers`, `ephemeralContainers` or `volumes`. */
  list: ImageList;
  /** The container's or volume's name. */
  name: string;
}

export interface JsonPatchOperation {
  op: 'replace';
  path: string;
  value: string;
}

/**
 * Every place a pod spec names an image that Kubernetes pulls: each list, what its entries
 * are, and where in an entry the reference is. An image volume (ImageVolume, Kubernetes 1.31
 * and later) pulls an OCI image and mounts it into the containers, so it is held to the
 * policy like a container's image.
 */
const IMAGE_FIELDS = [
  { list: 'initContainers', entry: 'container', at: ['image'] },
  { list: 'containers', entry: 'container', at: ['image'] },
  { list: 'ephemeralContainers', entry: 'container', at: ['image'] },
  { list: 'volumes', entry: 'volume', at: ['image', 'reference'] },
] as const;
export type ImageList = (typeof IMAGE_FIELDS)[number]['list'];

/** Where each kind the webhook handles keeps its pod spec, by `group/Kind` (the core group is empty). */
const POD_SPEC_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
  ['/PodTemplate', ['template', 'spec']],
  ['/ReplicationController', ['spec', 'template', 'spec']],
  ['apps/Deployment', ['spec', 'template', 'spec']],
  ['apps/ReplicaSet', ['spec', 'template', 'spec']],
  ['apps/StatefulSet', ['spec', 'template', 'spec']],
  ['apps/DaemonSet', ['spec', 'template', 'spec']],
  ['batch/Job', ['spec', 'template', 'spec']],
  ['batch/CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
]);

/** Reads an AdmissionReview v1 request body. */
export function parseAdmissionReview(body: string): ParsedReview {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (cause) {
    return {
      ok: false,
      message: `the body is not JSON (${(cause as Error).message}); expected an ${ADMISSION_API_VERSION} AdmissionReview`,
    };
  }
  if (!isObject(review))
    return { ok: false, message: `expected an ${ADMISSION_API_VERSION} AdmissionReview object, got ${describe(review)}` };
  const request = review.request;
  const uid = isObject(request) && typeof request.uid === 'string' && request.uid !== '' ? request.uid : undefined;
  const fail = (message: string): ParsedReview => (uid === undefined ? { ok: false, message } : { ok: false, uid, message });
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== 'AdmissionReview') {
    return fail(
      `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${describe(review.apiVersion)} and ${describe(review.kind)}` +
        ' (register the webhook with admissionReviewVersions: [v1])',
    );
  }
  if (!isObject(request)) return fail('the AdmissionReview has no request');
  if (uid === undefined) return fail('the request has no uid');
  const kind = request.kind;
  if (
    !isObject(kind) ||
    typeof kind.kind !== 'string' ||
    typeof kind.version !== 'string' ||
    !['string', 'undefined'].includes(typeof kind.group)
  ) {
    return fail('request.kind must be { group, version, kind }');
  }
  if (typeof request.operation !== 'string') return fail('the request has no operation');
  const parsed: AdmissionRequest = {
    uid,
    kind: { group: (kind.group as string | undefined) ?? '', version: kind.version, kind: kind.kind },
    operation: request.operation,
  };
  for (const field of ['subResource', 'namespace', 'name'] as const) {
    const value = request[field];
    if (typeof value === 'string' && value !== '') parsed[field] = value;
  }
  if (request.object !== undefined && request.object !== null) parsed.object = request.object;
  if (request.oldObject !== undefined && request.oldObject !== null) parsed.oldObject = request.oldObject;
  return { ok: true, request: parsed };
}

/**
 * The JSON pointer segments of the pod spec in a request's object, or undefined when the
 * webhook does not check the request: another operation (DELETE, CONNECT), another kind, or
 * another subresource (status, scale) than `pods/ephemeralcontainers`.
 */
export function podSpecPath(request: AdmissionRequest): readonly string[] | undefined {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const path = POD_SPEC_PATHS.get(`${request.kind.group}/${request.kind.kind}`);
  if (request.subResource === undefined) return path;
  return request.subResource === 'ephemeralcontainers' && request.kind.kind === 'Pod' && request.kind.group === '' ? path : undefined;
}

/**
 * The images a request brings (containers' and image volumes'), or undefined when the webhook
 * does not check it (see podSpecPath). On UPDATE, an image that the same container or volume
 * already had in the old object is left out: it was checked when it came in, and a workload's
 * update (a scale, a label) must not fail, nor restart its pods, because a tag it has always
 * used now points elsewhere. The pods a controller creates are checked on their own CREATE,
 * so nothing runs unchecked. Throws E_INPUT when the object is not shaped like one of its
 * kind, an image field included: a field the webhook cannot read is one it cannot check.
 */
export function podImages(request: AdmissionRequest): PodImage[] | undefined {
  const specPath = podSpecPath(request);
  if (specPath === undefined) return undefined;
  if (!isObject(request.object)) throw malformed(`the ${request.operation} request for a ${request.kind.kind} has no object`);
  const spec = at(request.object, specPath);
  const oldSpec = request.operation === 'UPDATE' ? at(request.oldObject, specPath) : undefined;
  const images: PodImage[] = [];
  for (const { list, entry, at: field } of IMAGE_FIELDS) {
    const entries = spec?.[list];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw malformed(`${pointer([...specPath, list])} must be a list of ${entry}s`);
    const before = previousImages(oldSpec?.[list], field);
    entries.forEach((item: unknown, index) => {
      const path = [...specPath, list, String(index)];
      if (!isObject(item)) throw malformed(`${pointer(path)} must be a ${entry}`);
      const image = imageAt(item, field, path);
      // The API server's validation, after admission, refuses a container without an image.
      if (image === undefined) return;
      const name = typeof item.name === 'string' ? item.name : '';
      if (before.get(name) === image) return;
      images.push({ path: pointer([...path, ...field]), image, list, name });
    });
  }
  return images;
}

/** The image named at `field` of a container or volume; undefined when it names none (another kind of volume, an empty image). */
function imageAt(item: Record<string, unknown>, field: readonly string[], path: readonly string[]): string | undefined {
  let value: unknown = item;
  for (const [i, segment] of field.entries()) {
    const holder = value as Record<string, unknown>;
    value = holder[segment];
    if (value === undefined || value === null) return undefined;
    const last = i === field.length - 1;
    if (!last && !isObject(value))
      throw malformed(`${pointer([...path, ...field.slice(0, i + 1)])} must be an object, not ${describe(value)}`);
  }
  if (value === '') return undefined;
  if (typeof value !== 'string') throw malformed(`${pointer([...path, ...field])} must be a string, not ${describe(value)}`);
  return value;
}

/** The patch that replaces each image whose pinned reference differs from it. */
export function pinningPatch(images: readonly PodImage[], pinned: ReadonlyMap<string, string>): JsonPatchOperation[] {
  return images.flatMap(({ path, image }) => {
    const value = pinned.get(image);
    return value !== undefined && value !== image ? [{ op: 'replace' as const, path, value }] : [];
  });
}

export function admissionReview(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

export function allowed(uid: string, patch: readonly JsonPatchOperation[] = []): AdmissionResponse {
  if (patch.length === 0) return { uid, allowed: true };
  return { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

export function denied(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

/** The object's name, for logs: the request's, else the object's own or its generateName prefix. */
export function objectName(request: AdmissionRequest): string | undefined {
  if (request.name) return request.name;
  const metadata = isObject(request.object) ? request.object.metadata : undefined;
  if (!isObject(metadata)) return undefined;
  if (typeof metadata.name === 'string' && metadata.name) return metadata.name;
  return typeof metadata.generateName === 'string' && metadata.generateName ? metadata.generateName : undefined;
}

/** A JSON pointer (RFC 6901) from its segments. */
export function pointer(segments: readonly string[]): string {
  return segments.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** The images of the old object's list, by container or volume name. */
function previousImages(entries: unknown, field: readonly string[]): Map<string, unknown> {
  const images = new Map<string, unknown>();
  if (Array.isArray(entries)) {
    for (const item of entries) {
      if (isObject(item) && typeof item.name === 'string') images.set(item.name, valueAt(item, field));
    }
  }
  return images;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) current = isObject(current) ? current[segment] : undefined;
  return current;
}

function at(value: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  const found = valueAt(value, path);
  return isObject(found) ? found : undefined;
}

function malformed(message: string): SignetError {
  return new SignetError({ code: 'E_INPUT', message });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}
