/**
 * The slide readers' file (a plain descriptor in place of Node's FileHandle): positioned reads return the
 * file's bytes, close waits for reads in flight (a descriptor closed under one could be reused by the next
 * open and the read would return another file's bytes), and a closed file refuses reads and frees its
 * descriptor.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWithoutBlocking } from '../../../src-main/slides/open-file.js';

let dir: string;
let file: string;
let bytes: Buffer;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-open-file-'));
  file = path.join(dir, 'data.bin');
  bytes = crypto.randomBytes(4 << 20);
  fs.writeFileSync(file, bytes);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;

describe('openWithoutBlocking', () => {
  it('reads the bytes at any position and reports the size and kind', async () => {
    const f = await openWithoutBlocking(file);
    try {
      const st = await f.stat();
      expect(st.isFile()).toBe(true);
      expect(st.size).toBe(bytes.length);
      const buf = new Uint8Array(1000);
      const { bytesRead } = await f.read(buf, 10, 900, 123_457);
      expect(bytesRead).toBe(900);
      expect(Buffer.from(buf.subarray(10, 910)).equals(bytes.subarray(123_457, 124_357))).toBe(true);
      // Past the end: what is there, as FileHandle reports it (the readers then say the file is truncated).
      const tail = await f.read(new Uint8Array(100), 0, 100, bytes.length - 40);
      expect(tail.bytesRead).toBe(40);
    } finally {
      await f.close();
    }
  });

  it('closes only after the reads in flight have come back, each with its own bytes', async () => {
    const before = openDescriptors();
    const f = await openWithoutBlocking(file);
    expect(openDescriptors()).toBe(before + 1);
    // Reads of 1 MiB, so that when close is called some are still running on libuv's threads.
    const events: string[] = [];
    const reads = Array.from({ length: 16 }, async (_, i) => {
      const p = (i * 65_537) % bytes.length;
      const buf = new Uint8Array(1 << 20);
      const { bytesRead } = await f.read(buf, 0, buf.length, p);
      events.push('read');
      return (
        bytesRead === Math.min(buf.length, bytes.length - p) &&
        Buffer.from(buf.subarray(0, bytesRead)).equals(bytes.subarray(p, p + bytesRead))
      );
    });
    const closed = f.close().then(() => events.push('closed'));
    expect(f.close()).toBe(f.close()); // a second close is the same promise, not a second close(2)
    expect(await Promise.all(reads)).toEqual(reads.map(() => true));
    await closed;
    expect(events).toEqual([...reads.map(() => 'read'), 'closed']);
    expect(openDescriptors()).toBe(before);
    await expect(f.read(new Uint8Array(8), 0, 8, 0)).rejects.toThrow('the file was closed');
    await expect(f.stat()).rejects.toThrow('the file was closed');
  });

  it('refuses a read its buffer cannot hold, and still closes', async () => {
    const f = await openWithoutBlocking(file);
    await expect(f.read(new Uint8Array(8), 0, 100, 0)).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    const closed = await Promise.race([
      f.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
    ]);
    expect(closed).toBe('closed');
  });

  it('names the reason when the file cannot be opened', async () => {
    await expect(openWithoutBlocking(path.join(dir, 'missing.svs'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
