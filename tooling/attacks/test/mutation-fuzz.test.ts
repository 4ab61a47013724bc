// The mutation fuzz (fuzz/mutation-fuzz.js) at a size a test run affords; the benchmark runs it
// at 10,000 cases. Any false accept or crash is listed with the mutations that caused it.
const { runMutationFuzz } = require('../fuzz/mutation-fuzz') as typeof import('../fuzz/mutation-fuzz');

it('2,000 mutants of bundles and artifacts: 0 false accepts, 0 crashes', async () => {
  const result = await runMutationFuzz({ cases: 2000, seed: 20261206 });
  expect(result.failures).toEqual([]);
  expect({ falseAccepts: result.falseAccepts, crashes: result.crashes }).toEqual({ falseAccepts: 0, crashes: 0 });
  // The mutants are real attacks: most are refused, for many different reasons.
  expect(result.refused).toBeGreaterThan(result.cases / 2);
  expect(Object.keys(result.byCode).length).toBeGreaterThanOrEqual(5);
}, 300_000);
