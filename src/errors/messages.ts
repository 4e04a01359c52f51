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

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
