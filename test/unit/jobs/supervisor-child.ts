// A supervisor in its own process, for the test that kills the supervisor (the "app") with SIGKILL: it
// opens the project, runs its queue with the counting job kind and prints each record it persists.
import path from 'node:path';
import { openProject } from '../../../src-main/project/project.js';
import { JobRunner } from '../../../src-main/jobs/job-runner.js';

const project = await openProject(process.argv[2]!);
const runner = new JobRunner({
  db: project.db,
  projectDir: project.dir,
  kinds: { counting: { module: path.join(import.meta.dirname, 'counting-job.ts') } },
  pollMs: 100,
  onEvent: (e) => {
    if (e.type === 'record') process.stdout.write(`record ${JSON.stringify(e.record)}\n`);
  },
});
runner.start();
