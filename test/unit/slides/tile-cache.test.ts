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

  it('hands out tile slots cut from shared slabs and reuses evicted slots after the current macrotask', async () => {
    const cache = new TileCache(200);
    const same = (x: Uint8Array, y: Uint8Array) => x.buffer === y.buffer && x.byteOffset === y.byteOffset;
    const a = cache.takeBuffer(100);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.byteLength).toBe(100);
    cache.set('a', a);
    const b = cache.takeBuffer(100);
    expect(same(a, b)).toBe(false);
    cache.set('b', b);
    cache.set('c', cache.takeBuffer(100)); // evicts a
    expect(cache.slabSizeBytes).toBeLessThanOrEqual(400); // capacity plus at most one more slab
    expect(same(cache.takeBuffer(100), a)).toBe(false); // still quarantined: a reader may hold it
    await new Promise((resolve) => setImmediate(resolve));
    const again = cache.takeBuffer(100);
    expect(same(again, a)).toBe(true);
    cache.giveBack(again);
    cache.giveBack(again); // a double release must not hand the slot out twice
    await new Promise((resolve) => setImmediate(resolve));
    const x = cache.takeBuffer(100);
    const y = cache.takeBuffer(100);
    expect(same(x, a)).toBe(true);
    expect(same(y, a)).toBe(false);
  });

  it('does not reuse a pinned slot (a worker is reading it) until it is unpinned', async () => {
    const cache = new TileCache(200);
    const same = (x: Uint8Array, y: Uint8Array) => x.buffer === y.buffer && x.byteOffset === y.byteOffset;
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const a = cache.takeBuffer(100);
    cache.set('a', a);
    cache.pin(cache.get('a')!);
    cache.set('b', cache.takeBuffer(100));
    cache.set('c', new Uint8Array(100)); // evicts a while pinned
    expect(cache.get('a')).toBeUndefined();
    await tick();
    expect(cache.isSlabSlot(a)).toBe(true);
    const other = cache.takeBuffer(100);
    expect(same(other, a)).toBe(false);
    cache.unpin(a);
    await tick();
    expect(same(cache.takeBuffer(100), a)).toBe(true);
  });

  it('recycles plain buffers for tiles too large for a slab', async () => {
    const big = 8 * 1024 * 1024; // over a quarter of a 16 MiB slab
    const cache = new TileCache(2 * big);
    const a = cache.takeBuffer(big);
    expect(a.buffer).toBeInstanceOf(ArrayBuffer);
    cache.set('a', a);
    cache.set('b', cache.takeBuffer(big));
    cache.set('c', cache.takeBuffer(big)); // evicts a
    expect(cache.takeBuffer(big).buffer).not.toBe(a.buffer);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.takeBuffer(big).buffer).toBe(a.buffer);
  });
});
