import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CenterConfigError, CenterSettings } from './center-config.loader.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-center-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const problemsOf = (file: string) => {
  try {
    CenterSettings.load(file);
  } catch (err) {
    expect(err).toBeInstanceOf(CenterConfigError);
    return (err as CenterConfigError).problems;
  }
  throw new Error('expected the file to be refused');
};

describe('the contact-center file', () => {
  it('loads the demo file into flows, hours, limits and rules', () => {
    const settings = CenterSettings.load(fileURLToPath(new URL('../../../infra/demo/contact-center.yaml', import.meta.url)));
    const flow = settings.flowFor('demo-support', null)!;
    expect(flow.start).toBe('topic');
    expect(flow.questions[0]).toMatchObject({ kind: 'menu', options: [{ key: '1' }, { key: '2' }] });
    expect(settings.flowFor('demo-support', 'nope')).toBeUndefined();
    expect(settings.hoursFor('demo-support')).toMatchObject({ timeZone: 'UTC', leaveMessage: true, holidays: [] });
    expect(settings.queueLimits('support')).toMatchObject({ maxWaiting: 100 });
    expect(settings.capabilityRules).toEqual([{ whenClientHas: 'file-transfer', requireAgentCapability: 'file-transfer' }]);
  });

  it('names the file, line and field of each problem', () => {
    const file = write(
      'broken.yaml',
      [
        'flows:',
        '  - id: f1',
        '    greeting: { en: Hi }',
        '    fallback: { queue: "no spaces allowed" }',
        '    start: missing',
        '    maxAttempts: 0',
        '    questions:',
        '      - id: q1',
        '        kind: menu',
        '        prompt: { en: Pick }',
        '        options:',
        '          - { key: "1", label: { en: One }, next: nowhere }',
        'hours:',
        '  - id: h',
        '    timeZone: Mars/Olympus',
        '    weekly: { mon: ["17:00-09:00"] }',
        'entryPoints:',
        '  - { id: ep, flow: f2 }',
        '',
      ].join('\n'),
    );
    const problems = problemsOf(file);
    const expectProblem = (line: number, field: string) =>
      expect(
        problems.some((p) => p.startsWith(`${file}:${line}:`) && p.includes(field)),
        `${field} at line ${line} in\n${problems.join('\n')}`,
      ).toBe(true);
    expectProblem(4, 'flows[0].fallback.queue');
    expectProblem(5, 'flows[0].start');
    expectProblem(6, 'flows[0].maxAttempts');
    expectProblem(12, 'flows[0].questions[0].options[0].next');
    expectProblem(15, 'hours[0].timeZone');
    expectProblem(16, 'hours[0].weekly');
    expectProblem(18, 'entryPoints[0].flow');
  });

  it('reports a missing field where its parent is, and unknown fields', () => {
    const file = write('missing.yaml', 'flows:\n  - id: f1\n    fallback: {}\n    start: q\n    questions: [{ id: q, kind: text, prompt: { en: Name? } }]\n    greting: { en: typo }\n');
    const problems = problemsOf(file);
    expect(problems.find((p) => p.includes('flows[0].greeting'))).toMatch(new RegExp(`^${file}:2:`));
    expect(problems.find((p) => p.includes('greting'))).toMatch(/should not exist/);
  });

  it('reports YAML syntax errors and unreadable files with their place', () => {
    expect(problemsOf(write('syntax.yaml', 'flows:\n  - id: [unclosed\n'))[0]).toMatch(new RegExp(`^${dir}/syntax.yaml:\\d+:\\d+: `));
    expect(problemsOf(join(dir, 'absent.yaml'))[0]).toContain('cannot be read');
  });

  it('says one thing about a value of the wrong type, naming the value (not also its range)', () => {
    const file = write('lots.yaml', 'queues:\n  - id: q\n    maxWaiting: lots\n');
    const problems = problemsOf(file).filter((p) => p.includes('queues[0].maxWaiting'));
    expect(problems).toEqual([`${file}:3:17: queues[0].maxWaiting: maxWaiting must be an integer number (got "lots")`]);
    expect(problemsOf(write('minus.yaml', 'queues:\n  - id: q\n    maxWaiting: -1\n'))).toEqual([expect.stringMatching(/queues\[0\]\.maxWaiting: maxWaiting must not be less than 0$/)]);
  });

  it('takes JSON too', () => {
    const file = write('c.json', JSON.stringify({ queues: [{ id: 'q', maxWaiting: 3 }] }));
    expect(CenterSettings.load(file).queueLimits('q')?.maxWaiting).toBe(3);
  });
});

describe('queue routing rules', () => {
  it("reads a queue's strategy and widening steps", () => {
    const file = write(
      'rules.yaml',
      [
        'queues:',
        '  - id: billing',
        '    strategy: best-skill',
        '    steps:',
        '      - { afterSeconds: 0, minProficiency: 4 }',
        '      - { afterSeconds: 30, minProficiency: 2 }',
        '      - { afterSeconds: 90, overflowTo: [general] }',
        '  - id: plain',
      ].join('\n'),
    );
    const settings = CenterSettings.load(file);
    expect(settings.routingOf('billing')).toEqual({
      strategy: 'best-skill',
      steps: [
        { afterSeconds: 0, minProficiency: 4 },
        { afterSeconds: 30, minProficiency: 2 },
        { afterSeconds: 90, overflowTo: ['general'] },
      ],
    });
    expect(settings.routingOf('plain')).toEqual({ strategy: 'longest-idle', steps: [{ afterSeconds: 0 }] });
    expect(settings.routingOf('unknown')).toBeUndefined();
  });

  it('refuses an unknown strategy and steps out of order, naming the line', () => {
    const file = write('bad-rules.yaml', 'queues:\n  - id: q\n    strategy: fastest\n    steps:\n      - { afterSeconds: 30 }\n      - { afterSeconds: 10, agentKind: robot }\n');
    const problems = problemsOf(file);
    expect(problems.find((p) => p.includes('queues[0].strategy'))).toMatch(new RegExp(`^${file}:3:.*strategy must be one of longest-idle, least-occupied, round-robin, best-skill`));
    expect(problems.find((p) => p.includes('queues[0].steps[1].afterSeconds'))).toMatch(new RegExp(`^${file}:6:.*increasing`));
    expect(problems.find((p) => p.includes('queues[0].steps[1].agentKind'))).toMatch(new RegExp(`^${file}:6:`));
  });
});
