import assert from 'node:assert/strict';

/** What `GET /_kumo/functions/{name}/pending-events` (`kumo pending`) answers. */
export interface PendingOut {
  FunctionName: string;
  Count: number;
  Running: number;
  Events: Array<{ RequestId: string }>;
}

/** A function's queued asynchronous events, from the server at `url`. */
export async function pendingEvents(url: string, name: string): Promise<PendingOut> {
  const res = await fetch(`${url}/_kumo/functions/${name}/pending-events`);
  assert.equal(res.status, 200);
  return (await res.json()) as PendingOut;
}
