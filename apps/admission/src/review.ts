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

/** One image field of a pod spec. */
export interface PodImage {
  /** The JSON pointer of the image field: `/spec/template/spec/containers/0/image`. */
  path: string;
  image: string;
  /** `containers`, `initContainers` or `ephemeralContainers`. */
  list: ContainerList;
  container: string;
}

export interface JsonPatchOperation {
  op: 'replace';
  path: string;
  value: string;
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
export type ContainerList = (typeof CONTAINER_LISTS)[number];

/** Where each kind the webhook handles keeps its pod spec, by `group/Kind` (the core group is empty). */
const POD_SPEC_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
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
 * The images a request brings, or undefined when the webhook does not check it (see
 * podSpecPath). On UPDATE, an image that the same container already had in the old object is
 * left out: it was checked when it came in, and a workload's update (a scale, a label) must
 * not fail, nor restart its pods, because a tag it has always used now points elsewhere. The
 * pods a controller creates are checked on their own CREATE, so nothing runs unchecked.
 * Throws E_INPUT when the object is not shaped like one of its kind.
 */
export function podImages(request: AdmissionRequest): PodImage[] | undefined {
  const specPath = podSpecPath(request);
  if (specPath === undefined) return undefined;
  if (!isObject(request.object)) throw malformed(`the ${request.operation} request for a ${request.kind.kind} has no object`);
  const spec = at(request.object, specPath);
  const oldSpec = request.operation === 'UPDATE' ? at(request.oldObject, specPath) : undefined;
  const images: PodImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec?.[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) throw malformed(`${pointer([...specPath, list])} must be a list of containers`);
    const before = previousImages(oldSpec?.[list]);
    containers.forEach((container: unknown, index) => {
      const path = [...specPath, list, String(index)];
      if (!isObject(container)) throw malformed(`${pointer(path)} must be a container`);
      const { image, name } = container;
      // The API server's validation, after admission, refuses a container without an image.
      if (image === undefined || image === '') return;
      if (typeof image !== 'string') throw malformed(`${pointer([...path, 'image'])} must be a string`);
      const containerName = typeof name === 'string' ? name : '';
      if (before.get(containerName) === image) return;
      images.push({ path: pointer([...path, 'image']), image, list, container: containerName });
    });
  }
  return images;
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

function previousImages(containers: unknown): Map<string, unknown> {
  const images = new Map<string, unknown>();
  if (Array.isArray(containers)) {
    for (const container of containers) {
      if (isObject(container) && typeof container.name === 'string') images.set(container.name, container.image);
    }
  }
  return images;
}

function at(value: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let current = value;
  for (const segment of path) current = isObject(current) ? current[segment] : undefined;
  return isObject(current) ? current : undefined;
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
