/**
 * `npm run bench -- training-acceptance`: issue 12's acceptance run. A demo cohort made with a seed not
 * used while choosing the defaults (BENCH_SEED, default 2027), then `tessera train DIR --json` with its
 * default settings (end to end, from random init), timed from the command's start to its end, and the
 * frozen baseline with the same model, seed, split and epochs (`--mode frozen`) beside it. Writes the
 * "training-acceptance" section of test/bench/RESULTS.md (BENCH_NO_WRITE=1 only prints it).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src-main/cli/index.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const SEED = Number(process.env.BENCH_SEED ?? 2027);
const work = path.join(root, 'test', 'bench', 'work');
const dir = path.join(work, `acceptance-demo-${SEED}`);

interface TrainOut {
  runId: number;
  split: string;
  bestEpoch: number | null;
  metrics: Record<
    string,
    {
      auroc: number | null;
      aurocCi: [number | null, number | null];
      balancedAccuracy: number | null;
      slides: number;
    }
  >;
}

async function cli(args: string[]): Promise<{ code: number; out: string; seconds: number }> {
  let out = '';
  const start = performance.now();
  const code = await runCli(args, {
    out: (t) => (out += t),
    err: (t) => process.stderr.write(t),
  });
  return { code, out, seconds: (performance.now() - start) / 1000 };
}

function loadavg(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

fs.mkdirSync(work, { recursive: true });
fs.rmSync(dir, { recursive: true, force: true });
const loadBefore = loadavg();
const made = await cli(['demo', 'create', dir, '--seed', String(SEED)]);
if (made.code !== 0) throw new Error('demo create failed');

const results: { mode: string; out: TrainOut; seconds: number; load: string; log: string }[] = [];
for (const mode of ['end-to-end', 'frozen']) {
  const args = ['train', dir, '--json'];
  // The frozen baseline: the same split (the one the first run made), model, seed and epochs.
  if (mode === 'frozen') args.push('--mode', 'frozen', '--split', results[0]!.out.split);
  const res = await cli(args);
  if (res.code !== 0) throw new Error(`train (${mode}) failed`);
  const out = JSON.parse(res.out) as TrainOut;
  const log = fs.readFileSync(path.join(dir, 'models', 'runs', `run-${out.runId}`, 'job.log'), 'utf8');
  results.push({ mode, out, seconds: res.seconds, load: loadavg(), log });
}

const config = (
  JSON.parse((await cli(['runs', 'show', dir, String(results[0]!.out.runId), '--json'])).out) as {
    config: Record<string, unknown>;
  }
).config;
const flags = execFileSync(
  'sh',
  ['-c', "grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\\n' ' '"],
  {
    encoding: 'utf8',
  },
).trim();
const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3));
const rows = results.map((r) => {
  const m = r.out.metrics.atypia!;
  const wait = /engine waited for patches ([\d.]+)%/.exec(r.log)?.[1] ?? '–';
  return (
    `| ${r.mode} | ${fmt(m.auroc)} (${fmt(m.aurocCi[0])}–${fmt(m.aurocCi[1])}) | ${fmt(m.balancedAccuracy)} | ${m.slides} | ` +
    `${r.out.bestEpoch ?? '–'} | ${(r.seconds / 60).toFixed(1)} min | ${r.mode === 'end-to-end' ? `${wait}%` : 'n/a'} | ${r.load} |`
  );
});
const e2e = results[0]!;
const body = [
  '## training-acceptance',
  '',
  `Command: \`npm run bench -- training-acceptance\` (BENCH_SEED=${SEED}): \`tessera demo create DIR --seed ${SEED}\` ` +
    `(48 slides, 24 patients), then \`tessera train DIR --json\` with the default settings (end to end from random init; it makes ` +
    `and stores the split "${e2e.out.split}"), then \`tessera train DIR --json --mode frozen --split "${e2e.out.split}"\` (the ` +
    'two-stage baseline: the same random encoder, frozen; embeddings computed once; only the aggregator trains; same seed, ' +
    'epochs and patches per slide). Wall time is the whole `tessera train` command, job process start to test metrics.',
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Load average before: ${loadBefore}; after each run in the table (2 cores shared with other work).`,
  `Default config: ${JSON.stringify(config)}.`,
  '',
  '| mode | test AUROC (95% bootstrap CI) | balanced accuracy | test slides | kept epoch | wall time | engine waited for patches | load after |',
  '| --- | --: | --: | --: | --: | --: | --: | --- |',
  ...rows,
  '',
  `Goal: end to end test AUROC ≥ 0.90 in under 15 minutes: ${(e2e.out.metrics.atypia!.auroc ?? 0) >= 0.9 && e2e.seconds < 900 ? 'met' : 'not met'}.`,
  '',
  `Machine: ${os.availableParallelism()} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${flags}.`,
].join('\n');

if (process.env.BENCH_NO_WRITE) console.log(body);
else {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- training-acceptance:start -->';
  const end = '<!-- training-acceptance:end -->';
  const section = `${start}\n${body}\n${end}`;
  let text = fs.readFileSync(file, 'utf8');
  if (text.includes(start) && text.includes(end))
    text = text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, text);
  console.log(body);
  console.log('test/bench/RESULTS.md: training-acceptance section written');
}
process.exit(0);
