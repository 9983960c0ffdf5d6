/**
 * The browser-mode event stream: one WebSocket to `/events` carrying `{event, payload}` messages,
 * opened when the first listener subscribes and reopened with backoff whenever it drops (server
 * restart, laptop sleep). After a reopen, resync listeners run because events may have been missed.
 */

/** The part of the WebSocket API used here; the DOM WebSocket and the `ws` package both provide it. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

export interface EventSocketOptions {
  url: string;
  open?: (url: string) => SocketLike;
  /** First reconnect delay; doubles on each failure up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

type Listener = (payload: unknown) => void;

export class EventSocket {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly open: (url: string) => SocketLike;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private socket: SocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private delayMs: number;
  private everOpened = false;
  private opened = false;
  private stopped = false;

  constructor(private readonly options: EventSocketOptions) {
    this.open = options.open ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.minDelayMs = options.minDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.delayMs = this.minDelayMs;
  }

  on(event: string, listener: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    this.ensureConnected();
    return () => {
      set.delete(listener);
    };
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    this.ensureConnected();
    return () => {
      this.resyncListeners.delete(listener);
    };
  }

  /** True while the socket is connected (events sent now will arrive). */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Closes the socket for good (tests; a page never needs to). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close();
    this.socket = null;
    this.opened = false;
  }

  private ensureConnected(): void {
    if (this.socket || this.retryTimer || this.stopped) return;
    this.connect();
  }

  private connect(): void {
    this.retryTimer = null;
    let socket: SocketLike;
    try {
      socket = this.open(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.delayMs = this.minDelayMs;
      this.opened = true;
      if (this.everOpened) for (const listener of this.resyncListeners) listener();
      this.everOpened = true;
    };
    socket.onmessage = (ev) => this.deliver(ev.data);
    socket.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.opened = false;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
  }

  private deliver(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object' || !('event' in message) || typeof message.event !== 'string')
      return;
    const payload = 'payload' in message ? message.payload : undefined;
    for (const listener of this.listeners.get(message.event) ?? []) listener(payload);
  }
}
