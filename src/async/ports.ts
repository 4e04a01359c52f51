import type { FunctionRef, InvokeInput, InvokeResult, Partition } from '../functions/index.js';
import type { FunctionRecord } from '../store/index.js';

/** What the async subsystem uses of FunctionService (which satisfies it). */
export interface FunctionsPort {
  readonly partition: Partition;
  ref(input: string, qualifier?: string): FunctionRef;
  arn(name: string, qualifier?: string): string;
  get(input: string, qualifier?: string): Promise<FunctionRecord>;
  invoke(input: InvokeInput): Promise<InvokeResult>;
}
