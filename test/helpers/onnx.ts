import { spawnSync } from 'node:child_process';

/** ONNX's own checker (Debian python3-onnx) with full shape inference over the file: null when it passes, else its message. */
export function onnxCheck(file: string): string | null {
  const run = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)', file],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return run.status === 0 ? null : (run.stderr || run.stdout || `exit ${run.status}`).trim();
}
