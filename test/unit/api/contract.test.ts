import { describe, expect, it } from 'vitest';
import { commandInputs } from '../../../src-main/contract/contract.js';
import { dispatch, type Handlers } from '../../../src-main/api/dispatch.js';
import { createAppServices } from '../../../src-main/api/services.js';
import { tempDir } from '../../helpers/temp.js';

function handlers(): Handlers {
  return createAppServices(tempDir(), 'browser').handlers;
}

describe('API contract', () => {
  it('rejects bad inputs with a readable sentence naming the command and the field', async () => {
    const h = handlers();
    expect(await dispatch(h, 'project.open', { dir: '' })).toEqual({
      ok: false,
      error: {
        code: 'bad-input',
        message: 'Invalid input for project.open: dir: the project folder path is empty',
      },
    });
    const missing = await dispatch(h, 'project.create', {});
    expect(missing).toMatchObject({ ok: false, error: { code: 'bad-input' } });
    expect(!missing.ok && missing.error.message).toMatch(/^Invalid input for project.create: dir: /);
    const wrongType = await dispatch(h, 'slides.list', { limit: 'ten' });
    expect(!wrongType.ok && wrongType.error.message).toMatch(/limit: .*number/i);
    const extra = await dispatch(h, 'project.current', { sneaky: true });
    expect(!extra.ok && extra.error.message).toMatch(/sneaky/);
    const nul = await dispatch(h, 'project.open', { dir: '/tmp/a\0b' });
    expect(!nul.ok && nul.error.message).toMatch(/NUL/);
  });

  it('refuses unknown commands, including prototype names', async () => {
    const h = handlers();
    for (const name of ['nope', '__proto__', 'constructor', 'toString']) {
      expect(await dispatch(h, name, {})).toEqual({
        ok: false,
        error: { code: 'unknown-command', message: `Unknown command "${name}".` },
      });
    }
  });

  it('every command in the contract has a handler', () => {
    expect(Object.keys(handlers()).sort()).toEqual(Object.keys(commandInputs).sort());
  });

  it('runs a valid command and returns its typed result', async () => {
    const h = handlers();
    const dir = tempDir();
    const created = await dispatch(h, 'project.create', { dir, name: 'Lung' });
    expect(created).toMatchObject({ ok: true, value: { name: 'Lung', dir, slideCount: 0 } });
    expect(await dispatch(h, 'slides.list', {})).toEqual({ ok: true, value: { total: 0, slides: [] } });
  });

  it('commands that need a project say so when none is open', async () => {
    expect(await dispatch(handlers(), 'slides.list', {})).toEqual({
      ok: false,
      error: { code: 'no-project', message: 'No project is open. Create or open a project first.' },
    });
  });
});
