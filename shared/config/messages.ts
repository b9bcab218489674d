import type { z } from 'zod';

/** Zod error messages in the house voice ("expected a list, received a mapping"); pass as `{ error: messageFor }`. */
export function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? 'required'
        : `expected ${article(issue.expected)}, received ${describe(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small': {
      const n = Number(issue.minimum);
      if (issue.origin === 'array') return `expected at least ${n} item${n === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return n === 1 ? 'expected a non-empty string' : `expected at least ${n} characters`;
      return `expected a number ${issue.inclusive ? '>=' : '>'} ${n}`;
    }
    case 'too_big': {
      const n = Number(issue.maximum);
      if (issue.origin === 'array') return `expected at most ${n} item${n === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return `expected at most ${n} characters`;
      return `expected a number ${issue.inclusive ? '<=' : '<'} ${n}`;
    }
    case 'invalid_format':
      return `expected ${article(issue.format)}`;
    default:
      return undefined;
  }
}

function article(noun: string): string {
  if (noun === 'int') return 'an integer';
  if (noun === 'record' || noun === 'object') return 'a mapping';
  if (noun === 'array') return 'a list';
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  return String(value);
}
