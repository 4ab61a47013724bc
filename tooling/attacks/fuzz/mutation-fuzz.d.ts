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
