/**
 * The test harness itself: a test whose prerequisite (a tool, a Python module, the sample scanner slides) is
 * missing skips and is listed at the end of the run outside CI, and fails the run with CI=true. Checked on
 * a nested vitest run of a fixture test that needs a tool no machine has.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/temp.js';

function nestedRun(ci: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.CI;
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  if (ci) env.CI = 'true';
  const run = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      path.join(repoRoot, 'test', 'fixtures', 'prerequisites', 'vitest.config.ts'),
    ],
    { cwd: repoRoot, env, encoding: 'utf8', timeout: 120_000 },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('missing test prerequisites', () => {
  it('outside CI: the tests skip, the run passes, and the end of the run lists them with the reason', () => {
    const { status, output } = nestedRun(false);
    expect(status, output).toBe(0);
    const tail = output.slice(output.lastIndexOf('Missing test prerequisites'));
    expect(tail).toContain('Missing test prerequisites (with CI=true these fail the run):');
    expect(tail).toContain('  tessera-no-such-tool: install tessera-no-such-tool');
    expect(tail).toContain('Skipped tests (1):');
    expect(tail).toContain(
      '  test/fixtures/prerequisites/needs-missing-tool.fixture.ts > needs a missing tool > would use the tool',
    );
  });

  it('with CI=true: the run fails, naming the missing prerequisite', () => {
    const { status, output } = nestedRun(true);
    expect(status, output).not.toBe(0);
    expect(output).toContain(
      'Test prerequisite tessera-no-such-tool is missing (install tessera-no-such-tool). CI=true: a missing prerequisite fails the run instead of skipping its tests.',
    );
  });
});
