export { parseDuration } from './duration';
export { type CheckedImage, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_TTL_MS, ImageChecker, type ImageCheckerOptions } from './image-checker';
export {
  ADMISSION_API_VERSION,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewResponse,
  admissionReview,
  allowed,
  denied,
  type GroupVersionKind,
  type ImageList,
  type JsonPatchOperation,
  type ParsedReview,
  type PodImage,
  parseAdmissionReview,
  pinningPatch,
  podImages,
  podSpecPath,
} from './review';
export { type AdmissionServerOptions, createAdmissionServer, DEFAULT_VERIFY_TIMEOUT_MS, MAX_BODY_BYTES } from './server';
