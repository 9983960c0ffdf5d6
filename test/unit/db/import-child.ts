// The child process of durability.test.ts: the real `tessera import` (runCli, the import command,
// importSlides, the project database), run from source so it is always the code under test.
import { runCli } from '../../../src-main/cli/index.js';

process.exitCode = await runCli(['import', ...process.argv.slice(2)]);
