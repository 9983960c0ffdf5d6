/**
 * The `tessera` command line: the same services as the app, no UI. `runCli` returns the exit code
 * (0 ok, 1 failure, 2 usage) instead of exiting so tests can call it in-process.
 */
import { Command, CommanderError } from 'commander';
import { ApiError } from '../contract/errors.js';
import { appVersion } from '../version.js';
import { registerAll } from './commands/index.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
import { checkOutputFile, describeFsError } from './file-checks.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** stderr is a terminal (progress bars); false or absent: plain lines. */
  errIsTTY?: boolean;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTTY: process.stderr.isTTY === true,
};

export function buildProgram(io: CliIo): Command {
  const program = new Command('tessera')
    .description('Tessera: whole-slide images, labels, cohorts and slide-supervised training.')
    .version(appVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    // A subcommand's options are its own, even where its parent has one of the same name (`runs --json`
    // and `runs show --json`); the program's own options (-v, -h) go before the subcommand.
    .enablePositionalOptions();
  registerAll(program, io);
  for (const sub of program.commands) applyToTree(sub, io);
  // Every command that writes a file takes it as -o/--output: checked before the command does any work.
  program.hook('preAction', (_program, action) => {
    const output: unknown = action.opts().output;
    if (typeof output === 'string') checkOutputFile(output);
  });
  return program;
}

function applyToTree(cmd: Command, io: CliIo): void {
  cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  for (const sub of cmd.commands) applyToTree(sub, io);
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return EXIT_OK;
      }
      // Commander already printed the message.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.err(`tessera: ${err.message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    const message =
      describeFsError(err) ?? (err instanceof ApiError || err instanceof Error ? err.message : String(err));
    io.err(`tessera: ${message}\n`);
    if (process.env.TESSERA_LOG === 'debug' && err instanceof Error) io.err(`${err.stack}\n`);
    return EXIT_FAILURE;
  }
}
