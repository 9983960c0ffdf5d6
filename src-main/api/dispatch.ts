/**
 * The transport-independent core: validate a raw command call against the contract, run its handler,
 * and return a serialisable result. Both transports call only this.
 */
import { z } from 'zod';
import {
  commandInputs,
  isCommandName,
  type CommandName,
  type CommandResult,
  type ParsedCommandInput,
} from '../contract/contract.js';
import { ApiError, serializeError, type ApiResult } from '../contract/errors.js';
import { log } from '../log.js';

export type Handlers = {
  [C in CommandName]: (input: ParsedCommandInput<C>) => Promise<CommandResult<C>> | CommandResult<C>;
};

/** Turns zod issues into one readable sentence, e.g. `project.open: dir: the project folder path is empty`. */
export function describeInputError(command: string, error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return `${where}${issue.message}`;
  });
  return `Invalid input for ${command}: ${parts.join('; ')}`;
}

export function parseCommandInput<C extends CommandName>(command: C, raw: unknown): ParsedCommandInput<C> {
  const schema = commandInputs[command] as unknown as z.ZodType<ParsedCommandInput<C>>;
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) throw new ApiError('bad-input', describeInputError(command, parsed.error));
  return parsed.data;
}

export async function dispatch(
  handlers: Handlers,
  command: string,
  raw: unknown,
): Promise<ApiResult<unknown>> {
  try {
    if (!isCommandName(command)) throw new ApiError('unknown-command', `Unknown command "${command}".`);
    const input = parseCommandInput(command, raw);
    const handler = handlers[command] as (input: unknown) => Promise<unknown> | unknown;
    return { ok: true, value: await handler(input) };
  } catch (err) {
    const error = serializeError(err);
    if (error.code === 'internal') log.error(`command ${command} failed`, err);
    return { ok: false, error };
  }
}
