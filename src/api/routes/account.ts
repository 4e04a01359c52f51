import type { CompiledOptions } from '../../config/index.js';
import type { FunctionService } from '../../functions/index.js';
import { json, type Route } from '../http.js';

/** GetAccountSettings: Lambda's limits as Kumo enforces them, and real usage. */
export function accountRoutes(functions: FunctionService, options: CompiledOptions): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/2016-08-19/account-settings',
      handler: async () => {
        const usage = await functions.usage();
        return json(200, {
          AccountLimit: {
            TotalCodeSize: 80_530_636_800,
            CodeSizeUnzipped: 262_144_000,
            CodeSizeZipped: 52_428_800,
            ConcurrentExecutions: options.concurrencyLimit,
            UnreservedConcurrentExecutions: usage.unreservedConcurrentExecutions,
          },
          AccountUsage: { TotalCodeSize: usage.totalCodeSize, FunctionCount: usage.functionCount },
        });
      },
    },
  ];
}
