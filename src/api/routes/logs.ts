import type { CompiledOptions } from '../../config/index.js';
import type { LogRepo } from '../../store/index.js';
import type { ApiRequest, ApiResponse } from '../http.js';

/** CloudWatch Logs (JSON 1.1 protocol, `X-Amz-Target: Logs_20140328.<Operation>`). Placeholder: filled in below. */
export function logsTargets(_logs: LogRepo, _options: CompiledOptions): (target: string, req: ApiRequest) => Promise<ApiResponse> | undefined {
  return () => undefined;
}
