/**
 * The job process: forked by a supervisor (child_process.fork, or Electron's utilityProcess), it runs one
 * job and exits. Whatever happens here (a native crash, running out of memory, a kill) ends this process
 * only; the supervisor marks the job failed and keeps its log.
 *
 * When the supervisor goes away (the app quit or was killed), the job is asked to pause: it writes its
 * checkpoint at the next safe point and exits, and the next supervisor resumes it from there.
 */
import { pathToFileURL } from 'node:url';
import {
  isFromJob,
  type FromJob,
  type JobContext,
  type JobStart,
  type RunJob,
  type ToJob,
} from './protocol.js';

interface ParentPort {
  post(message: FromJob): Promise<void>;
  onMessage(listener: (message: ToJob) => void): void;
  onGone(listener: () => void): void;
}

/** Electron's utilityProcess gives process.parentPort; Node's fork gives process.send. */
function parentPort(): ParentPort {
  const electronPort = (
    process as unknown as {
      parentPort?: {
        postMessage(m: unknown): void;
        on(e: 'message', l: (e: { data: unknown }) => void): void;
      };
    }
  ).parentPort;
  if (electronPort) {
    return {
      post: async (m) => electronPort.postMessage(m),
      onMessage: (l) => electronPort.on('message', (e) => l(e.data as ToJob)),
      // A utility process dies with its parent.
      onGone: () => {},
    };
  }
  if (!process.send) throw new Error('job-process must be started by a supervisor (no IPC channel).');
  return {
    post: (m) =>
      new Promise((resolve) => {
        if (!process.connected) return resolve();
        process.send!(m, undefined, {}, () => resolve());
      }),
    onMessage: (l) => process.on('message', (m) => l(m as ToJob)),
    onGone: (l) => process.on('disconnect', l),
  };
}

const port = parentPort();
const controller = new AbortController();
let pauseAsked = false;
let started = false;

function line(text: string): void {
  process.stderr.write(`[${new Date().toISOString()}] ${text}\n`);
}

port.onGone(() => {
  line('the supervisor went away: pausing at the next safe point');
  pauseAsked = true;
});

port.onMessage((message) => {
  if (message.type === 'start' && !started) {
    started = true;
    void run(message.job);
  } else if (message.type === 'pause') {
    pauseAsked = true;
  } else if (message.type === 'cancel') {
    controller.abort();
  }
});

async function run(job: JobStart): Promise<void> {
  let final: FromJob;
  try {
    const mod = (await import(pathToFileURL(job.module).href)) as { runJob?: RunJob };
    if (typeof mod.runJob !== 'function') throw new Error(`${job.module} does not export runJob.`);
    const context: JobContext = {
      jobId: job.jobId,
      params: job.params,
      projectDir: job.projectDir,
      workDir: job.workDir,
      attempt: job.attempt,
      signal: controller.signal,
      pauseRequested: () => pauseAsked,
      progress: (progress) => void port.post({ type: 'progress', progress }),
      record: (record) => void port.post({ type: 'record', record }),
      log: line,
    };
    const outcome = await mod.runJob(context);
    final = outcome === 'paused' ? { type: 'paused' } : { type: 'done', result: outcome.result };
  } catch (err) {
    if (controller.signal.aborted) final = { type: 'cancelled' };
    else {
      line(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      final = { type: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
  }
  if (!isFromJob(final)) final = { type: 'failed', message: 'The job ended without an outcome.' };
  line(`outcome: ${final.type}${final.type === 'failed' ? ` (${final.message})` : ''}`);
  await port.post(final);
  process.exit(0);
}
