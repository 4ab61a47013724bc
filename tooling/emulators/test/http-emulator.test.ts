import { type EmulatorRequest, type EmulatorResponse, type Fault, FaultPlan, HttpEmulator } from '../src';

class EchoEmulator extends HttpEmulator {
  readonly service = 'Echo';
  protected operationOf(request: EmulatorRequest): string {
    return request.path.slice(1) || 'Root';
  }
  protected faultResponse(fault: Exclude<Fault, { kind: 'latency' | 'drop' }>): EmulatorResponse {
    if (fault.kind === 'throttle')
      return { status: 429, headers: { 'retry-after': String(fault.retryAfterSeconds ?? 1) }, body: { error: 'slow down' } };
    return { status: fault.kind === 'status' ? fault.status : 500, body: { error: 'injected' } };
  }
  protected async handle(request: EmulatorRequest, _operation: string, fault?: Fault): Promise<EmulatorResponse> {
    return { status: 200, body: { echo: request.json ?? null, corrupted: fault?.kind === 'corrupt' } };
  }
}

describe('FaultPlan', () => {
  it('applies faults in order, to matching operations, the number of times asked', () => {
    const plan = new FaultPlan().add({ fault: { kind: 'drop' }, operation: 'Sign', times: 2 }).add({ fault: { kind: 'latency', ms: 5 } });
    expect(plan.take('GetPublicKey')).toEqual({ kind: 'latency', ms: 5 });
    expect(plan.take('Sign')).toEqual({ kind: 'drop' });
    expect(plan.take('Sign')).toEqual({ kind: 'drop' });
    expect(plan.take('Sign')).toBeUndefined();
  });
});

describe('HttpEmulator', () => {
  const emulator = new EchoEmulator();
  beforeAll(() => emulator.start());
  afterAll(() => emulator.stop());

  it('serves on 127.0.0.1, logs requests with credentials redacted', async () => {
    const response = await fetch(`${emulator.url}/Sign`, {
      method: 'POST',
      body: '{"a":1}',
      headers: { authorization: 'Bearer secret-token' },
    });
    expect(await response.json()).toEqual({ echo: { a: 1 }, corrupted: false });
    const [entry] = emulator.calls('Sign');
    expect(entry).toMatchObject({ method: 'POST', status: 200, body: { a: 1 } });
    expect(entry?.headers.authorization).toBe('[redacted]');
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('injects status, throttling, corruption and dropped connections', async () => {
    emulator.faults
      .add({ fault: { kind: 'status', status: 503 }, operation: 'Sign' })
      .add({ fault: { kind: 'throttle', retryAfterSeconds: 2 }, operation: 'Sign' })
      .add({ fault: { kind: 'corrupt' }, operation: 'Sign' })
      .add({ fault: { kind: 'drop' }, operation: 'Sign' });
    expect((await fetch(`${emulator.url}/Sign`, { method: 'POST' })).status).toBe(503);
    const throttled = await fetch(`${emulator.url}/Sign`, { method: 'POST' });
    expect([throttled.status, throttled.headers.get('retry-after')]).toEqual([429, '2']);
    expect(await (await fetch(`${emulator.url}/Sign`, { method: 'POST' })).json()).toMatchObject({ corrupted: true });
    await expect(fetch(`${emulator.url}/Sign`, { method: 'POST' })).rejects.toThrow();
    expect((await fetch(`${emulator.url}/Sign`, { method: 'POST' })).status).toBe(200);
  });
});
