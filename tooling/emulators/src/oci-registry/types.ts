/** A registry a test started; both startDockerRegistry and startReferrersRegistry return one. */
export interface RunningRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT — what goes in an image reference */
  host: string;
  /** when started with auth */
  credentials?: { username: string; password: string };
  /**
   * Every request the registry saw, oldest first. The Node fixture fills it (path includes the
   * query); docker-registry's stays empty (its access log is in the log file instead).
   */
  requests: RegistryRequest[];
  stop(): Promise<void>;
}

export interface RegistryRequest {
  method: string;
  /** The path with its query string. */
  path: string;
  /** The answered status; 0 for a dropped connection; undefined while a latency fault holds the answer back. */
  status: number | undefined;
  /** The request's Accept header, if it had one. */
  accept?: string;
  /** The fixture's operation name ('manifest.get', 'blob.upload', …), as faults target them. */
  operation?: string;
  /** The request headers with Authorization redacted. */
  headers?: Record<string, string>;
  /** The fault kind injected into this request, if any. */
  fault?: string;
}
