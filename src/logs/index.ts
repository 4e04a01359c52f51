export { LogWriter } from './writer.js';
export {
  startLine,
  endLine,
  reportLine,
  billedDuration,
  newLogStreamName,
  logGroupName,
  timeoutLine,
  type ReportFields,
} from './format.js';
export { compileFilterPattern, type CompiledPattern } from './filter-pattern.js';
