/**
 * The job runner on real job processes (forked from source) and a real project database: the queue, the
 * states, pause / resume / cancel, requests from another process, and what happens when a job process
 * crashes, runs out of memory or is killed with SIGKILL, or when its supervisor is killed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobRunner, reconcileOrphans, type JobEvent } from '../../../src-main/jobs/job-runner.js';
import { requestJob, selectJob, type JobRow } from '../../../src-main/project/jobs-repo.js';
import { createProject, openProject, type Project } from '../../../src-main/project/project.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';
import { expectedTotal, type CountingParams } from './counting-job.js';

const module = path.join(import.meta.dirname, 'counting-job.ts');

interface Harness {
  project: Project;
  runner: JobRunner;
  records: { jobId: number; record: { step: number; total: number; pid: number } }[];
  events: JobEvent[];
}

async function harness(options: { env?: NodeJS.ProcessEnv } = {}): Promise<Harness> {
  const project = await createProject(path.join(tempDir(), 'p'));
  const records: Harness['records'] = [];
  const events: JobEvent[] = [];
  const runner = new JobRunner({
    db: project.db,
    projectDir: project.dir,
    kinds: {
      counting: {
        module,
        onRecord: (_db, job, record) => records.push({ jobId: job.id, record: record as never }),
      },
    },
    pollMs: 100,
    cancelGraceSeconds: 5,
    env: options.env,
    onEvent: (e) => events.push(e),
  });
  return { project, runner, records, events };
}

function enqueue(h: Harness, params: CountingParams): JobRow {
  return h.runner.enqueue('counting', (id) => ({
    params,
    workDir: path.join('models', 'jobs', `job-${id}`),
  }));
}

async function until<T>(what: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function waitForState(h: Harness, id: number, states: string[]): Promise<JobRow> {
  return until(() => {
    const row = selectJob(h.project.db, id)!;
    return states.includes(row.state) && (row.state === 'running' || !h.runner.running) ? row : null;
  });
}

function logOf(h: Harness, job: JobRow): string {
  return fs.readFileSync(path.join(h.project.dir, job.workDir, 'job.log'), 'utf8');
}

describe('job runner', () => {
  it('runs queued jobs one at a time, in order, persisting their records and results', async () => {
    const h = await harness();
    const a = enqueue(h, { steps: 4, stepMs: 20, seed: 1 });
    const b = enqueue(h, { steps: 3, stepMs: 20, seed: 2 });
    expect(selectJob(h.project.db, a.id)!.state).toBe('queued');
    h.runner.start();
    await waitForState(h, b.id, ['completed']);
    const rowA = selectJob(h.project.db, a.id)!;
    expect(rowA.state).toBe('completed');
    // b started after a had ended: all of a's records come first.
    expect(h.records.map((r) => r.jobId)).toEqual([a.id, a.id, a.id, a.id, b.id, b.id, b.id]);
    expect(h.records.at(3)!.record.total).toBe(expectedTotal({ seed: 1, steps: 4 }));
    expect(new Set(h.records.map((r) => r.record.pid)).size).toBe(2);
    expect(h.records.every((r) => r.record.pid !== process.pid)).toBe(true);
    expect(logOf(h, rowA)).toMatch(/attempt 1 of job \d+ \(counting\) started[\s\S]*completed/);
    const changes = h.events.filter((e) => e.type === 'changed' && e.job.id === a.id).map((e) => e.job.state);
    expect(changes).toEqual(['queued', 'running', 'completed']);
    await h.runner.close();
    h.project.close();
  });

  it('a job process killed with SIGKILL fails its job with the cause and its log; resumed, it ends as an uninterrupted one', async () => {
    const h = await harness();
    const params = { steps: 12, stepMs: 60, seed: 7 };
    const job = enqueue(h, params);
    h.runner.start();
    await until(() => h.records.length >= 4);
    const pid = selectJob(h.project.db, job.id)!.processPid!;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const failed = await waitForState(h, job.id, ['failed']);
    expect(failed.error).toMatch(/killed \(SIGKILL/);
    expect(failed.error).toContain(path.join(h.project.dir, job.workDir, 'job.log'));
    expect(logOf(h, job)).toMatch(/attempt 1 starts at step 0/);
    const stepsBefore = h.records.length;

    h.runner.resume(job.id);
    const done = await waitForState(h, job.id, ['completed']);
    expect(done.attempts).toBe(2);
    const last = h.records.at(-1)!.record;
    expect(last.step).toBe(12);
    expect(last.total).toBe(expectedTotal(params));
    // The second attempt started from the checkpoint, not from zero, and the log has both attempts.
    expect(h.records.length - stepsBefore).toBeLessThan(12);
    expect(logOf(h, job)).toMatch(/attempt 2 starts at step [1-9]/);
    await h.runner.close();
    h.project.close();
  });

  it('a crash (abort) or an out-of-memory in the job process fails the job and the runner goes on', async () => {
    const h = await harness({ env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=48' } });
    const crash = enqueue(h, { steps: 5, stepMs: 10, seed: 1, failAt: { step: 2, how: 'abort' } });
    const oom = enqueue(h, { steps: 5, stepMs: 10, seed: 1, failAt: { step: 1, how: 'oom' } });
    const thrown = enqueue(h, { steps: 5, stepMs: 10, seed: 1, failAt: { step: 1, how: 'throw' } });
    const fine = enqueue(h, { steps: 2, stepMs: 10, seed: 3 });
    h.runner.start();
    await waitForState(h, fine.id, ['completed']);
    const c = selectJob(h.project.db, crash.id)!;
    expect(c.state).toBe('failed');
    expect(c.error).toMatch(/The job process (was killed \(SIGABRT|exited with code)/);
    const o = selectJob(h.project.db, oom.id)!;
    expect(o.state).toBe('failed');
    expect(logOf(h, o)).toMatch(/heap out of memory|Allocation failed/i);
    const t = selectJob(h.project.db, thrown.id)!;
    expect(t).toMatchObject({ state: 'failed', error: 'Step 1 of the counting job failed on purpose.' });
    await h.runner.close();
    h.project.close();
  });

  it('pauses at a checkpoint and resumes; cancels a running job; a queued job can be paused or cancelled', async () => {
    const h = await harness();
    const params = { steps: 30, stepMs: 40, seed: 5 };
    const job = enqueue(h, params);
    const waiting = enqueue(h, { steps: 2, stepMs: 10, seed: 1 });
    h.runner.pause(waiting.id);
    expect(selectJob(h.project.db, waiting.id)!.state).toBe('paused');
    h.runner.start();
    await until(() => h.records.length >= 3);
    h.runner.pause(job.id);
    const paused = await waitForState(h, job.id, ['paused']);
    expect(paused.processPid).toBeNull();
    const stepAtPause = h.records.at(-1)!.record.step;
    expect(stepAtPause).toBeLessThan(30);
    // Paused jobs do not run: nothing else is queued.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.runner.running).toBeNull();

    h.runner.resume(job.id);
    await until(() => h.records.at(-1)!.record.step > stepAtPause + 2);
    h.runner.cancel(job.id);
    const cancelled = await waitForState(h, job.id, ['cancelled']);
    expect(cancelled.finishedAt).not.toBeNull();
    expect(() => h.runner.resume(job.id)).toThrow(/cancelled; only a paused or failed job can be resumed/);
    h.runner.cancel(waiting.id);
    expect(selectJob(h.project.db, waiting.id)!.state).toBe('cancelled');
    await h.runner.close();
    h.project.close();
  });

  it('acts on a pause asked by another process through the database', async () => {
    const h = await harness();
    const job = enqueue(h, { steps: 40, stepMs: 40, seed: 9 });
    h.runner.start();
    await until(() => h.records.length >= 2);
    const other = await openProject(h.project.dir);
    expect(requestJob(other.db, job.id, 'pause')).toBe(true);
    other.close();
    await waitForState(h, job.id, ['paused']);
    await h.runner.close();
    h.project.close();
  });

  it('after its supervisor is killed with SIGKILL, the job checkpoints and stops; the next supervisor resumes it to the same end', async () => {
    const dir = path.join(tempDir(), 'p');
    const params = { steps: 15, stepMs: 60, seed: 11 };
    {
      const project = await createProject(dir);
      const r = new JobRunner({ db: project.db, projectDir: dir, kinds: { counting: { module } } });
      r.enqueue('counting', (id) => ({ params, workDir: `models/jobs/job-${id}` }));
      project.close();
    }
    const supervisor = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'supervisor-child.ts'), dir],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let seen = 0;
    supervisor.stdout.on('data', (d: Buffer) => (seen += d.toString().split('record ').length - 1));
    await until(() => seen >= 4);
    const project = await openProject(dir);
    const jobPid = selectJob(project.db, 1)!.processPid!;
    supervisor.kill('SIGKILL');
    await new Promise((r) => supervisor.on('close', r));
    // The orphaned job process notices, writes its checkpoint and exits by itself.
    await until(() => {
      try {
        process.kill(jobPid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(selectJob(project.db, 1)!.state).toBe('running');
    expect(reconcileOrphans(project.db)).toBe(1);
    expect(selectJob(project.db, 1)!.state).toBe('queued');

    const records: { step: number; total: number }[] = [];
    const runner = new JobRunner({
      db: project.db,
      projectDir: dir,
      kinds: { counting: { module, onRecord: (_db, _job, r) => records.push(r as never) } },
    });
    const done = await runner.runOne(1);
    expect(done.state).toBe('completed');
    expect(records[0]!.step).toBeGreaterThan(1);
    expect(records.at(-1)).toMatchObject({ step: 15, total: expectedTotal(params) });
    project.close();
  });
});
