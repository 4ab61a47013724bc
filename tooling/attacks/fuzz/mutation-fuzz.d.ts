export interface MutationFuzzResult {
  cases: number;
  refused: number;
  accepted: number;
  falseAccepts: number;
  crashes: number;
  byCode: Record<string, number>;
  failures: { kind: 'false accept' | 'crash'; case: number; label: string; error?: string }[];
  ms: number;
}

export function runMutationFuzz(options?: {
  cases?: number;
  seed?: number;
  onCase?: (index: number, label: string, outcome: string) => void;
}): Promise<MutationFuzzResult>;

/** A deterministic random source (mulberry32). */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(list: readonly T[]): T };

/** One mutant of a seed picked from `all`: its JSON and artifact changed one to three times, and what was done. */
export function mutateOne<S extends { name: string; json: unknown; artifact: Buffer }>(
  all: readonly S[],
  random: ReturnType<typeof prng>,
): { seed: S; json: Record<string, unknown>; artifact: Buffer; applied: string[] };
