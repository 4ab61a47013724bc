/**
 * Faults an emulator injects on demand, so tests see what real services do on a bad day:
 * slowness, errors, throttling with Retry-After, dropped connections, corrupted answers,
 * and (per emulator) protocol-specific ones such as an alias that is not visible yet.
 */
export type Fault =
  /** Answer normally, but only after a pause. */
  | { kind: 'latency'; ms: number }
  /** Answer with this HTTP status (5xx, 403, …) and an error body in the service's format. */
  | { kind: 'status'; status: number; message?: string }
  /** 429 (or the service's throttling error) with Retry-After. */
  | { kind: 'throttle'; retryAfterSeconds?: number }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** Answer with a corrupted payload (GCP: a wrong CRC32C). */
  | { kind: 'corrupt' }
  /** A fault only one emulator understands, named by it (e.g. 'alias-not-found-yet'). */
  | { kind: 'custom'; name: string };

export interface FaultRule {
  fault: Fault;
  /** How many matching requests it applies to (default 1; Infinity for "until cleared"). */
  times?: number;
  /** Which requests it applies to, by the operation name the emulator logs (default: any). */
  operation?: string;
}

interface ActiveRule extends Required<Pick<FaultRule, 'times'>> {
  fault: Fault;
  operation?: string;
}

/** Faults queued for the next matching requests, in the order they were added. */
export class FaultPlan {
  private rules: ActiveRule[] = [];

  add(rule: FaultRule): this {
    this.rules.push({ fault: rule.fault, times: rule.times ?? 1, operation: rule.operation });
    return this;
  }

  /** Takes the fault for this request, if any rule matches. */
  take(operation: string): Fault | undefined {
    const rule = this.rules.find((r) => r.times > 0 && (r.operation === undefined || r.operation === operation));
    if (!rule) return undefined;
    rule.times -= 1;
    this.rules = this.rules.filter((r) => r.times > 0);
    return rule.fault;
  }

  clear(): void {
    this.rules = [];
  }
}

/** One request as the emulator saw it; tests assert on these (what was sent, how often). */
export interface LoggedRequest {
  operation: string;
  method: string;
  path: string;
  /** The query string, with its leading '?' (or ''). */
  query?: string;
  /** Headers with credentials redacted. */
  headers: Record<string, string>;
  body?: unknown;
  /** The status answered; undefined while the answer is still being delayed (a latency fault); 0 for a dropped connection. */
  status: number | undefined;
  fault?: Fault['kind'];
  /** When the request arrived. */
  at: number;
}

const SECRET_HEADERS = new Set(['authorization', 'x-vault-token', 'x-amz-security-token', 'cookie']);

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
