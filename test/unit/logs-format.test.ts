import assert from 'node:assert/strict';
import { test } from 'node:test';
import { billedDuration, compileFilterPattern, endLine, newLogStreamName, reportLine, startLine } from '../../src/logs/index.js';

test('START and END lines are spaced as Lambda writes them', () => {
  assert.equal(startLine('abc', '$LATEST'), 'START RequestId: abc Version: $LATEST');
  assert.equal(endLine('abc'), 'END RequestId: abc');
});

test('REPORT is tab-separated with a trailing tab; Init Duration after Max Memory Used', () => {
  assert.equal(
    reportLine({ requestId: 'r', durationMs: 14.971, memorySizeMb: 128, maxMemoryUsedMb: 67, initDurationMs: 480.254 }),
    'REPORT RequestId: r\tDuration: 14.97 ms\tBilled Duration: 15 ms\tMemory Size: 128 MB\tMax Memory Used: 67 MB\tInit Duration: 480.25 ms\t',
  );
  assert.equal(
    reportLine({ requestId: 'r', durationMs: 1000, memorySizeMb: 128, maxMemoryUsedMb: 60, status: 'timeout' }),
    'REPORT RequestId: r\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: timeout\t',
  );
  assert.match(
    reportLine({ requestId: 'r', durationMs: 2, memorySizeMb: 128, maxMemoryUsedMb: 60, status: 'error', errorType: 'Runtime.ExitError' }),
    /\tStatus: error\tError Type: Runtime\.ExitError\t$/,
  );
});

test('billed duration rounds up to the millisecond, at least 1 ms', () => {
  assert.equal(billedDuration(0.01), 1);
  assert.equal(billedDuration(14.001), 15);
  assert.equal(billedDuration(15), 15);
});

test('log stream names look like Lambda’s', () => {
  assert.match(newLogStreamName('$LATEST', new Date('2026-01-02T03:04:05Z')), /^2026\/01\/02\/\[\$LATEST\][0-9a-f]{32}$/);
});

test('filter patterns: terms, quoted phrases, ?optional and -excluded terms', () => {
  const match = (pattern: string, message: string): boolean => {
    const p = compileFilterPattern(pattern);
    return (p.contains === undefined || message.includes(p.contains)) && (p.test === undefined || p.test(message));
  };
  assert.equal(match('', 'anything'), true);
  assert.equal(match('ERROR', 'an ERROR here'), true);
  assert.equal(match('ERROR', 'an error here'), false, 'case-sensitive');
  assert.equal(match('ERROR timeout', 'ERROR: timeout'), true);
  assert.equal(match('ERROR timeout', 'ERROR: refused'), false);
  assert.equal(match('"Task timed out"', 'x Task timed out after 3.00 seconds'), true);
  assert.equal(match('?WARN ?ERROR', 'a WARN'), true);
  assert.equal(match('?WARN ?ERROR', 'an INFO'), false);
  assert.equal(match('ERROR -retry', 'ERROR, will retry'), false);
  assert.equal(match('ERROR -retry', 'ERROR, giving up'), true);
  assert.throws(() => compileFilterPattern('{ $.level = "ERROR" }'), { name: 'InvalidParameterException' });
  assert.throws(() => compileFilterPattern('"unterminated'), { name: 'InvalidParameterException' });
});
