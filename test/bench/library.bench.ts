/**
 * `npm run bench -- library`: the library at scale, against the goals of issue 11, through the real API
 * over HTTP (the browser-mode server in a child process, run from source, as `tessera serve` runs it).
 *
 *   - a project of 20,000 slides and 5 tasks (binary, two categorical, continuous, binary), about 80% of
 *     cells labelled, patients from the TCGA pattern (two slides each), QC flags on 5%: rows made directly
 *     through the repository layer (no slide files);
 *   - slides.list of one sorted, filtered page (100 rows) for several sorts and filters: p50 / p95 / max
 *     of 30 calls each (goal: under 50 ms);
 *   - a 20,000-row label CSV (patient, slide, 5 task columns; about half the cells differ from the
 *     project) previewed (labels.previewCsv, sent as text) and imported (labels.applyCsv by preview id)
 *     (goal: each under 2 s);
 *   - 2,000 single label writes (labels.set), one at a time: acknowledgement p50 / p99 / max (goal: p99
 *     under 5 ms; every write is a committed transaction with synchronous = FULL).
 *
 * The in-browser timings (first screen, scrolling) are the renderer's and go in the same section later.
 * Results go to the "library" section of test/bench/RESULTS.md (BENCH_SLIDES=N for a smaller trial run,
 * which prints without writing the file).
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyPatientPattern } from '../../src-main/project/patients.js';
import { setLabels } from '../../src-main/project/labels.js';
import { setQc } from '../../src-main/project/qc.js';
import { createFilterCohort } from '../../src-main/project/cohorts.js';
import { createTask } from '../../src-main/project/tasks.js';
import { seededRandom } from '../../src-main/project/split-plan.js';
import { exportLabelsCsv } from '../../src-main/project/label-csv-export.js';
import { httpApi, type HttpApi } from '../helpers/api-http.js';
import { fakeLibrary, tcgaNames } from '../helpers/library.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const SLIDES = Number(process.env.BENCH_SLIDES ?? 20_000);
const FULL_RUN = !process.env.BENCH_SLIDES;
const LIST_RUNS = 30;
const WRITES = 2000;

const work = path.join(root, 'test', 'bench', 'work', `library-${process.pid}`);
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });

function stats(ms: number[]): { p50: number; p95: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1]! };
}
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

// ---- The project: 20,000 slides, 5 tasks, through the repository layer.
const t0 = performance.now();
const dir = path.join(work, 'project');
const { project, ids } = await fakeLibrary(dir, tcgaNames(SLIDES, 2));
const { db } = project;
applyPatientPattern(db, { overwrite: false });
const random = seededRandom(11);
const tasks = {
  tumor: createTask(db, { name: 'tumor', kind: 'binary' }),
  subtype: createTask(db, {
    name: 'subtype',
    kind: 'categorical',
    values: ['LUAD', 'LUSC', 'SCLC', 'other'].map((name) => ({ name })),
  }),
  grade: createTask(db, {
    name: 'grade',
    kind: 'categorical',
    values: ['G1', 'G2', 'G3'].map((name) => ({ name })),
  }),
  purity: createTask(db, { name: 'purity', kind: 'continuous', min: 0, max: 1 }),
  msi: createTask(db, { name: 'msi', kind: 'binary', values: [{ name: 'MSS' }, { name: 'MSI-H' }] }),
};
const valuesOf: Record<string, (string | number)[]> = {
  tumor: ['no', 'yes'],
  subtype: ['LUAD', 'LUSC', 'SCLC', 'other'],
  grade: ['G1', 'G2', 'G3'],
  msi: ['MSS', 'MSI-H'],
};
for (const [name, task] of Object.entries(tasks)) {
  if (name === 'purity') {
    db.transaction(() => {
      for (const id of ids)
        if (random() < 0.8)
          setLabels(db, [id], {
            taskId: task.id,
            value: Math.round(random() * 1000) / 1000,
            source: 'manual',
            author: 'bench',
          });
    })();
    continue;
  }
  const groups = new Map<string | number, number[]>();
  for (const id of ids) {
    if (random() >= 0.8) continue;
    const v = valuesOf[name]![Math.floor(random() * valuesOf[name]!.length)]!;
    groups.set(v, [...(groups.get(v) ?? []), id]);
  }
  for (const [v, group] of groups)
    setLabels(db, group, { taskId: task.id, value: v, source: 'manual', author: 'bench' });
}
setQc(
  db,
  ids.filter(() => random() < 0.05),
  { flags: { exclude: true }, reason: 'bench' },
);
setQc(
  db,
  ids.filter(() => random() < 0.03),
  { flags: { blur: true, 'pen-marks': true } },
);
const cohort = createFilterCohort(db, 'LUAD and LUSC', {
  taskValues: [{ taskId: tasks.subtype.id, values: ['LUAD', 'LUSC'] }],
  qc: [{ flag: 'exclude', set: false }],
});
const labelCount = (db.prepare('SELECT count(*) AS n FROM labels').get() as { n: number }).n;

// The CSV: the project's own export with about half the cells changed, as a lab's re-annotation would.
const exported = exportLabelsCsv(db).csv.trimEnd().split('\n');
const csvLines = [exported[0]!];
for (const line of exported.slice(1)) {
  const cells = line.split(',');
  for (let c = 2; c < cells.length; c++) {
    if (random() >= 0.5) continue;
    const name = Object.keys(tasks)[c - 2]!;
    cells[c] =
      name === 'purity'
        ? String(Math.round(random() * 1000) / 1000)
        : String(valuesOf[name]![Math.floor(random() * valuesOf[name]!.length)]);
  }
  csvLines.push(cells.join(','));
}
const csvText = csvLines.join('\n') + '\n';
project.close();
const setupSeconds = (performance.now() - t0) / 1000;
const dbBytes = fs.statSync(path.join(dir, 'project.sqlite')).size;

// ---- The server, in its own process, as `tessera serve DIR` runs it.
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `const { runCli } = await import(${JSON.stringify(path.join(root, 'src-main', 'cli', 'index.ts'))});
     process.exitCode = await runCli(['serve', ${JSON.stringify(dir)}]);`,
  ],
  {
    cwd: root,
    env: { ...process.env, TESSERA_USER_DATA: path.join(work, 'user-data') },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
// A bench that fails half-way must not leave the server running.
process.on('exit', () => child.kill('SIGKILL'));
const launchUrl = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  child.on('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
});
const api: HttpApi = httpApi(launchUrl);

/** CPU milliseconds (user + system) the server process has used so far, from /proc (Linux). */
function serverCpuMs(): number {
  const fields = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function timed<T>(run: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await run();
  return [performance.now() - start, value];
}

// ---- slides.list: a sorted, filtered page.
const listCases: [string, Record<string, unknown>][] = [
  [
    'sort by subtype (desc), filter text "TCGA-A" + not excluded, rows 100-199',
    {
      offset: 100,
      limit: 100,
      sort: { column: `task:${tasks.subtype.id}`, direction: 'desc' },
      filter: { text: 'TCGA-A', qc: [{ flag: 'exclude', set: false }] },
    },
  ],
  [
    'sort by name, filter "no value for tumor", rows 1000-1099',
    { offset: 1000, limit: 100, filter: { missingTaskIds: [tasks.tumor.id] } },
  ],
  [
    'sort by patient, filter grade G2/G3 and purity 0.2-0.8, rows 2000-2099',
    {
      offset: 2000,
      limit: 100,
      sort: { column: 'patient' },
      filter: {
        taskValues: [
          { taskId: tasks.grade.id, values: ['G2', 'G3'] },
          { taskId: tasks.purity.id, min: 0.2, max: 0.8 },
        ],
      },
    },
  ],
  [
    'sort by purity (desc, numeric), no filter, rows 10000-10099',
    { offset: 10000, limit: 100, sort: { column: `task:${tasks.purity.id}`, direction: 'desc' } },
  ],
  [
    'sort by QC flags (desc), cohort "LUAD and LUSC" (saved filter), rows 500-599',
    { offset: 500, limit: 100, sort: { column: 'qc', direction: 'desc' }, filter: { cohortId: cohort.id } },
  ],
];
const listRows: string[] = [];
let listWorst = 0;
let toggle = 0;
for (const [what, input] of listCases) {
  for (let i = 0; i < 3; i++) await api.call('slides.list', input);
  // A fresh query each time: a label write first (untimed) changes the data, as labelling then
  // looking at the list does, so the sort and filter run again.
  const cold: number[] = [];
  let total = 0;
  let coldCpu = 0;
  for (let i = 0; i < LIST_RUNS; i++) {
    await api.call('labels.set', {
      slideId: ids[toggle % ids.length]!,
      taskId: tasks.msi.id,
      value: toggle++ % 2 ? 'MSS' : 'MSI-H',
    });
    const cpu0 = serverCpuMs();
    const [t, page] = await timed(() => api.call<{ total: number }>('slides.list', input));
    coldCpu += serverCpuMs() - cpu0;
    cold.push(t);
    total = page.total;
  }
  // Scrolling: the next pages of the same query, with nothing written in between.
  const warm: number[] = [];
  const warmCpu0 = serverCpuMs();
  for (let i = 1; i <= LIST_RUNS; i++) {
    const [t] = await timed(() =>
      api.call('slides.list', {
        ...input,
        offset: ((input.offset as number) + 100 * i) % Math.max(1, total - 100),
      }),
    );
    warm.push(t);
  }
  const warmCpu = serverCpuMs() - warmCpu0;
  const c = stats(cold);
  const w = stats(warm);
  listWorst = Math.max(listWorst, c.p95);
  listRows.push(
    `| ${what} | ${total} | ${f1(c.p50)} / ${f1(c.p95)} / ${f1(c.max)} | ${f1(coldCpu / LIST_RUNS)} | ${f1(w.p50)} / ${f1(w.p95)} / ${f1(w.max)} | ${f1(warmCpu / LIST_RUNS)} | ${(50 / c.p95).toFixed(1)}x | ${c.p95 < 50 ? 'met' : 'not met'} |`,
  );
}

// ---- CSV: preview, then import by preview id.
const [previewMs, preview] = await timed(() =>
  api.call<{
    previewId: string;
    summary: { rows: number; new: number; changed: number; unchanged: number; rejected: number };
  }>('labels.previewCsv', { source: { text: csvText, fileName: 'relabel.csv' } }),
);
const [applyMs, applied] = await timed(() =>
  api.call<{ summary: { changed: number } }>('labels.applyCsv', { previewId: preview.previewId }),
);
const [undoMs] = await timed(() => api.call('edit.undo'));

// ---- Label writes, one at a time, each beside the floor under it: one append + fdatasync of a file on the
// same disk (what a durable commit must wait for), taken in turns so both meet the same load.
const probe = fs.openSync(path.join(work, 'fsync-probe'), 'a');
const page = Buffer.alloc(4096, 1);
const syncMs: number[] = [];
const fsyncOnce = () => {
  const start = performance.now();
  fs.writeSync(probe, page);
  fs.fdatasyncSync(probe);
  syncMs.push(performance.now() - start);
};
const writeMs: number[] = [];
let writeCpu = 0;
for (let i = 0; i < 50; i++)
  await api.call('labels.set', { slideId: ids[i]!, taskId: tasks.tumor.id, value: i % 2 ? 'yes' : 'no' });
for (let i = 0; i < WRITES; i++) {
  fsyncOnce();
  const cpu0 = serverCpuMs();
  const [t] = await timed(() =>
    api.call('labels.set', {
      slideId: ids[(i * 7919) % ids.length]!,
      taskId: tasks.grade.id,
      value: ['G1', 'G2', 'G3'][i % 3],
    }),
  );
  writeCpu += serverCpuMs() - cpu0;
  writeMs.push(t);
}
const w = stats(writeMs);
const sync = stats(syncMs);
fs.closeSync(probe);

api.close();
child.kill('SIGTERM');
await new Promise((resolve) => child.on('exit', resolve));
fs.rmSync(work, { recursive: true, force: true });

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const avx = execFileSync('sh', ['-c', "grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\\n' ' '"], {
  encoding: 'utf8',
}).trim();
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const body = [
  '## library',
  '',
  `Command: \`npm run bench -- library\` (BENCH_SLIDES=N for a smaller trial that prints without writing this file).`,
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${avx || 'no AVX-512'}. Load average at the end: ${load} (the machine is shared; tails are noisy).`,
  `Project: ${SLIDES} slides (${SLIDES / 2} patients), 5 tasks (tumor binary, subtype 4 values, grade 3 values, purity continuous, msi binary), ${labelCount} labels, 8% of slides QC-flagged; database ${(dbBytes / 2 ** 20).toFixed(1)} MiB, built in ${setupSeconds.toFixed(1)} s through the repository layer.`,
  'Every time below is end to end over HTTP (browser-mode server in a child process, keep-alive, `Authorization: Bearer`), the reference being the goal of issue 11; "ratio" is goal / measured (above 1x: goal met).',
  '',
  `slides.list, one page of 100 rows, after 3 warm-up calls: ${LIST_RUNS} calls each right after a label write (the query runs afresh), then ${LIST_RUNS} next pages of the same query (scrolling; the ordered ids are kept until the data changes):`,
  '',
  '| page | matching slides | after a write: ms p50 / p95 / max | server CPU ms per call | scrolling: ms p50 / p95 / max | server CPU ms per call | goal 50 ms / p95 after a write | goal: under 50 ms |',
  '| --- | --: | --: | --: | --: | --: | --: | --- |',
  ...listRows,
  '',
  `Label CSV of ${SLIDES} rows (${(csvText.length / 2 ** 20).toFixed(1)} MiB, patient + slide + 5 task columns), sent as text:`,
  '',
  '| step | ms | goal 2000 ms / measured | outcome | goal: under 2 s |',
  '| --- | --: | --: | --- | --- |',
  `| labels.previewCsv (read, map, compare with ${labelCount} labels) | ${previewMs.toFixed(0)} | ${(2000 / previewMs).toFixed(1)}x | ${preview.summary.new} new, ${preview.summary.changed} changed, ${preview.summary.unchanged} unchanged, ${preview.summary.rejected} rejected | ${previewMs < 2000 ? 'met' : 'not met'} |`,
  `| labels.applyCsv by preview id (one transaction, history rows by trigger) | ${applyMs.toFixed(0)} | ${(2000 / applyMs).toFixed(1)}x | ${applied.summary.changed} changed | ${applyMs < 2000 ? 'met' : 'not met'} |`,
  `| edit.undo of that import (one transaction) | ${undoMs.toFixed(0)} | – | – | – |`,
  '',
  `${WRITES} labels.set calls, one at a time, each a committed transaction (WAL, synchronous = NORMAL: in the WAL before the answer, no fsync), taken in turns with a 4 KiB append + fdatasync on the same disk:`,
  '',
  '| what | ms p50 | ms p99 | ms max | goal 5 ms / p99 | goal: p99 under 5 ms |',
  '| --- | --: | --: | --: | --: | --- |',
  `| labels.set, acknowledged over HTTP | ${f2(w.p50)} | ${f2(w.p99)} | ${f2(w.max)} | ${(5 / w.p99).toFixed(2)}x | ${w.p99 < 5 ? 'met' : 'not met'} |`,
  `| floor: append + fdatasync of a file on this disk | ${f2(sync.p50)} | ${f2(sync.p99)} | ${f2(sync.max)} | ${(5 / sync.p99).toFixed(2)}x | – |`,
  `| labels.set p50 less the floor's p50 (Tessera's own cost) | ${f2(w.p50 - sync.p50)} | – | – | – | – |`,
  '',
  `Server CPU per labels.set (HTTP, JSON, validation, one transaction, the event): ${f2(writeCpu / WRITES)} ms.`,
].join('\n');
console.log(body);
console.log(`\nslides.list worst p95 ${f1(listWorst)} ms`);

function writeResults(section: string): void {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- library:start -->';
  const end = '<!-- library:end -->';
  const block = `${start}\n${section}\n${end}`;
  let text = fs.readFileSync(file, 'utf8');
  if (text.includes(start) && text.includes(end))
    text = text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}
if (FULL_RUN) writeResults(body);
else console.log('(a trial run: test/bench/RESULTS.md left as it was)');
