import { KumoError } from '../errors/index.js';

/** CloudWatch Logs' error for a filter pattern it cannot use. */
function invalidPattern(message: string): KumoError {
  return new KumoError('InvalidParameterException', message);
}

export interface CompiledPattern {
  /** A substring every match contains, pushed down to the store. */
  contains: string | undefined;
  /** The rest of the pattern; undefined when `contains` alone decides. */
  test: ((message: string) => boolean) | undefined;
}

/**
 * The term subset of CloudWatch Logs filter pattern syntax, matched case-sensitively:
 * - `ERROR` — messages containing the term; `ERROR timeout` — containing every term;
 * - `"Task timed out"` — a quoted phrase (spaces and punctuation kept; `\"` for a quote);
 * - `?ERROR ?WARN` — containing at least one of the `?` terms;
 * - `-DEBUG` — not containing the term (combine with others: `ERROR -retry`);
 * - an empty pattern (or `""`) matches everything.
 * JSON (`{ $.x = 1 }`), space-delimited (`[a, b]`) and regex (`%…%`) patterns are refused.
 */
export function compileFilterPattern(pattern: string): CompiledPattern {
  const trimmed = pattern.trim();
  if (trimmed === '' || trimmed === '""') return { contains: undefined, test: undefined };
  if (/^[{[%]/.test(trimmed)) {
    throw invalidPattern(
      'Kumo supports term filter patterns only (terms, "quoted phrases", ?optional and -excluded terms); JSON, space-delimited and regex patterns are not supported.',
    );
  }
  const required: string[] = [];
  const optional: string[] = [];
  const excluded: string[] = [];
  let i = 0;
  while (i < trimmed.length) {
    while (i < trimmed.length && /\s/.test(trimmed.charAt(i))) i++;
    if (i >= trimmed.length) break;
    let bucket = required;
    if (trimmed[i] === '?') {
      bucket = optional;
      i++;
    } else if (trimmed[i] === '-') {
      bucket = excluded;
      i++;
    }
    let term = '';
    if (trimmed[i] === '"') {
      i++;
      let closed = false;
      while (i < trimmed.length) {
        const c = trimmed.charAt(i++);
        if (c === '\\' && i < trimmed.length) term += trimmed.charAt(i++);
        else if (c === '"') {
          closed = true;
          break;
        } else term += c;
      }
      if (!closed) throw invalidPattern(`Invalid filter pattern: unterminated quoted term in ${JSON.stringify(pattern)}.`);
    } else {
      while (i < trimmed.length && !/\s/.test(trimmed.charAt(i))) term += trimmed.charAt(i++);
    }
    if (term === '') throw invalidPattern(`Invalid filter pattern: empty term in ${JSON.stringify(pattern)}.`);
    bucket.push(term);
  }
  const [first, ...rest] = required;
  if (first !== undefined && rest.length === 0 && optional.length === 0 && excluded.length === 0) {
    return { contains: first, test: undefined };
  }
  const test = (m: string): boolean =>
    rest.every((t) => m.includes(t)) &&
    (optional.length === 0 || optional.some((t) => m.includes(t))) &&
    !excluded.some((t) => m.includes(t));
  return { contains: first, test };
}
