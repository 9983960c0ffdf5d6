/**
 * Lists, at the end of a vitest run, the tests that were skipped and the missing prerequisites that
 * made them skip (prerequisites.ts records those), so a run that passed with tests left out says so.
 * In CI a missing prerequisite fails the run before this (prerequisites.ts throws).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';
import { MISSING_LOG_ENV } from './prerequisites.js';

export default class SkipReporter implements Reporter {
  private readonly log = path.join(os.tmpdir(), `tessera-test-missing-${process.pid}.jsonl`);
  private vitest: Vitest | null = null;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
    fs.rmSync(this.log, { force: true });
    // Set before the test workers start, so they inherit it.
    process.env[MISSING_LOG_ENV] = this.log;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const missing = new Map<string, string>();
    if (fs.existsSync(this.log)) {
      for (const line of fs.readFileSync(this.log, 'utf8').split('\n').filter(Boolean)) {
        const { name, howToGet } = JSON.parse(line) as { name: string; howToGet: string };
        missing.set(name, howToGet);
      }
      fs.rmSync(this.log, { force: true });
    }
    // A name filter (-t) skips everything else on purpose; listing that would be noise.
    const filtered = Boolean(this.vitest?.config.testNamePattern);
    const skipped: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        if (test.result().state === 'skipped' && test.options.mode !== 'todo' && !filtered) {
          skipped.push(`${path.relative(process.cwd(), module.moduleId)} > ${test.fullName}`);
        }
      }
    }
    if (!skipped.length && !missing.size) return;
    const lines = [''];
    if (missing.size) {
      lines.push('Missing test prerequisites (with CI=true these fail the run):');
      for (const [name, howToGet] of missing) lines.push(`  ${name}: ${howToGet}`);
    }
    if (skipped.length) {
      lines.push(`Skipped tests (${skipped.length}):`);
      for (const name of skipped) lines.push(`  ${name}`);
    }
    const log = this.vitest?.logger;
    if (log) log.log(lines.join('\n'));
    else process.stdout.write(lines.join('\n') + '\n');
  }
}
