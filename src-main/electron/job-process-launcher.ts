/**
 * Job processes in the desktop app: Electron's utilityProcess (a Node child that Chromium's process model
 * knows about and that dies with the app), behind the same JobProcessHandle as child_process.fork. Its
 * stdout and stderr are appended to the job's log.
 */
import { utilityProcess } from 'electron';
import fs from 'node:fs';
import type { JobProcessHandle, JobProcessLauncher } from '../jobs/job-process-launcher.js';
import type { ToJob } from '../jobs/protocol.js';

export const utilityJobProcess: JobProcessLauncher = ({ entry, logFile, env }) => {
  const child = utilityProcess.fork(entry, [], {
    stdio: 'pipe',
    serviceName: 'Tessera job',
    env: env ?? process.env,
  });
  const logStream = fs.createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(logStream, { end: false });
  child.stderr?.pipe(logStream, { end: false });
  let exited = false;
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  child.on('exit', (code) => {
    exited = true;
    logStream.end();
    // utilityProcess reports no signal; a kill shows as a non-zero code.
    for (const l of exitListeners) l(code, null);
  });
  const handle: JobProcessHandle = {
    get pid() {
      return child.pid;
    },
    send(message: ToJob) {
      if (!exited) child.postMessage(message);
    },
    onMessage(listener) {
      child.on('message', (m: unknown) => listener(m));
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill(signal) {
      if (exited) return;
      if (signal === 'SIGKILL' && child.pid) process.kill(child.pid, 'SIGKILL');
      else child.kill();
    },
  };
  return handle;
};
