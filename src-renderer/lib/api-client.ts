/**
 * The typed face of a transport: `call` a contract command and get its typed result or an
 * ApiCallError carrying the server's code and sentence; `on` a contract event with its typed payload.
 */
import type {
  CommandInput,
  CommandName,
  CommandResult,
  EventName,
  EventPayloads,
} from '../../src-main/contract/contract.js';
import type { Transport } from './transport.js';

export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** Commands whose every input field is optional may be called without an input. */
type InputArgs<C extends CommandName> =
  Record<string, never> extends CommandInput<C> ? [input?: CommandInput<C>] : [input: CommandInput<C>];

export interface ApiClient {
  call<C extends CommandName>(command: C, ...args: InputArgs<C>): Promise<CommandResult<C>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
  onResync(listener: () => void): () => void;
}

export function createApiClient(transport: Transport): ApiClient {
  return {
    async call(command, ...[input]) {
      const result = await transport.call(command, input ?? {});
      if (!result.ok) throw new ApiCallError(result.error.code, result.error.message, command);
      // The main process validated the input and produced this value from the same contract.
      return result.value as CommandResult<typeof command>;
    },
    on(event, listener) {
      return transport.on(event, (payload) => listener(payload as EventPayloads[typeof event]));
    },
    onResync: (listener) => transport.onResync(listener),
  };
}
