import fs, { constants } from 'node:fs';

/**
 * A slide file opened for reading: positioned reads, fstat, close. This is the part of Node's FileHandle the readers
 * use, on a plain descriptor. Each FileHandle read goes through its own reference counting and promise bookkeeping;
 * a read here costs a few microseconds less CPU (test/bench/RESULTS.md). Also, once the last FileHandle was
 * collected, V8 threw away optimized code that had seen one, Node's own FileHandle read and fsCall among it
 * (`node --trace-deopt`: "weak objects"), and compiled it again over the next slide's requests.
 */
export interface SlideFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<fs.Stats>;
  /**
   * Runs `use` with the file's descriptor, which stays open until its promise settles (close waits for it,
   * as for a read); for native code that reads the file itself. Absent where there is no plain descriptor.
   */
  withDescriptor?<T>(use: (fd: number) => Promise<T>): Promise<T>;
  /** Waits for reads in flight, then closes; later calls return the same promise. */
  close(): Promise<void>;
}

/** Closes the descriptor of a SlideFile that was collected without being closed, as FileHandle does. */
const unclosed = new FinalizationRegistry<number>((fd) => fs.close(fd, () => {}));

class DescriptorFile implements SlideFile {
  private pending = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly fd: number) {
    unclosed.register(this, fd, this);
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (this.closing) return Promise.reject(closedError());
    this.pending++;
    return new Promise((resolve, reject) => {
      try {
        fs.read(this.fd, buffer, offset, length, position, (err, bytesRead) => {
          this.settle();
          if (err) reject(err);
          else resolve({ bytesRead });
        });
      } catch (err) {
        this.settle(); // bad arguments throw before any callback: not in flight, so close must not wait for it
        reject(err);
      }
    });
  }

  stat(): Promise<fs.Stats> {
    if (this.closing) return Promise.reject(closedError());
    this.pending++;
    return new Promise((resolve, reject) => {
      fs.fstat(this.fd, (err, st) => {
        this.settle();
        if (err) reject(err);
        else resolve(st);
      });
    });
  }

  withDescriptor<T>(use: (fd: number) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(closedError());
    this.pending++;
    let running: Promise<T>;
    try {
      running = use(this.fd);
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.finally(() => this.settle());
  }

  close(): Promise<void> {
    // A descriptor closed under a read in flight could be reused by the next open, and the read would
    // then return another file's bytes: close only once every read has come back.
    this.closing ??= new Promise<void>((resolve) => {
      if (this.pending === 0) resolve();
      else this.drained = resolve;
    }).then(
      () =>
        new Promise<void>((resolve, reject) => {
          unclosed.unregister(this);
          fs.close(this.fd, (err) => (err ? reject(err) : resolve()));
        }),
    );
    return this.closing;
  }

  private settle(): void {
    if (--this.pending === 0 && this.drained) {
      this.drained();
      this.drained = undefined;
    }
  }
}

function closedError(): Error {
  return Object.assign(new Error('the file was closed'), { code: 'EBADF' });
}

/**
 * Opens a file for reading without waiting on it: a FIFO named like a slide would block an ordinary open
 * until something writes to it (the caller then refuses what fstat says is not a regular file).
 * O_NONBLOCK changes nothing for regular files.
 */
export function openWithoutBlocking(path: string): Promise<SlideFile> {
  return new Promise((resolve, reject) => {
    fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0), (err, fd) =>
      err ? reject(err) : resolve(new DescriptorFile(fd)),
    );
  });
}
