import { describe, expect, it } from 'vitest';
import { TileCache } from '../../../src-main/slides/tile-cache.js';

describe('TileCache', () => {
  it('evicts least recently used entries to stay within its byte budget', () => {
    const cache = new TileCache(300);
    cache.set('a', new Uint8Array(100));
    cache.set('b', new Uint8Array(100));
    cache.set('c', new Uint8Array(100));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', new Uint8Array(100));
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')].every(Boolean)).toBe(true);
    expect(cache.sizeBytes).toBe(300);
  });

  it('replaces an entry without double counting, refuses oversize values, and shrinks on demand', () => {
    const cache = new TileCache(1000);
    cache.set('a', new Uint8Array(400));
    cache.set('a', new Uint8Array(500));
    expect(cache.sizeBytes).toBe(500);
    cache.set('huge', new Uint8Array(2000));
    expect(cache.get('huge')).toBeUndefined();
    cache.set('b', new Uint8Array(300));
    cache.setCapacity(400);
    expect(cache.sizeBytes).toBe(300);
    expect(cache.get('a')).toBeUndefined();
  });

  it('drops one reader’s tiles by key prefix', () => {
    const cache = new TileCache(1000);
    cache.set('r1/0/0/0', new Uint8Array(10));
    cache.set('r1/0/1/0', new Uint8Array(10));
    cache.set('r2/0/0/0', new Uint8Array(10));
    cache.deletePrefix('r1/');
    expect(cache.count).toBe(1);
    expect(cache.sizeBytes).toBe(10);
  });

  it('recycles evicted tile buffers, but only after the current macrotask', async () => {
    const cache = new TileCache(200);
    const a = cache.takeBuffer(100);
    cache.set('a', a);
    cache.set('b', cache.takeBuffer(100));
    cache.set('c', cache.takeBuffer(100)); // evicts a
    expect(cache.takeBuffer(100).buffer).not.toBe(a.buffer); // still quarantined: a reader may hold it
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.takeBuffer(100).buffer).toBe(a.buffer);
    expect(cache.takeBuffer(100).buffer).not.toBe(a.buffer);
  });
});
