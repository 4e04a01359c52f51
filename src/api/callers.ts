import type http from 'node:http';
import type net from 'node:net';
import { KumoError } from '../errors/index.js';
import type { ConnectionEnds } from '../sandbox/index.js';

/**
 * Who may call what on Kumo's API. Functions share the host's network, so an execution environment
 * can connect to Kumo's port like any local process. It gets what a function with a narrow
 * execution role gets on Lambda: it may invoke functions (Invoke, InvokeAsync,
 * InvokeWithResponseStream), call function URLs, and send, receive and delete SQS messages.
 * Everything else (another function's code, its configuration and environment variables, logs,
 * metrics, and every change to a resource) answers AccessDeniedException. The kernel says who the
 * caller is, from the connection (`Isolation.connectionFromEnvironment`); nothing in the request
 * does. See docs/sandbox.md.
 */

/** Whether a connection may come from an execution environment: `false` when it provably does not. */
export type EnvironmentCheck = (ends: ConnectionEnds) => Promise<boolean> | false;

/** The SQS actions execution environments may call: messages, and finding a queue and reading its attributes. */
const SQS_ACTIONS_FOR_ENVIRONMENTS: ReadonlySet<string> = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'GetQueueUrl',
  'GetQueueAttributes',
]);

/** Whether execution environments may call this SQS action (query protocol `Action`, or the JSON target's suffix). */
export function sqsActionForEnvironments(action: string | null | undefined): boolean {
  return action != null && SQS_ACTIONS_FOR_ENVIRONMENTS.has(action);
}

/** Tells the API's connections from execution environments apart, and refuses them what they may not call. */
export class CallerGate {
  private readonly verdicts = new WeakMap<net.Socket, Promise<boolean>>();

  constructor(private readonly check: EnvironmentCheck) {}

  /**
   * Whether the connection may come from an execution environment, looked up once per connection
   * and only when a request needs it: connections that only invoke (the hot path) cost nothing.
   */
  private verdict(socket: net.Socket): Promise<boolean> | false {
    const known = this.verdicts.get(socket);
    if (known) return known;
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    const verdict =
      remoteAddress === undefined || remotePort === undefined || localAddress === undefined || localPort === undefined
        ? Promise.resolve(true) // closed already: nothing is proven
        : this.check({ remoteAddress, remotePort, localAddress, localPort });
    if (verdict !== false) this.verdicts.set(socket, verdict);
    return verdict;
  }

  /** Throws AccessDeniedException (403) when `req` came over a connection from an execution environment. */
  async refuseEnvironment(req: http.IncomingMessage, operation: string): Promise<void> {
    const verdict = this.verdict(req.socket);
    if (verdict !== false && (await verdict)) {
      throw new KumoError(
        'AccessDeniedException',
        `An execution environment is not authorized to perform: ${operation}. Functions may call Invoke, ` +
          'InvokeAsync, InvokeWithResponseStream, function URLs and the SQS message actions on Kumo.',
      );
    }
  }
}
