// The lab's command line: `npm run lab -- <command> ...`. Generated text goes to stdout; progress,
// figures and errors go to stderr, so the output can be piped.
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import { runGenerate, GENERATE_USAGE } from './generate.js';
import { runLabRun, RUN_USAGE } from './lab-run.js';
import { runSim, SIM_USAGE } from './sim.js';

const USAGE = `Usage: npm run lab -- <command> [options]

Commands:
${GENERATE_USAGE}
${RUN_USAGE}
${SIM_USAGE}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stderr.write(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'generate':
      return runGenerate(rest);
    case 'run':
      return runLabRun(rest);
    case 'sim':
      return runSim(rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as Error;
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`error: ${err.message}\n`);
    if (process.env.MULTIPLEX_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);

export { parseArgs };
