import { expect } from 'chai';
import { evaluate } from '../../../../src/engine/mapper/evaluate.ts';
import { parseExpression, type ExpressionIssue } from '../../../../src/engine/mapper/expression.ts';

function run(value: unknown, roots: Record<string, unknown> = {}): unknown {
  const issues: ExpressionIssue[] = [];
  const expr = parseExpression(value, { activityIds: new Set(['a', 't1']), path: 'maps', issues });
  expect(issues, JSON.stringify(issues)).to.deep.equal([]);
  return evaluate(expr, (root) => roots[root]);
}

describe('mapping evaluation', () => {
  const job = { $job: { data: { names: ['Luke', 'Birdeau'], n: 4 } }, a: { output: { data: { full_name: 'Luke Birdeau' } } } };

  it('resolves references and literals in a tree', () => {
    expect(run({ first: '{a.output.data.full_name}', fixed: 7, nested: { n: '{$job.data.n}' } }, job))
      .to.deep.equal({ first: 'Luke Birdeau', fixed: 7, nested: { n: 4 } });
  });

  it('yields undefined for a path that leads nowhere', () => {
    expect(run('{a.output.data.missing.deeper}', job)).to.equal(undefined);
  });

  it('joins names through a pipe', () => {
    expect(run({ '@pipe': [['{$job.data.names}', ' '], ['{@array.join}']] }, job)).to.equal('Luke Birdeau');
  });

  it('splits then picks through a three-row pipe', () => {
    expect(run({ '@pipe': [['{a.output.data.full_name}', ' '], ['{@string.split}', 0], ['{@array.get}']] }, job)).to.equal('Luke');
  });

  it('parses JSON then joins', () => {
    expect(run({ '@pipe': [['["ke","bab","case"]'], ['{@json.parse}', '-'], ['{@array.join}']] })).to.equal('ke-bab-case');
  });

  it('pads a string', () => {
    expect(run({ '@pipe': [['Luke', 8, '-'], ['{@string.padStart}']] })).to.equal('----Luke');
  });

  it('feeds nested pipes into the next row', () => {
    const value = { '@pipe': [
      { '@pipe': [['{$job.data.n}', 2], ['{@math.multiply}']] },
      { '@pipe': [['{$job.data.n}', 1], ['{@math.add}']] },
      ['{@math.subtract}'],
    ] };
    expect(run(value, job)).to.equal(3);
  });

  it('reduces an array with an accumulator', () => {
    const value = { '@pipe': [
      ['{$job.data.items}', 0],
      { '@reduce': [['{$output}', '{$item.qty}'], ['{@math.add}']] },
    ] };
    expect(run(value, { $job: { data: { items: [{ qty: 2 }, { qty: 5 }, { qty: 1 }] } } })).to.equal(8);
  });

  it('calls a nullary function outside a pipe', () => {
    expect(run('{@symbol.whitespace}')).to.equal(' ');
  });

  it('never walks inherited properties', () => {
    expect(run('{$job.data.toString}', job)).to.equal(undefined);
    expect(run('{$job.data.names.length}', job)).to.equal(2);
  });

  it('keeps strings that only look like JSON as literals', () => {
    expect(run('{"a": 1}')).to.equal('{"a": 1}');
  });
});
