import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest, digestManifest } from '../../../../src/engine/compiler/compile.ts';
import { ManifestError } from '../../../../src/engine/errors.ts';

// A valid two-activity app; cases below break one rule each.
function app(graphBody: string, header = "  id: demo\n  version: '1'"): string {
  return `app:\n${header}\n  graphs:\n    - subscribes: demo.start\n${graphBody}`;
}

const VALID_BODY = `      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: demo.work
          input:
            maps:
              x: '{t1.output.data.x}'
      transitions:
        t1:
          - to: w1
`;

function compileError(source: string): ManifestError {
  try {
    compileManifest(source);
  } catch (error) {
    expect(error).to.be.instanceOf(ManifestError);
    return error as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

describe('compileManifest', () => {
  it('compiles a valid app', () => {
    const compiled = compileManifest(app(VALID_BODY));
    expect(compiled.appId).to.equal('demo');
    expect(compiled.version).to.equal('1');
    expect(compiled.workerTopics).to.deep.equal(['demo.work']);
    expect(compiled.digest).to.match(/^sha256:[0-9a-f]{64}$/);
  });

  const cases: Array<{ name: string; source: string; rule: string; path: string; line?: number; message?: RegExp }> = [
    {
      name: 'unknown activity type',
      source: app(VALID_BODY.replace('type: worker', 'type: wroker')),
      rule: 'E_UNKNOWN_ACTIVITY_TYPE',
      path: 'app.graphs[0].activities.w1.type',
      line: 10,
      message: /unknown activity type "wroker"; did you mean worker\? Types: trigger, worker/,
    },
    {
      name: 'duplicate activity id across graphs',
      source: app(`${VALID_BODY}    - subscribes: other.start
      activities:
        w1:
          type: trigger
`),
      rule: 'E_DUPLICATE_ACTIVITY',
      path: 'app.graphs[1].activities.w1',
      line: 20,
      message: /already used at app\.graphs\[0\]\.activities\.w1/,
    },
    {
      name: 'transition to a missing activity',
      source: app(VALID_BODY.replace('- to: w1', '- to: w2')),
      rule: 'E_TRANSITION_TO',
      path: 'app.graphs[0].transitions.t1[0].to',
      line: 17,
      message: /transition to activity w2, which does not exist/,
    },
    {
      name: 'transition from a missing activity',
      source: app(VALID_BODY.replace('        t1:\n          - to', '        t9:\n          - to')),
      rule: 'E_TRANSITION_FROM',
      path: 'app.graphs[0].transitions.t9',
      message: /transition from activity t9, which does not exist/,
    },
    {
      name: 'graph without a trigger',
      source: app(VALID_BODY.replace('type: trigger', 'type: hook')),
      rule: 'E_TRIGGER_COUNT',
      path: 'app.graphs[0].activities',
      message: /exactly one activity of type trigger; found none/,
    },
    {
      name: 'graph with two triggers',
      source: app(VALID_BODY.replace('type: worker\n          topic: demo.work', 'type: trigger')),
      rule: 'E_TRIGGER_COUNT',
      path: 'app.graphs[0].activities',
      message: /found t1, w1/,
    },
    {
      name: 'reference to an unknown activity',
      source: app(VALID_BODY.replace('{t1.output.data.x}', '{t0.output.data.x}')),
      rule: 'E_UNKNOWN_ACTIVITY_REF',
      path: 'app.graphs[0].activities.w1.input.maps.x',
      line: 14,
      message: /names activity "t0", which does not exist/,
    },
    {
      name: 'unquoted version 1.10',
      source: app(VALID_BODY, '  id: demo\n  version: 1.10'),
      rule: 'E_VERSION_NOT_STRING',
      path: 'app.version',
      line: 3,
      message: /unquoted 1\.10 as a number \(1\.1\): quote it, version: '1\.10'/,
    },
    {
      name: 'numeric version 2',
      source: app(VALID_BODY, '  id: demo\n  version: 2'),
      rule: 'E_VERSION_NOT_STRING',
      path: 'app.version',
      message: /quote it, version: '2'/,
    },
    {
      name: 'missing app id',
      source: app(VALID_BODY, "  version: '1'"),
      rule: 'E_APP_ID',
      path: 'app.id',
    },
    {
      name: 'worker without a topic',
      source: app(VALID_BODY.replace('          topic: demo.work\n', '')),
      rule: 'E_TOPIC',
      path: 'app.graphs[0].activities.w1.topic',
    },
    {
      name: 'YAML syntax error',
      source: 'app:\n  id: demo\n  version: "1\n',
      rule: 'E_YAML',
      path: '',
      message: /invalid YAML/,
    },
    {
      name: 'duplicate YAML key',
      source: app(VALID_BODY.replace('        w1:\n', '        t1:\n          type: hook\n        w1:\n')),
      rule: 'E_YAML',
      path: '',
      message: /duplicate|duplicated/i,
    },
    {
      name: 'unknown function',
      source: app(VALID_BODY.replace("x: '{t1.output.data.x}'", "x:\n                '@pipe':\n                  - ['{t1.output.data.x}']\n                  - ['{@string.explode}']")),
      rule: 'E_UNKNOWN_FUNCTION',
      path: 'app.graphs[0].activities.w1.input.maps.x["@pipe"][1][0]',
      message: /domain "string" has no function "explode"/,
    },
    {
      name: 'unknown function domain',
      source: app(VALID_BODY.replace("'{t1.output.data.x}'", "'{@process.exit}'")),
      rule: 'E_UNKNOWN_FUNCTION',
      path: 'app.graphs[0].activities.w1.input.maps.x',
      message: /unknown function domain "process"/,
    },
    {
      name: 'prototype path in a reference',
      source: app(VALID_BODY.replace('{t1.output.data.x}', '{t1.output.__proto__.polluted}')),
      rule: 'E_FORBIDDEN_PATH',
      path: 'app.graphs[0].activities.w1.input.maps.x',
      message: /"__proto__"/,
    },
    {
      name: 'constructor path in a reference',
      source: app(VALID_BODY.replace('{t1.output.data.x}', '{$job.data.constructor.name}')),
      rule: 'E_FORBIDDEN_PATH',
      path: 'app.graphs[0].activities.w1.input.maps.x',
      message: /"constructor"/,
    },
    {
      name: 'prototype key in maps',
      source: app(VALID_BODY.replace("x: '{t1.output.data.x}'", "prototype: '{t1.output.data.x}'")),
      rule: 'E_FORBIDDEN_PATH',
      path: 'app.graphs[0].activities.w1.input.maps.prototype',
    },
    {
      name: 'function name built from data',
      source: app(VALID_BODY.replace("'{t1.output.data.x}'", "'{@{t1.output.data.fn}}'")),
      rule: 'E_FUNCTION_NAME',
      path: 'app.graphs[0].activities.w1.input.maps.x',
      message: /names cannot be built from data/,
    },
    {
      name: 'cycle whose ancestor is not an ancestor',
      source: app(`${VALID_BODY.replace('      transitions:', '        c1:\n          type: cycle\n          ancestor: w9\n      transitions:')}`),
      rule: 'E_CYCLE_ANCESTOR',
      path: 'app.graphs[0].activities.c1.ancestor',
    },
    {
      name: 'misspelled transitions key',
      source: app(VALID_BODY.replace('      transitions:', '      transition:')),
      rule: 'E_UNKNOWN_FIELD',
      path: 'app.graphs[0].transition',
      message: /unknown graph field transition; did you mean transitions\?/,
    },
    {
      name: 'misspelled input key',
      source: app(VALID_BODY.replace('          input:', '          inputs:')),
      rule: 'E_UNKNOWN_FIELD',
      path: 'app.graphs[0].activities.w1.inputs',
      message: /unknown activity field inputs; did you mean input\?/,
    },
    {
      name: 'invalid retry policy',
      source: app(VALID_BODY.replace('          topic: demo.work\n', '          topic: demo.work\n          retry:\n            maximumAttempts: 0\n')),
      rule: 'E_RETRY',
      path: 'app.graphs[0].activities.w1.retry.maximumAttempts',
    },
  ];

  for (const testCase of cases) {
    it(`rejects ${testCase.name}`, () => {
      const error = compileError(testCase.source);
      const issue = error.issues.find((found) => found.rule === testCase.rule);
      expect(issue, `rules found: ${error.issues.map((found) => found.rule).join(', ')}`).to.not.equal(undefined);
      expect(issue!.path).to.equal(testCase.path);
      expect(issue!.file).to.equal('<inline>');
      if (testCase.line !== undefined) expect(issue!.line).to.equal(testCase.line);
      if (testCase.message) expect(issue!.message).to.match(testCase.message);
    });
  }

  describe('with YAML 1.1 words and dates', () => {
    const source = app(VALID_BODY.replace("x: '{t1.output.data.x}'", 'country: NO\n              notify: on\n              mode: yes\n              cutoff: 2024-01-15'), "  id: demo\n  version: 2024-01-15");

    it('keeps NO, on and yes as strings', () => {
      const compiled = compileManifest(source);
      const maps = compiled.activities.get('w1')!.inputMaps!;
      expect(maps).to.deep.equal({ kind: 'literal', value: { country: 'NO', notify: 'on', mode: 'yes', cutoff: '2024-01-15' } });
    });

    it('keeps a date-like version as the string', () => {
      const compiled = compileManifest(source);
      expect(compiled.version).to.equal('2024-01-15');
      expect(JSON.stringify(compiled.manifest)).to.include('"2024-01-15"');
      expect(JSON.stringify(compiled.manifest)).to.not.include('T00:00:00');
    });

    it('compiles the quoted form to the same digest', () => {
      const quoted = source.replace('NO', "'NO'").replace('on\n', "'on'\n").replace('yes', "'yes'").replace('cutoff: 2024-01-15', "cutoff: '2024-01-15'").replace('version: 2024-01-15', "version: '2024-01-15'");
      expect(compileManifest(quoted).digest).to.equal(compileManifest(source).digest);
    });
  });

  describe('from files with $ref', () => {
    it('resolves includes relative to the file and reports their lines', () => {
      const dir = mkdtempSync(join(tmpdir(), 'hotmesh-ref-'));
      writeFileSync(join(dir, 'app.yaml'), "app:\n  id: demo\n  version: '1'\n  graphs:\n    - $ref: ./graph.yaml\n");
      writeFileSync(join(dir, 'graph.yaml'), VALID_BODY.replace(/^ {6}/gm, '').replace('subscribes', '').replace(/^/, 'subscribes: demo.start\n'));
      const compiled = compileManifest(join(dir, 'app.yaml'));
      expect(compiled.topics.has('demo.start')).to.equal(true);

      writeFileSync(join(dir, 'graph.yaml'), `subscribes: demo.start\n${VALID_BODY.replace(/^ {6}/gm, '').replace('type: worker', 'type: wroker')}`);
      const error = compileError(join(dir, 'app.yaml'));
      expect(error.issues[0].path).to.equal('app.graphs[0].activities.w1.type');
      expect(error.issues[0].file).to.match(/graph\.yaml$/);
      expect(error.issues[0].line).to.equal(6);
    });

    it('names a missing include', () => {
      const dir = mkdtempSync(join(tmpdir(), 'hotmesh-ref-'));
      writeFileSync(join(dir, 'app.yaml'), "app:\n  id: demo\n  version: '1'\n  graphs:\n    - $ref: ./missing.yaml\n");
      const error = compileError(join(dir, 'app.yaml'));
      expect(error.rule).to.equal('E_REF');
      expect(error.path).to.equal('app.graphs[0]');
      expect(error.line).to.equal(5);
    });
  });

  it('reports a bad activity type once, not again in its transitions', () => {
    const error = compileError(app(VALID_BODY.replace('type: worker', 'type: wroker')));
    expect(error.issues.map((found) => found.rule)).to.deep.equal(['E_UNKNOWN_ACTIVITY_TYPE']);
  });

  it('ignores unknown keys far from any known key', () => {
    expect(() => compileManifest(app(VALID_BODY.replace('          topic: demo.work\n', '          topic: demo.work\n          owner: team-a\n')))).to.not.throw();
  });

  it('gives equal content an equal digest whatever the key order', () => {
    expect(digestManifest({ a: 1, b: { c: 2, d: 3 } })).to.equal(digestManifest({ b: { d: 3, c: 2 }, a: 1 }));
  });
});
