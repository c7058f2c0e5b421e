import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  lookupPipeFunction,
  pipeDomains,
  pipeFunctions,
} from '../../../../src/engine/mapper/functions/index.ts';

/** One direct call of a pipe function: `fn` is the `domain.name` key, `args` the previous pipe row. */
interface PipeCase {
  name: string;
  fn: string;
  args: unknown[];
  expected: unknown;
}

const FUNCTIONS_DIR = join(import.meta.dirname, '../../../../src/engine/mapper/functions');

// Every function called through `call`, checked against the catalog by the last test.
const calledFunctions = new Set<string>();

function call(name: string, ...args: unknown[]): unknown {
  const fn = lookupPipeFunction(name);
  if (fn === undefined) throw new Error(`${name} is missing from the pipe function catalog`);
  calledFunctions.add(name);
  return fn(...args);
}

function runCases(cases: readonly PipeCase[]): void {
  for (const { name, fn, args, expected } of cases) {
    it(name, () => {
      expect(call(fn, ...args)).to.deep.equal(expected);
    });
  }
}

// Sunday 2024-03-10 15:04:05.678 UTC.
const SAMPLE_MS = Date.UTC(2024, 2, 10, 15, 4, 5, 678);
const SAMPLE_ISO = '2024-03-10T15:04:05.678Z';
const sampleDate = (): Date => new Date(SAMPLE_MS);

describe('pipe function catalog', () => {
  describe('array', () => {
    runCases([
      { name: 'get reads an element', fn: 'array.get', args: [['a', 'b'], 1], expected: 'b' },
      { name: 'get accepts an integer string', fn: 'array.get', args: [['a', 'b'], '0'], expected: 'a' },
      { name: 'get past the end is undefined', fn: 'array.get', args: [['a'], 3], expected: undefined },
      { name: 'get with negative index is undefined', fn: 'array.get', args: [['a'], -1], expected: undefined },
      { name: 'length counts elements', fn: 'array.length', args: [[1, 2, 3]], expected: 3 },
      { name: 'concat appends arrays and values', fn: 'array.concat', args: [[1], [2, 3], 4], expected: [1, 2, 3, 4] },
      { name: 'indexOf finds an element', fn: 'array.indexOf', args: [['a', 'b', 'a'], 'a'], expected: 0 },
      { name: 'indexOf honours fromIndex', fn: 'array.indexOf', args: [['a', 'b', 'a'], 'a', 1], expected: 2 },
      { name: 'indexOf misses', fn: 'array.indexOf', args: [['a'], 'z'], expected: -1 },
      { name: 'lastIndexOf searches the whole array', fn: 'array.lastIndexOf', args: [[1, 2, 1], 1], expected: 2 },
      { name: 'lastIndexOf honours fromIndex', fn: 'array.lastIndexOf', args: [[1, 2, 1], 1, 1], expected: 0 },
      { name: 'join with separator', fn: 'array.join', args: [['Luke', 'Birdeau'], ' '], expected: 'Luke Birdeau' },
      { name: 'join defaults to commas', fn: 'array.join', args: [[1, 2]], expected: '1,2' },
      { name: 'slice with start and end', fn: 'array.slice', args: [[1, 2, 3, 4], 1, 3], expected: [2, 3] },
      { name: 'slice with negative start', fn: 'array.slice', args: [[1, 2, 3], -2], expected: [2, 3] },
      { name: 'pop returns the last element', fn: 'array.pop', args: [[1, 2, 3]], expected: 3 },
      { name: 'pop of empty is undefined', fn: 'array.pop', args: [[]], expected: undefined },
      { name: 'push returns the new array', fn: 'array.push', args: [[1], 2, 3], expected: [1, 2, 3] },
      { name: 'reverse returns the reversed array', fn: 'array.reverse', args: [[1, 2, 3]], expected: [3, 2, 1] },
      { name: 'shift returns the first element', fn: 'array.shift', args: [[1, 2, 3]], expected: 1 },
      { name: 'sort orders strings', fn: 'array.sort', args: [['b', 'c', 'a']], expected: ['a', 'b', 'c'] },
      { name: 'sort compares numbers as text', fn: 'array.sort', args: [[10, 9, 1]], expected: [1, 10, 9] },
      {
        name: 'splice removes and inserts',
        fn: 'array.splice',
        args: [[1, 2, 3, 4], 1, 2, 'x'],
        expected: [1, 'x', 4],
      },
      { name: 'splice with start only truncates', fn: 'array.splice', args: [[1, 2, 3], 1], expected: [1] },
      { name: 'unshift returns the new array', fn: 'array.unshift', args: [[3], 1, 2], expected: [1, 2, 3] },
    ]);

    it('mutating functions leave the input unchanged', () => {
      const input = [3, 1, 2];
      for (const name of ['pop', 'push', 'reverse', 'shift', 'sort', 'splice', 'unshift']) {
        call(`array.${name}`, input, 0, 1);
      }
      expect(input).to.deep.equal([3, 1, 2]);
    });

    it('rejects a non-array argument', () => {
      expect(() => call('array.length', 'abc')).to.throw(TypeError, /array\.length: argument 1 must be an array/);
    });

    it('get rejects a non-integer index', () => {
      expect(() => call('array.get', [1], 'constructor')).to.throw(TypeError, /integer index/);
      expect(() => call('array.get', [1], '')).to.throw(TypeError, /integer index/);
      expect(() => call('array.get', [1], 0.5)).to.throw(TypeError, /integer index/);
    });
  });

  describe('bitwise', () => {
    runCases([
      { name: 'and', fn: 'bitwise.and', args: [6, 3], expected: 2 },
      { name: 'or', fn: 'bitwise.or', args: [6, 3], expected: 7 },
      { name: 'xor', fn: 'bitwise.xor', args: [6, 3], expected: 5 },
      { name: 'xor converts numeric strings', fn: 'bitwise.xor', args: ['6', '3'], expected: 5 },
      { name: 'leftShift', fn: 'bitwise.leftShift', args: [1, 4], expected: 16 },
      { name: 'rightShift keeps the sign', fn: 'bitwise.rightShift', args: [-16, 2], expected: -4 },
      { name: 'unsignedRightShift', fn: 'bitwise.unsignedRightShift', args: [-1, 28], expected: 15 },
    ]);
  });

  describe('conditional', () => {
    runCases([
      { name: 'ternary picks a on truthy', fn: 'conditional.ternary', args: [1, 'a', 'b'], expected: 'a' },
      { name: 'ternary picks b on falsy', fn: 'conditional.ternary', args: ['', 'a', 'b'], expected: 'b' },
      { name: 'equality coerces', fn: 'conditional.equality', args: ['1', 1], expected: true },
      { name: 'strict_equality does not coerce', fn: 'conditional.strict_equality', args: ['1', 1], expected: false },
      { name: 'inequality coerces', fn: 'conditional.inequality', args: ['1', 1], expected: false },
      { name: 'strict_inequality', fn: 'conditional.strict_inequality', args: ['1', 1], expected: true },
      { name: 'greater_than on numbers', fn: 'conditional.greater_than', args: [10, 9], expected: true },
      {
        name: 'greater_than on strings is textual',
        fn: 'conditional.greater_than',
        args: ['10', '9'],
        expected: false,
      },
      { name: 'less_than', fn: 'conditional.less_than', args: [1, 2], expected: true },
      { name: 'greater_than_or_equal', fn: 'conditional.greater_than_or_equal', args: [2, 2], expected: true },
      { name: 'less_than_or_equal', fn: 'conditional.less_than_or_equal', args: [3, 2], expected: false },
      { name: 'nullish keeps zero', fn: 'conditional.nullish', args: [0, 5], expected: 0 },
      { name: 'nullish replaces null', fn: 'conditional.nullish', args: [null, 5], expected: 5 },
      { name: 'nullish replaces undefined', fn: 'conditional.nullish', args: [undefined, 5], expected: 5 },
    ]);
  });

  describe('date', () => {
    runCases([
      { name: 'fromISOString returns a Date', fn: 'date.fromISOString', args: [SAMPLE_ISO], expected: sampleDate() },
      { name: 'parse returns epoch ms', fn: 'date.parse', args: [SAMPLE_ISO], expected: SAMPLE_MS },
      { name: 'parse of garbage is NaN', fn: 'date.parse', args: ['not a date'], expected: Number.NaN },
      { name: 'UTC builds epoch ms', fn: 'date.UTC', args: [2024, 2, 10], expected: Date.UTC(2024, 2, 10) },
      { name: 'valueOf of numeric string', fn: 'date.valueOf', args: [String(SAMPLE_MS)], expected: SAMPLE_MS },
      { name: 'getTime of ISO string', fn: 'date.getTime', args: [SAMPLE_ISO], expected: SAMPLE_MS },
      { name: 'getTime of a Date', fn: 'date.getTime', args: [sampleDate()], expected: SAMPLE_MS },
      { name: 'getTime of invalid input is NaN', fn: 'date.getTime', args: [{}], expected: Number.NaN },

      { name: 'getUTCDate', fn: 'date.getUTCDate', args: [SAMPLE_MS], expected: 10 },
      { name: 'getUTCDay', fn: 'date.getUTCDay', args: [SAMPLE_MS], expected: 0 },
      { name: 'getUTCFullYear', fn: 'date.getUTCFullYear', args: [SAMPLE_MS], expected: 2024 },
      { name: 'getUTCHours', fn: 'date.getUTCHours', args: [SAMPLE_MS], expected: 15 },
      { name: 'getUTCMilliseconds', fn: 'date.getUTCMilliseconds', args: [SAMPLE_MS], expected: 678 },
      { name: 'getUTCMinutes', fn: 'date.getUTCMinutes', args: [SAMPLE_MS], expected: 4 },
      { name: 'getUTCMonth', fn: 'date.getUTCMonth', args: [SAMPLE_MS], expected: 2 },
      { name: 'getUTCSeconds', fn: 'date.getUTCSeconds', args: [SAMPLE_MS], expected: 5 },

      // Local time depends on the TZ of the test process, so the expected values come from Date itself.
      { name: 'getDate', fn: 'date.getDate', args: [SAMPLE_ISO], expected: sampleDate().getDate() },
      { name: 'getDay', fn: 'date.getDay', args: [SAMPLE_ISO], expected: sampleDate().getDay() },
      { name: 'getFullYear', fn: 'date.getFullYear', args: [SAMPLE_ISO], expected: sampleDate().getFullYear() },
      { name: 'getHours', fn: 'date.getHours', args: [SAMPLE_ISO], expected: sampleDate().getHours() },
      { name: 'getMilliseconds', fn: 'date.getMilliseconds', args: [SAMPLE_ISO], expected: 678 },
      { name: 'getMinutes', fn: 'date.getMinutes', args: [SAMPLE_ISO], expected: sampleDate().getMinutes() },
      { name: 'getMonth', fn: 'date.getMonth', args: [SAMPLE_ISO], expected: sampleDate().getMonth() },
      { name: 'getSeconds', fn: 'date.getSeconds', args: [SAMPLE_ISO], expected: sampleDate().getSeconds() },
      {
        name: 'getTimezoneOffset',
        fn: 'date.getTimezoneOffset',
        args: [SAMPLE_ISO],
        expected: sampleDate().getTimezoneOffset(),
      },

      {
        name: 'setUTCDate',
        fn: 'date.setUTCDate',
        args: [SAMPLE_ISO, 1],
        expected: Date.UTC(2024, 2, 1, 15, 4, 5, 678),
      },
      {
        name: 'setUTCFullYear with month and day',
        fn: 'date.setUTCFullYear',
        args: [SAMPLE_ISO, 2020, 0, 2],
        expected: Date.UTC(2020, 0, 2, 15, 4, 5, 678),
      },
      {
        name: 'setUTCHours with hour only',
        fn: 'date.setUTCHours',
        args: [SAMPLE_MS, 1],
        expected: Date.UTC(2024, 2, 10, 1, 4, 5, 678),
      },
      {
        name: 'setUTCHours with minutes',
        fn: 'date.setUTCHours',
        args: [SAMPLE_MS, 1, 2],
        expected: Date.UTC(2024, 2, 10, 1, 2, 5, 678),
      },
      {
        name: 'setUTCMilliseconds',
        fn: 'date.setUTCMilliseconds',
        args: [SAMPLE_MS, 1],
        expected: Date.UTC(2024, 2, 10, 15, 4, 5, 1),
      },
      {
        name: 'setUTCMinutes',
        fn: 'date.setUTCMinutes',
        args: [SAMPLE_MS, '30'],
        expected: Date.UTC(2024, 2, 10, 15, 30, 5, 678),
      },
      {
        name: 'setUTCMonth',
        fn: 'date.setUTCMonth',
        args: [SAMPLE_MS, 0],
        expected: Date.UTC(2024, 0, 10, 15, 4, 5, 678),
      },
      {
        name: 'setUTCSeconds',
        fn: 'date.setUTCSeconds',
        args: [SAMPLE_MS, 0],
        expected: Date.UTC(2024, 2, 10, 15, 4, 0, 678),
      },
      { name: 'setTime', fn: 'date.setTime', args: [SAMPLE_MS, 0], expected: 0 },
      { name: 'setDate', fn: 'date.setDate', args: [SAMPLE_MS, 1], expected: sampleDate().setDate(1) },
      {
        name: 'setFullYear',
        fn: 'date.setFullYear',
        args: [SAMPLE_MS, 2020],
        expected: sampleDate().setFullYear(2020),
      },
      { name: 'setHours', fn: 'date.setHours', args: [SAMPLE_MS, 1], expected: sampleDate().setHours(1) },
      {
        name: 'setMilliseconds',
        fn: 'date.setMilliseconds',
        args: [SAMPLE_MS, 1],
        expected: sampleDate().setMilliseconds(1),
      },
      { name: 'setMinutes', fn: 'date.setMinutes', args: [SAMPLE_MS, 1], expected: sampleDate().setMinutes(1) },
      { name: 'setMonth', fn: 'date.setMonth', args: [SAMPLE_MS, 1], expected: sampleDate().setMonth(1) },
      { name: 'setSeconds', fn: 'date.setSeconds', args: [SAMPLE_MS, 1], expected: sampleDate().setSeconds(1) },

      { name: 'toISOString', fn: 'date.toISOString', args: [SAMPLE_MS], expected: SAMPLE_ISO },
      { name: 'toISOXString is compact', fn: 'date.toISOXString', args: [SAMPLE_ISO], expected: '20240310150405.678' },
      { name: 'toJSON', fn: 'date.toJSON', args: [String(SAMPLE_MS)], expected: SAMPLE_ISO },
      { name: 'toJSON of invalid date is null', fn: 'date.toJSON', args: ['never'], expected: null },
      { name: 'toDateString', fn: 'date.toDateString', args: [SAMPLE_MS], expected: sampleDate().toDateString() },
      { name: 'toString', fn: 'date.toString', args: [SAMPLE_MS], expected: sampleDate().toString() },
      {
        name: 'toLocaleDateString with locale and options',
        fn: 'date.toLocaleDateString',
        args: [SAMPLE_MS, 'en-US', { timeZone: 'UTC' }],
        expected: '3/10/2024',
      },
      {
        name: 'toLocaleString with locale and options',
        fn: 'date.toLocaleString',
        args: [SAMPLE_MS, 'en-US', { timeZone: 'UTC', hour12: false }],
        expected: '3/10/2024, 15:04:05',
      },
      {
        name: 'toLocaleTimeString with locale and options',
        fn: 'date.toLocaleTimeString',
        args: [SAMPLE_MS, 'en-US', { timeZone: 'UTC', hour12: false }],
        expected: '15:04:05',
      },
    ]);

    it('now returns the current epoch ms', () => {
      const before = Date.now();
      const now = call('date.now') as number;
      expect(now).to.be.within(before, Date.now());
    });

    it('setters leave a Date argument unchanged', () => {
      const input = sampleDate();
      call('date.setUTCFullYear', input, 1999);
      expect(input.getTime()).to.equal(SAMPLE_MS);
    });

    it('toISOString rejects an invalid date', () => {
      expect(() => call('date.toISOString', 'yesterday')).to.throw(RangeError, /"yesterday" is not a valid date/);
      expect(() => call('date.toISOXString', undefined)).to.throw(RangeError, /undefined is not a valid date/);
    });
  });

  describe('json', () => {
    runCases([
      { name: 'stringify an object', fn: 'json.stringify', args: [{ a: [1, 'x'] }], expected: '{"a":[1,"x"]}' },
      { name: 'stringify with key list', fn: 'json.stringify', args: [{ a: 1, b: 2 }, ['a']], expected: '{"a":1}' },
      { name: 'stringify with indent', fn: 'json.stringify', args: [{ a: 1 }, null, 2], expected: '{\n  "a": 1\n}' },
      { name: 'parse an array', fn: 'json.parse', args: ['["ke","bab","case"]'], expected: ['ke', 'bab', 'case'] },
      { name: 'parse a number', fn: 'json.parse', args: ['42'], expected: 42 },
    ]);

    it('parse rejects invalid JSON', () => {
      expect(() => call('json.parse', '{oops')).to.throw(SyntaxError);
    });
  });

  describe('logical', () => {
    runCases([
      { name: 'and returns the first falsy operand', fn: 'logical.and', args: [1, 0, 2], expected: 0 },
      { name: 'and returns the last operand when all truthy', fn: 'logical.and', args: [1, 'x'], expected: 'x' },
      { name: 'and without operands', fn: 'logical.and', args: [], expected: undefined },
      { name: 'or returns the first truthy operand', fn: 'logical.or', args: ['', 'x', 'y'], expected: 'x' },
      { name: 'or returns the last operand when all falsy', fn: 'logical.or', args: [0, null], expected: null },
    ]);
  });

  describe('math', () => {
    runCases([
      { name: 'add sums operands', fn: 'math.add', args: [1, 2, 3, 4, 5], expected: 15 },
      { name: 'add flattens arrays', fn: 'math.add', args: [[1, [2]], 3], expected: 6 },
      { name: 'add converts strings', fn: 'math.add', args: ['1', 2], expected: 3 },
      { name: 'add without operands', fn: 'math.add', args: [], expected: 0 },
      { name: 'subtract', fn: 'math.subtract', args: [[5, 4, 3, 2, 1]], expected: -5 },
      { name: 'subtract without operands', fn: 'math.subtract', args: [], expected: Number.NaN },
      { name: 'multiply', fn: 'math.multiply', args: [5, 4, 3, 2, 1], expected: 120 },
      { name: 'divide in turn', fn: 'math.divide', args: [[100, 4, 5]], expected: 5 },
      { name: 'divide by zero is NaN', fn: 'math.divide', args: [1, 0], expected: Number.NaN },
      { name: 'divide without operands', fn: 'math.divide', args: [], expected: Number.NaN },
      { name: 'abs', fn: 'math.abs', args: [-3], expected: 3 },
      { name: 'acos', fn: 'math.acos', args: [1], expected: 0 },
      { name: 'acosh', fn: 'math.acosh', args: [1], expected: 0 },
      { name: 'asin', fn: 'math.asin', args: [0], expected: 0 },
      { name: 'asinh', fn: 'math.asinh', args: [0], expected: 0 },
      { name: 'atan', fn: 'math.atan', args: [0], expected: 0 },
      { name: 'atan2', fn: 'math.atan2', args: [0, 1], expected: 0 },
      { name: 'atanh', fn: 'math.atanh', args: [0], expected: 0 },
      { name: 'cbrt', fn: 'math.cbrt', args: [27], expected: 3 },
      { name: 'ceil', fn: 'math.ceil', args: [1.2], expected: 2 },
      { name: 'clz32', fn: 'math.clz32', args: [1], expected: 31 },
      { name: 'cos', fn: 'math.cos', args: [0], expected: 1 },
      { name: 'cosh', fn: 'math.cosh', args: [0], expected: 1 },
      { name: 'exp', fn: 'math.exp', args: [0], expected: 1 },
      { name: 'expm1', fn: 'math.expm1', args: [0], expected: 0 },
      { name: 'floor', fn: 'math.floor', args: [1.8], expected: 1 },
      { name: 'fround', fn: 'math.fround', args: [5.5], expected: 5.5 },
      { name: 'hypot', fn: 'math.hypot', args: [[3, 4]], expected: 5 },
      { name: 'imul', fn: 'math.imul', args: [3, 4], expected: 12 },
      { name: 'log', fn: 'math.log', args: [1], expected: 0 },
      { name: 'log10', fn: 'math.log10', args: [1000], expected: 3 },
      { name: 'log1p', fn: 'math.log1p', args: [0], expected: 0 },
      { name: 'log2', fn: 'math.log2', args: [8], expected: 3 },
      { name: 'max of operands', fn: 'math.max', args: [1, 5, 3], expected: 5 },
      { name: 'max flattens arrays', fn: 'math.max', args: [[1, 7], 3], expected: 7 },
      { name: 'max without operands', fn: 'math.max', args: [], expected: Number.NEGATIVE_INFINITY },
      { name: 'min of operands', fn: 'math.min', args: [4, [2, 9]], expected: 2 },
      { name: 'pow', fn: 'math.pow', args: [2, 10], expected: 1024 },
      { name: 'round', fn: 'math.round', args: [2.5], expected: 3 },
      { name: 'sign', fn: 'math.sign', args: [-8], expected: -1 },
      { name: 'sin', fn: 'math.sin', args: [0], expected: 0 },
      { name: 'sinh', fn: 'math.sinh', args: [0], expected: 0 },
      { name: 'sqrt', fn: 'math.sqrt', args: [81], expected: 9 },
      { name: 'tan', fn: 'math.tan', args: [0], expected: 0 },
      { name: 'tanh', fn: 'math.tanh', args: [0], expected: 0 },
      { name: 'trunc of positive', fn: 'math.trunc', args: [4.7], expected: 4 },
      { name: 'trunc of negative', fn: 'math.trunc', args: [-4.7], expected: -4 },
    ]);

    it('random is in [0, 1)', () => {
      const value = call('math.random') as number;
      expect(value).to.be.at.least(0);
      expect(value).to.be.below(1);
    });

    it('max handles 200000 operands', () => {
      const operands = Array.from({ length: 200_000 }, (_, i) => i);
      expect(call('math.max', operands)).to.equal(199_999);
    });
  });

  describe('number', () => {
    runCases([
      { name: 'isFinite', fn: 'number.isFinite', args: [1], expected: true },
      { name: 'isFinite does not convert', fn: 'number.isFinite', args: ['1'], expected: false },
      { name: 'isEven of 42', fn: 'number.isEven', args: [42], expected: true },
      { name: 'isEven of 3', fn: 'number.isEven', args: [3], expected: false },
      { name: 'isEven of a string', fn: 'number.isEven', args: ['42'], expected: false },
      { name: 'isOdd of negative', fn: 'number.isOdd', args: [-3], expected: true },
      { name: 'isOdd of fraction', fn: 'number.isOdd', args: [1.5], expected: false },
      { name: 'isInteger', fn: 'number.isInteger', args: [5], expected: true },
      { name: 'isNaN', fn: 'number.isNaN', args: [Number.NaN], expected: true },
      { name: 'parseFloat', fn: 'number.parseFloat', args: ['3.5kg'], expected: 3.5 },
      { name: 'parseInt decimal', fn: 'number.parseInt', args: ['42px'], expected: 42 },
      { name: 'parseInt with radix', fn: 'number.parseInt', args: ['ff', 16], expected: 255 },
      { name: 'toFixed', fn: 'number.toFixed', args: [3.14159, 2], expected: '3.14' },
      { name: 'toFixed without digits', fn: 'number.toFixed', args: ['2.5'], expected: '3' },
      { name: 'toExponential', fn: 'number.toExponential', args: [12345, 2], expected: '1.23e+4' },
      { name: 'toPrecision', fn: 'number.toPrecision', args: [3.14159, 3], expected: '3.14' },
      { name: 'toPrecision without precision', fn: 'number.toPrecision', args: [1.5], expected: '1.5' },
      { name: 'gte', fn: 'number.gte', args: [2, 2], expected: true },
      { name: 'gte compares numeric strings as numbers', fn: 'number.gte', args: ['10', '9'], expected: true },
      { name: 'lte', fn: 'number.lte', args: [3, 2], expected: false },
      { name: 'gt', fn: 'number.gt', args: [3, 2], expected: true },
      { name: 'lt', fn: 'number.lt', args: [3, 2], expected: false },
      { name: 'max', fn: 'number.max', args: [1, 9, 4], expected: 9 },
      { name: 'min', fn: 'number.min', args: [[1, 9], 4], expected: 1 },
      { name: 'pow', fn: 'number.pow', args: [3, 2], expected: 9 },
      { name: 'round', fn: 'number.round', args: [1.4], expected: 1 },
    ]);

    it('toFixed rejects an out-of-range digit count', () => {
      expect(() => call('number.toFixed', 1, 101)).to.throw(RangeError);
    });
  });

  describe('object', () => {
    runCases([
      { name: 'keys', fn: 'object.keys', args: [{ a: 1, b: 2 }], expected: ['a', 'b'] },
      { name: 'values', fn: 'object.values', args: [{ a: 1, b: 2 }], expected: [1, 2] },
      { name: 'entries', fn: 'object.entries', args: [{ a: 1 }], expected: [['a', 1]] },
      { name: 'fromEntries', fn: 'object.fromEntries', args: [[['a', 1], ['b', 2]]], expected: { a: 1, b: 2 } },
      {
        name: 'assign merges sources',
        fn: 'object.assign',
        args: [{ a: 1 }, { b: 2 }, null, { a: 3 }],
        expected: { a: 3, b: 2 },
      },
      { name: 'getOwnPropertyNames', fn: 'object.getOwnPropertyNames', args: [['x']], expected: ['0', 'length'] },
      { name: 'getOwnPropertySymbols', fn: 'object.getOwnPropertySymbols', args: [{ a: 1 }], expected: [] },
      {
        name: 'getOwnPropertyDescriptor',
        fn: 'object.getOwnPropertyDescriptor',
        args: [{ a: 1 }, 'a'],
        expected: { value: 1, writable: true, enumerable: true, configurable: true },
      },
      {
        name: 'getOwnPropertyDescriptor of inherited is undefined',
        fn: 'object.getOwnPropertyDescriptor',
        args: [{}, 'toString'],
        expected: undefined,
      },
      {
        name: 'defineProperty adds a property',
        fn: 'object.defineProperty',
        args: [{ a: 1 }, 'b', { value: 2, enumerable: true }],
        expected: { a: 1, b: 2 },
      },
      {
        name: 'defineProperties adds properties',
        fn: 'object.defineProperties',
        args: [{}, { a: { value: 1, enumerable: true }, b: { value: 2, enumerable: true } }],
        expected: { a: 1, b: 2 },
      },
      { name: 'freeze returns a copy', fn: 'object.freeze', args: [{ a: 1 }], expected: { a: 1 } },
      { name: 'freeze of a primitive', fn: 'object.freeze', args: [5], expected: 5 },
      { name: 'isFrozen', fn: 'object.isFrozen', args: [{ a: 1 }], expected: false },
      { name: 'seal returns a copy', fn: 'object.seal', args: [[1]], expected: [1] },
      { name: 'isSealed', fn: 'object.isSealed', args: [{}], expected: false },
      {
        name: 'preventExtensions returns a copy',
        fn: 'object.preventExtensions',
        args: [{ a: 1 }],
        expected: { a: 1 },
      },
      { name: 'isExtensible', fn: 'object.isExtensible', args: [{}], expected: true },
      { name: 'hasOwnProperty of own key', fn: 'object.hasOwnProperty', args: [{ a: 1 }, 'a'], expected: true },
      { name: 'hasOwnProperty of inherited key', fn: 'object.hasOwnProperty', args: [{}, 'toString'], expected: false },
      { name: 'isPrototypeOf of plain values', fn: 'object.isPrototypeOf', args: [{}, {}], expected: false },
      { name: 'propertyIsEnumerable', fn: 'object.propertyIsEnumerable', args: [[1], 'length'], expected: false },
      { name: 'get an own property', fn: 'object.get', args: [{ a: { b: 1 } }, 'a'], expected: { b: 1 } },
      { name: 'get an array element', fn: 'object.get', args: [['x', 'y'], 1], expected: 'y' },
      { name: 'get from undefined', fn: 'object.get', args: [undefined, 'a'], expected: undefined },
      { name: 'set returns a changed copy', fn: 'object.set', args: [{ a: 1 }, 'b', 2], expected: { a: 1, b: 2 } },
      { name: 'create from pairs', fn: 'object.create', args: ['a', 1, 'b', 2], expected: { a: 1, b: 2 } },
      { name: 'create with trailing key', fn: 'object.create', args: ['a'], expected: { a: undefined } },
    ]);

    it('writers leave the input unchanged', () => {
      const input = { a: 1 };
      call('object.set', input, 'a', 2);
      call('object.assign', input, { b: 2 });
      call('object.defineProperty', input, 'c', { value: 3 });
      expect(input).to.deep.equal({ a: 1 });
    });

    it('freeze acts on a copy', () => {
      const input = { a: 1 };
      const frozen = call('object.freeze', input);
      expect(Object.isFrozen(frozen)).to.equal(true);
      expect(Object.isFrozen(input)).to.equal(false);
    });

    it('seal and preventExtensions act on a copy', () => {
      const input = { a: 1 };
      expect(Object.isSealed(call('object.seal', input))).to.equal(true);
      expect(Object.isExtensible(call('object.preventExtensions', input))).to.equal(false);
      expect(Object.isExtensible(input)).to.equal(true);
    });

    it('rejects a non-object target', () => {
      expect(() => call('object.keys', null)).to.throw(TypeError, /object\.keys: argument 1 must be an object/);
      expect(() => call('object.set', 'text', 'a', 1)).to.throw(TypeError, /argument 1 must be an object/);
    });

    it('fromEntries rejects an entry that is not a pair', () => {
      expect(() => call('object.fromEntries', ['a'])).to.throw(TypeError, /\[key, value\] array/);
    });
  });

  describe('string', () => {
    runCases([
      { name: 'split on a separator', fn: 'string.split', args: ['Luke Birdeau', ' '], expected: ['Luke', 'Birdeau'] },
      { name: 'split with limit', fn: 'string.split', args: ['a,b,c', ',', 2], expected: ['a', 'b'] },
      { name: 'charAt', fn: 'string.charAt', args: ['abc', 1], expected: 'b' },
      { name: 'concat', fn: 'string.concat', args: ['ord_1', '_', 'caller'], expected: 'ord_1_caller' },
      { name: 'concat converts numbers', fn: 'string.concat', args: [42, '_caller'], expected: '42_caller' },
      { name: 'includes', fn: 'string.includes', args: ['hello', 'ell'], expected: true },
      { name: 'indexOf', fn: 'string.indexOf', args: ['hello', 'l'], expected: 2 },
      { name: 'lastIndexOf', fn: 'string.lastIndexOf', args: ['hello', 'l'], expected: 3 },
      { name: 'slice', fn: 'string.slice', args: ['hello', 1, 3], expected: 'el' },
      { name: 'substring', fn: 'string.substring', args: ['hello', 3, 1], expected: 'el' },
      { name: 'toLowerCase', fn: 'string.toLowerCase', args: ['ABC'], expected: 'abc' },
      { name: 'toUpperCase', fn: 'string.toUpperCase', args: ['abc'], expected: 'ABC' },
      { name: 'trim', fn: 'string.trim', args: ['  a  '], expected: 'a' },
      { name: 'trimStart', fn: 'string.trimStart', args: ['  a  '], expected: 'a  ' },
      { name: 'trimEnd', fn: 'string.trimEnd', args: ['  a  '], expected: '  a' },
      { name: 'padStart', fn: 'string.padStart', args: ['Luke', 8, '-'], expected: '----Luke' },
      { name: 'padStart with spaces', fn: 'string.padStart', args: ['7', 3], expected: '  7' },
      { name: 'padEnd', fn: 'string.padEnd', args: ['Luke', 6, '.'], expected: 'Luke..' },
      { name: 'repeat', fn: 'string.repeat', args: ['ab', 3], expected: 'ababab' },
      { name: 'replace first occurrence', fn: 'string.replace', args: ['a-b-c', '-', '+'], expected: 'a+b-c' },
      { name: 'search uses a pattern', fn: 'string.search', args: ['abc1', '\\d'], expected: 3 },
      { name: 'startsWith', fn: 'string.startsWith', args: ['hello', 'he'], expected: true },
      { name: 'endsWith', fn: 'string.endsWith', args: ['hello', 'lo'], expected: true },
    ]);

    it('rejects undefined input', () => {
      const splitUndefined = (): unknown => call('string.split', undefined, ' ');
      expect(splitUndefined).to.throw(TypeError, /string\.split: argument 1 must be a string/);
    });
  });

  describe('symbol', () => {
    runCases([
      { name: 'null', fn: 'symbol.null', args: [], expected: null },
      { name: 'undefined', fn: 'symbol.undefined', args: [], expected: undefined },
      { name: 'whitespace', fn: 'symbol.whitespace', args: [], expected: ' ' },
      { name: 'object', fn: 'symbol.object', args: [], expected: {} },
      { name: 'array', fn: 'symbol.array', args: [], expected: [] },
      { name: 'posInfinity', fn: 'symbol.posInfinity', args: [], expected: Number.POSITIVE_INFINITY },
      { name: 'negInfinity', fn: 'symbol.negInfinity', args: [], expected: Number.NEGATIVE_INFINITY },
      { name: 'NaN', fn: 'symbol.NaN', args: [], expected: Number.NaN },
    ]);

    it('object and array are fresh on every call', () => {
      expect(call('symbol.object')).not.to.equal(call('symbol.object'));
      expect(call('symbol.array')).not.to.equal(call('symbol.array'));
    });

    it('date is the current time', () => {
      const before = Date.now();
      const date = call('symbol.date') as Date;
      expect(date).to.be.instanceOf(Date);
      expect(date.getTime()).to.be.within(before, Date.now());
    });
  });

  describe('unary', () => {
    runCases([
      { name: 'not', fn: 'unary.not', args: [0], expected: true },
      { name: 'positive converts', fn: 'unary.positive', args: ['5'], expected: 5 },
      { name: 'negative', fn: 'unary.negative', args: [5], expected: -5 },
      { name: 'bitwise_not', fn: 'unary.bitwise_not', args: [0], expected: -1 },
    ]);
  });

  describe('cron.nextDelay', () => {
    // Monday 2024-01-01 12:00:30 UTC.
    const NOW = Date.UTC(2024, 0, 1, 12, 0, 30);
    const secondsUntil = (...utc: [number, number, number?, number?, number?]): number =>
      (Date.UTC(...utc) - NOW) / 1000;

    runCases([
      { name: 'every minute', fn: 'cron.nextDelay', args: ['* * * * *', NOW], expected: 30 },
      { name: 'top of the hour', fn: 'cron.nextDelay', args: ['0 * * * *', NOW], expected: 3570 },
      { name: 'minute step', fn: 'cron.nextDelay', args: ['*/15 * * * *', NOW], expected: 870 },
      { name: 'minute list', fn: 'cron.nextDelay', args: ['5,10 * * * *', NOW], expected: 270 },
      { name: 'range with step', fn: 'cron.nextDelay', args: ['10-20/5 13 * * *', NOW], expected: 4170 },
      { name: 'value with step', fn: 'cron.nextDelay', args: ['7/30 * * * *', NOW], expected: 390 },
      { name: 'daily at midnight', fn: 'cron.nextDelay', args: ['0 0 * * *', NOW], expected: 43170 },
      {
        name: 'weekdays at 09:30',
        fn: 'cron.nextDelay',
        args: ['30 9 * * 1-5', NOW],
        expected: secondsUntil(2024, 0, 2, 9, 30),
      },
      {
        name: 'yearly on January 1',
        fn: 'cron.nextDelay',
        args: ['0 0 1 1 *', NOW],
        expected: secondsUntil(2025, 0, 1),
      },
      {
        name: 'day fields match either',
        fn: 'cron.nextDelay',
        args: ['0 0 13 * 5', NOW],
        expected: secondsUntil(2024, 0, 5),
      },
      { name: 'Sunday as 7', fn: 'cron.nextDelay', args: ['0 0 * * 7', NOW], expected: secondsUntil(2024, 0, 7) },
      {
        name: 'month and day names',
        fn: 'cron.nextDelay',
        args: ['0 12 * jan MON', NOW],
        expected: secondsUntil(2024, 0, 8, 12),
      },
      {
        name: 'leap day',
        fn: 'cron.nextDelay',
        args: ['0 0 29 2 *', Date.UTC(2024, 2, 1)],
        expected: (Date.UTC(2028, 1, 29) - Date.UTC(2024, 2, 1)) / 1000,
      },
      {
        name: 'tick at now is skipped',
        fn: 'cron.nextDelay',
        args: ['* * * * *', Date.UTC(2024, 0, 1, 12, 0)],
        expected: 60,
      },
      {
        name: 'fractional seconds round up',
        fn: 'cron.nextDelay',
        args: ['* * * * *', Date.UTC(2024, 0, 1, 12, 0, 0, 500)],
        expected: 60,
      },
      { name: 'extra whitespace', fn: 'cron.nextDelay', args: ['  *  *\t* * *  ', NOW], expected: 30 },
      { name: 'February 30 never fires', fn: 'cron.nextDelay', args: ['0 0 30 2 *', NOW], expected: -1 },
      { name: 'April 31 never fires', fn: 'cron.nextDelay', args: ['0 0 31 4 *', NOW], expected: -1 },
    ]);

    const invalidExpressions: unknown[] = [
      '',
      '* * * *',
      '* * * * * *',
      '60 * * * *',
      '* 24 * * *',
      '* * 0 * *',
      '* * * 13 *',
      '* * * * 8',
      '*/0 * * * *',
      '5-1 * * * *',
      '1,,2 * * * *',
      'a b c d e',
      '* * * foo *',
      '-1 * * * *',
      42,
      null,
    ];
    for (const expression of invalidExpressions) {
      it(`invalid ${JSON.stringify(expression)} gives -1`, () => {
        expect(call('cron.nextDelay', expression, NOW)).to.equal(-1);
      });
    }

    it('defaults now to the current time', () => {
      const delay = call('cron.nextDelay', '* * * * *') as number;
      expect(delay).to.be.within(1, 60);
    });

    it('rejects a non-numeric now', () => {
      const withTextNow = (): unknown => call('cron.nextDelay', '* * * * *', 'noon');
      expect(withTextNow).to.throw(TypeError, /argument 2 must be epoch milliseconds/);
    });
  });

  describe('pipe unit cases', () => {
    it('join names with a space', () => {
      expect(call('array.join', ['Luke', 'Birdeau'], ' ')).to.equal('Luke Birdeau');
    });

    it('split then get the first name', () => {
      const parts = call('string.split', 'Luke Birdeau', ' ');
      expect(call('array.get', parts, 0)).to.equal('Luke');
    });

    it('parse JSON then join kebab case', () => {
      const words = call('json.parse', '["ke","bab","case"]');
      expect(call('array.join', words, '-')).to.equal('ke-bab-case');
    });

    it('padStart with dashes', () => {
      expect(call('string.padStart', 'Luke', 8, '-')).to.equal('----Luke');
    });

    it('isEven of 42', () => {
      expect(call('number.isEven', 42)).to.equal(true);
    });

    it('trunc and max', () => {
      expect(call('math.trunc', 42.9)).to.equal(42);
      expect(call('math.max', 1, 42, 7)).to.equal(42);
    });
  });

  describe('prototype safety', () => {
    const UNSAFE_KEYS = ['__proto__', 'constructor', 'prototype'];
    const pollution = { polluted: true };

    afterEach(() => {
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(([] as unknown as Record<string, unknown>).polluted).to.equal(undefined);
    });

    for (const key of UNSAFE_KEYS) {
      describe(`key ${key}`, () => {
        const keyPattern = new RegExp(`"${key}" is not allowed`);
        const ownKeyObject = (): unknown => JSON.parse(`{"${key}": {"polluted": true}}`);

        it('set rejects it', () => {
          expect(() => call('object.set', {}, key, pollution)).to.throw(TypeError, keyPattern);
        });

        it('create rejects it', () => {
          expect(() => call('object.create', key, pollution)).to.throw(TypeError, keyPattern);
        });

        it('assign rejects it in a source', () => {
          expect(() => call('object.assign', {}, ownKeyObject())).to.throw(TypeError, keyPattern);
        });

        it('assign rejects it in the target', () => {
          expect(() => call('object.assign', ownKeyObject(), {})).to.throw(TypeError, keyPattern);
        });

        it('fromEntries rejects it', () => {
          expect(() => call('object.fromEntries', [[key, pollution]])).to.throw(TypeError, keyPattern);
        });

        it('defineProperty rejects it', () => {
          expect(() => call('object.defineProperty', {}, key, { value: pollution })).to.throw(TypeError, keyPattern);
        });

        it('defineProperties rejects it', () => {
          const descriptors = JSON.parse(`{"${key}": {"value": {"polluted": true}}}`);
          expect(() => call('object.defineProperties', {}, descriptors)).to.throw(TypeError, keyPattern);
        });

        it('get ignores it', () => {
          expect(call('object.get', {}, key)).to.equal(undefined);
          expect(call('object.get', [], key)).to.equal(undefined);
          expect(call('object.get', ownKeyObject(), key)).to.equal(undefined);
        });

        it('getOwnPropertyDescriptor ignores it', () => {
          expect(call('object.getOwnPropertyDescriptor', ownKeyObject(), key)).to.equal(undefined);
        });

        it('json.parse drops it at every depth', () => {
          const parsed = call('json.parse', `{"${key}": {"polluted": true}, "a": {"${key}": 1, "b": 2}}`);
          expect(parsed).to.deep.equal({ a: { b: 2 } });
          expect(Object.hasOwn(parsed as object, key)).to.equal(false);
          expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype);
        });
      });
    }

    it('defineProperty rejects accessor descriptors', () => {
      expect(() => call('object.defineProperty', {}, 'a', { get: 1 })).to.throw(TypeError, /accessor descriptors/);
    });

    it('get never returns an inherited method', () => {
      expect(call('object.get', {}, 'toString')).to.equal(undefined);
      expect(call('object.get', {}, 'hasOwnProperty')).to.equal(undefined);
      expect(call('object.get', 'text', 'toString')).to.equal(undefined);
    });

    it('get never returns an own function or accessor', () => {
      const target = {
        method: () => 1,
        get computed() {
          return 2;
        },
      };
      expect(call('object.get', target, 'method')).to.equal(undefined);
      expect(call('object.get', target, 'computed')).to.equal(undefined);
      expect(call('object.getOwnPropertyDescriptor', target, 'computed')).to.equal(undefined);
    });

    it('copies keep the plain object prototype', () => {
      const copy = call('object.set', { a: 1 }, 'b', 2);
      expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
    });

    it('catalog functions return no function for sample inputs', () => {
      for (const [name, fn] of pipeFunctions) {
        for (const args of [[], [{}], [[]], ['__proto__'], [{}, '__proto__'], [[], 'constructor']]) {
          let result: unknown;
          try {
            result = fn(...args);
          } catch {
            continue;
          }
          expect(typeof result, `${name}(${JSON.stringify(args)})`).not.to.equal('function');
          expect(result, `${name}(${JSON.stringify(args)})`).not.to.equal(Object.prototype);
          expect(result, `${name}(${JSON.stringify(args)})`).not.to.equal(Array.prototype);
        }
      }
    });
  });

  describe('catalog', () => {
    it('lists the thirteen domains', () => {
      expect([...pipeDomains].sort()).to.deep.equal([
        'array',
        'bitwise',
        'conditional',
        'cron',
        'date',
        'json',
        'logical',
        'math',
        'number',
        'object',
        'string',
        'symbol',
        'unary',
      ]);
    });

    it('lookup misses Object.prototype names', () => {
      for (const name of [
        'toString',
        '__proto__',
        'constructor',
        'constructor.constructor',
        'hasOwnProperty',
        'array.constructor',
        'object.__proto__',
        'string.prototype',
        'math.hasOwnProperty',
        'date',
        '',
      ]) {
        expect(lookupPipeFunction(name), name).to.equal(undefined);
      }
    });

    it('lookup ignores non-string names', () => {
      expect(lookupPipeFunction(undefined as unknown as string)).to.equal(undefined);
    });

    it('catalog is read-only', () => {
      const map = pipeFunctions as Map<string, unknown>;
      expect(() => map.set('evil.fn', () => 1)).to.throw(TypeError, /read-only/);
      expect(() => map.delete('math.add')).to.throw(TypeError, /read-only/);
      expect(() => map.clear()).to.throw(TypeError, /read-only/);
      expect(() => (pipeDomains as Set<string>).add('evil')).to.throw(TypeError, /read-only/);
      expect(lookupPipeFunction('math.add')).to.be.a('function');
    });

    it('catalog functions are frozen', () => {
      for (const fn of pipeFunctions.values()) expect(Object.isFrozen(fn)).to.equal(true);
    });

    it('sources never evaluate code', () => {
      for (const file of readdirSync(FUNCTIONS_DIR)) {
        const source = readFileSync(join(FUNCTIONS_DIR, file), 'utf8');
        expect(source, file).not.to.match(/\beval\s*\(/);
        expect(source, file).not.to.match(/\bFunction\s*\(/);
        expect(source, file).not.to.match(/\bimport\s*\(/);
        expect(source, file).not.to.match(/\brequire\s*\(/);
      }
    });

    // Must stay the last test in this file, so that every other test has recorded its calls.
    it('every function is called by a test', () => {
      const missing = [...pipeFunctions.keys()].filter((name) => !calledFunctions.has(name));
      expect(missing).to.deep.equal([]);
    });
  });
});
