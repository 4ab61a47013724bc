import { SignetError } from '@signet/core';
import {
  type AdmissionRequest,
  admissionReview,
  allowed,
  denied,
  parseAdmissionReview,
  parseDuration,
  pinningPatch,
  podImages,
  podSpecPath,
} from '../src';
import { FIXTURE_DIGEST, fixture } from './support';

const TAG = '127.0.0.1:5000/signet/app:v1';
const DIGEST = `127.0.0.1:5000/signet/app@${FIXTURE_DIGEST}`;

function request(name: string): AdmissionRequest {
  const parsed = parseAdmissionReview(fixture(name));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.message}`);
  return parsed.request;
}

describe('parseAdmissionReview', () => {
  it('reads a Pod CREATE as the API server sends it', () => {
    expect(request('pod-create')).toEqual({
      uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      object: expect.objectContaining({ kind: 'Pod' }),
    });
  });

  it('keeps the subresource and the old object of kubectl debug', () => {
    const parsed = request('pod-ephemeralcontainers');
    expect(parsed).toMatchObject({ operation: 'UPDATE', subResource: 'ephemeralcontainers', name: 'shop-web-7f9c6d5b8-x8k2p' });
    expect(parsed.oldObject).toMatchObject({ kind: 'Pod' });
  });

  it('refuses a body that is not JSON, with no uid to echo', () => {
    const parsed = parseAdmissionReview('uid=1&kind=Pod');
    expect(parsed).toEqual({
      ok: false,
      message: expect.stringMatching(/^the body is not JSON \(.+\); expected an admission\.k8s\.io\/v1 AdmissionReview$/),
    });
  });

  it('refuses JSON that is not an object', () => {
    expect(parseAdmissionReview('[1]')).toEqual({
      ok: false,
      message: 'expected an admission.k8s.io/v1 AdmissionReview object, got a list',
    });
  });

  it('refuses another apiVersion, echoing the uid it could read', () => {
    expect(parseAdmissionReview(fixture('pod-create-v1beta1'))).toEqual({
      ok: false,
      uid: 'd3f5b7d9-1a2c-4e4f-a6b8-d0f2b4d6f89b',
      message:
        'expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got "admission.k8s.io/v1beta1" and "AdmissionReview"' +
        ' (register the webhook with admissionReviewVersions: [v1])',
    });
  });

  it('refuses another kind', () => {
    const parsed = parseAdmissionReview(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'u-1' } }));
    expect(parsed).toMatchObject({ ok: false, uid: 'u-1', message: expect.stringContaining('got "admission.k8s.io/v1" and "Pod"') });
  });

  it('refuses a review without a request or a uid', () => {
    expect(parseAdmissionReview('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}')).toEqual({
      ok: false,
      message: 'the AdmissionReview has no request',
    });
    const review = JSON.parse(fixture('pod-create'));
    delete review.request.uid;
    expect(parseAdmissionReview(JSON.stringify(review))).toEqual({ ok: false, message: 'the request has no uid' });
  });

  it('refuses a request without a kind or an operation, echoing its uid', () => {
    const review = JSON.parse(fixture('pod-create'));
    review.request.kind = 'Pod';
    expect(parseAdmissionReview(JSON.stringify(review))).toEqual({
      ok: false,
      uid: '0d5b7a4e-2f0c-4b8e-9a51-7c1e3f6b2a01',
      message: 'request.kind must be { group, version, kind }',
    });
    review.request.kind = { group: '', version: 'v1', kind: 'Pod' };
    delete review.request.operation;
    expect(parseAdmissionReview(JSON.stringify(review))).toMatchObject({ ok: false, message: 'the request has no operation' });
  });
});

describe('podImages', () => {
  it('lists a pod’s init containers and containers, by JSON pointer', () => {
    expect(podImages(request('pod-create'))).toEqual([
      { path: '/spec/initContainers/0/image', image: TAG, list: 'initContainers', name: 'migrate' },
      { path: '/spec/containers/0/image', image: TAG, list: 'containers', name: 'web' },
      { path: '/spec/containers/1/image', image: DIGEST, list: 'containers', name: 'metrics' },
    ]);
  });

  it('finds a Deployment’s pod template', () => {
    expect(podImages(request('deployment-create'))).toEqual([
      { path: '/spec/template/spec/containers/0/image', image: TAG, list: 'containers', name: 'web' },
    ]);
  });

  it('finds a CronJob’s pod template under its job template', () => {
    expect(podImages(request('cronjob-create'))).toEqual([
      { path: '/spec/jobTemplate/spec/template/spec/initContainers/0/image', image: DIGEST, list: 'initContainers', name: 'fetch' },
      { path: '/spec/jobTemplate/spec/template/spec/containers/0/image', image: TAG, list: 'containers', name: 'report' },
    ]);
  });

  it('checks only the new ephemeral container of kubectl debug', () => {
    expect(podImages(request('pod-ephemeralcontainers'))).toEqual([
      { path: '/spec/ephemeralContainers/0/image', image: TAG, list: 'ephemeralContainers', name: 'debugger-7xq2m' },
    ]);
  });

  it('on UPDATE, leaves out the images the containers already had', () => {
    // The web container keeps 127.0.0.1:5000/signet/legacy:v0; the proxy is new.
    expect(podImages(request('deployment-update'))).toEqual([
      { path: '/spec/template/spec/containers/1/image', image: TAG, list: 'containers', name: 'proxy' },
    ]);
  });

  it('on UPDATE, checks a container whose image changed', () => {
    const review = JSON.parse(fixture('deployment-update'));
    review.request.object.spec.template.spec.containers[0].image = '127.0.0.1:5000/signet/legacy:v1';
    const parsed = parseAdmissionReview(JSON.stringify(review));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(podImages(parsed.request)?.map(({ path, image }) => [path, image])).toEqual([
      ['/spec/template/spec/containers/0/image', '127.0.0.1:5000/signet/legacy:v1'],
      ['/spec/template/spec/containers/1/image', TAG],
    ]);
  });

  it('covers every workload kind with a pod template', () => {
    const spec = { containers: [{ name: 'c', image: TAG }] };
    for (const [group, kind] of [
      ['apps', 'ReplicaSet'],
      ['apps', 'StatefulSet'],
      ['apps', 'DaemonSet'],
      ['batch', 'Job'],
      ['', 'ReplicationController'],
    ] as const) {
      const images = podImages({
        uid: 'u',
        kind: { group, version: 'v1', kind },
        operation: 'CREATE',
        object: { spec: { template: { spec } } },
      });
      expect(images).toEqual([{ path: '/spec/template/spec/containers/0/image', image: TAG, list: 'containers', name: 'c' }]);
    }
  });

  it('finds a PodTemplate’s pod spec under its template', () => {
    const images = podImages({
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'PodTemplate' },
      operation: 'CREATE',
      object: { template: { spec: { containers: [{ name: 'c', image: TAG }] } } },
    });
    expect(images).toEqual([{ path: '/template/spec/containers/0/image', image: TAG, list: 'containers', name: 'c' }]);
  });

  it('lists image volumes (spec.volumes[].image.reference) beside containers, and no other kind of volume', () => {
    const review = JSON.parse(fixture('pod-create'));
    review.request.object.spec.volumes.push({ name: 'models', image: { reference: DIGEST, pullPolicy: 'IfNotPresent' } });
    review.request.object.spec.volumes.push({ name: 'empty', image: { reference: '' } }, { name: 'cache', emptyDir: {} });
    const parsed = parseAdmissionReview(JSON.stringify(review));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(podImages(parsed.request)?.filter(({ list }) => list === 'volumes')).toEqual([
      { path: '/spec/volumes/1/image/reference', image: DIGEST, list: 'volumes', name: 'models' },
    ]);
  });

  it('on UPDATE, leaves out an image volume the template already had, and checks one that changed', () => {
    const template = (reference: string) => ({ spec: { template: { spec: { volumes: [{ name: 'models', image: { reference } }] } } } });
    const update = (before: string, after: string) =>
      podImages({
        uid: 'u',
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        operation: 'UPDATE',
        object: template(after),
        oldObject: template(before),
      });
    expect(update(TAG, TAG)).toEqual([]);
    expect(update(DIGEST, TAG)).toEqual([
      { path: '/spec/template/spec/volumes/0/image/reference', image: TAG, list: 'volumes', name: 'models' },
    ]);
  });

  it('does not check a DELETE, another kind or another subresource', () => {
    expect(podImages(request('pod-delete'))).toBeUndefined();
    expect(podImages(request('deployment-scale'))).toBeUndefined();
    const configMap: AdmissionRequest = {
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'ConfigMap' },
      operation: 'CREATE',
      object: {},
    };
    expect(podImages(configMap)).toBeUndefined();
    // A Deployment in another group is not apps/v1 Deployment.
    expect(podSpecPath({ ...configMap, kind: { group: 'example.com', version: 'v1', kind: 'Deployment' } })).toBeUndefined();
    expect(podSpecPath({ ...request('pod-create'), subResource: 'status', operation: 'UPDATE' })).toBeUndefined();
    expect(podSpecPath({ ...request('pod-create'), operation: 'CONNECT' })).toBeUndefined();
  });

  it('has nothing to check in a Deployment without a pod template', () => {
    expect(
      podImages({ uid: 'u', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, operation: 'CREATE', object: { spec: {} } }),
    ).toEqual([]);
  });

  it('refuses an object not shaped like its kind, naming where', () => {
    const pod = (spec: unknown): AdmissionRequest => ({
      uid: 'u',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      object: { spec },
    });
    const error = (spec: unknown) => {
      try {
        podImages(pod(spec));
      } catch (caught) {
        expect(caught).toBeInstanceOf(SignetError);
        return { code: (caught as SignetError).code, message: (caught as Error).message };
      }
      throw new Error('expected an error');
    };
    expect(error({ containers: { name: 'web' } })).toEqual({ code: 'E_INPUT', message: '/spec/containers must be a list of containers' });
    expect(error({ containers: ['nginx'] })).toEqual({ code: 'E_INPUT', message: '/spec/containers/0 must be a container' });
    expect(error({ containers: [{ name: 'web', image: 42 }] })).toEqual({
      code: 'E_INPUT',
      message: '/spec/containers/0/image must be a string, not 42',
    });
    expect(error({ volumes: { data: {} } })).toEqual({ code: 'E_INPUT', message: '/spec/volumes must be a list of volumes' });
    expect(error({ volumes: ['data'] })).toEqual({ code: 'E_INPUT', message: '/spec/volumes/0 must be a volume' });
    expect(error({ volumes: [{ name: 'data', image: TAG }] })).toEqual({
      code: 'E_INPUT',
      message: `/spec/volumes/0/image must be an object, not ${JSON.stringify(TAG)}`,
    });
    expect(error({ volumes: [{ name: 'data', image: { reference: ['a'] } }] })).toEqual({
      code: 'E_INPUT',
      message: '/spec/volumes/0/image/reference must be a string, not a list',
    });
    expect(() => podImages({ ...pod({}), object: undefined })).toThrow('the CREATE request for a Pod has no object');
  });
});

describe('pinningPatch', () => {
  it('replaces each image whose pinned reference differs, at every place it is used', () => {
    const images = podImages(request('pod-create')) ?? [];
    const pinned = new Map([
      [TAG, `${TAG}@${FIXTURE_DIGEST}`],
      [DIGEST, DIGEST],
    ]);
    expect(pinningPatch(images, pinned)).toEqual([
      { op: 'replace', path: '/spec/initContainers/0/image', value: `${TAG}@${FIXTURE_DIGEST}` },
      { op: 'replace', path: '/spec/containers/0/image', value: `${TAG}@${FIXTURE_DIGEST}` },
    ]);
  });

  it('is empty when every image is pinned already', () => {
    expect(
      pinningPatch([{ path: '/spec/containers/0/image', image: DIGEST, list: 'containers', name: 'c' }], new Map([[DIGEST, DIGEST]])),
    ).toEqual([]);
  });
});

describe('responses', () => {
  it('allows with a base64 JSON Patch only when there is one', () => {
    expect(allowed('u-1')).toEqual({ uid: 'u-1', allowed: true });
    const patch = [{ op: 'replace' as const, path: '/spec/containers/0/image', value: DIGEST }];
    const response = allowed('u-1', patch);
    expect(response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString())).toEqual(patch);
  });

  it('wraps a response in an AdmissionReview v1', () => {
    expect(admissionReview(denied('u-2', 403, 'no'))).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-2', allowed: false, status: { code: 403, message: 'no' } },
    });
  });
});

describe('parseDuration', () => {
  it('reads Go and Kubernetes durations, and bare seconds', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('')).toBeUndefined();
    expect(parseDuration('ten seconds')).toBeUndefined();
    expect(parseDuration('10x')).toBeUndefined();
  });
});
