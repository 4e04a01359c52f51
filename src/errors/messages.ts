import { KumoError } from './catalog.js';

/**
 * Constructors for errors whose wording AWS fixes. Keeping the text here keeps it identical
 * everywhere it is raised.
 */

/** AWS's "1 validation error detected: Value 'x' at 'field' failed to satisfy constraint: ..." */
export function validationError(field: string, value: unknown, constraint: string): KumoError {
  return new KumoError(
    'ValidationException',
    `1 validation error detected: Value '${formatValue(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

export function functionNotFound(arn: string): KumoError {
  return new KumoError('ResourceNotFoundException', `Function not found: ${arn}`);
}

export function invalidParameter(message: string): KumoError {
  return new KumoError('InvalidParameterValueException', message);
}

/** Lambda's answer when a write lost a race with another change of the same resource (its RevisionId moved). */
export function updateInProgress(arn: string): KumoError {
  return new KumoError(
    'ResourceConflictException',
    `The operation cannot be performed at this time. An update is in progress for resource: ${arn}`,
  );
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
