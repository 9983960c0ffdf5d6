/**
 * Starting a job process. The supervisor sees a job process only through JobProcessHandle, so the same
 * runner works with Node's child_process.fork (browser mode, the CLI, tests) and Electron's
 * utilityProcess (the desktop app; its launcher lives in src-main/electron/).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import type { FromJob, ToJob } from './protocol.js';

export interface JobProcessHandle {
  readonly pid: number | undefined;
  send(message: ToJob): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the process has ended (signal names like "SIGKILL"). */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface JobProcessSpawn {
  /** The job process's entry module (job-process.js; job-process.ts when running from source). */
  entry: string;
  /** The job's log: the process's stdout and stderr are appended to it, so a crash's last words are kept. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export type JobProcessLauncher = (spawn: JobProcessSpawn) => JobProcessHandle;

/** The job process's entry beside this module (the .ts file when running from source under tsx). */
export function jobProcessEntry(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './job-process.ts' : './job-process.js', import.meta.url).pathname;
}

/** child_process.fork with its output appended to the log file and an IPC channel (structured clone). */
export const forkJobProcess: JobProcessLauncher = ({ entry, logFile, env }) => {
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = fork(entry, [], {
      stdio: ['ignore', fd, fd, 'ipc'],
      serialization: 'advanced',
      execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
      env: env ?? process.env,
    });
    let exited = false;
    const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
    child.on('exit', (code, signal) => {
      exited = true;
      for (const l of exitListeners) l(code, signal);
    });
    // A send after the process died is answered by the exit handler, not by an exception here.
    child.on('error', () => {});
    return {
      get pid() {
        return child.pid;
      },
      send(message: ToJob) {
        if (!exited && child.connected) child.send(message, () => {});
      },
      onMessage(listener) {
        child.on('message', (m) => listener(m as FromJob));
      },
      onExit(listener) {
        exitListeners.push(listener);
      },
      kill(signal = 'SIGTERM') {
        if (!exited) child.kill(signal);
      },
    };
  } finally {
    fs.closeSync(fd);
  }
};
