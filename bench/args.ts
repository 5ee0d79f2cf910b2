// Command-line parsing shared by the bench scripts: unknown options and --help print a usage line
// listing the script's options instead of a stack trace, and any later error (a missing file, a
// bad option value, a GPU error) ends the script with one line naming it (MULTIPLEX_DEBUG=1 adds
// the stack).
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseBenchArgs<O extends Options>(script: string, options: O) {
  const usage = `usage: npm run ${script} -- ${Object.entries(options)
    .map(([name, o]) => (o.type === 'boolean' ? `[--${name}]` : `[--${name} VALUE]`))
    .join(' ')}`;
  const fail = (e: unknown) => {
    // GPU errors (GPUValidationError, ...) are not Errors but carry a message.
    const message = e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e) ? String((e as { message: unknown }).message) : String(e);
    const name = e instanceof Error && e.name !== 'Error' ? `${e.name}: ` : '';
    const stack = e instanceof Error && process.env.MULTIPLEX_DEBUG ? `\n${e.stack}` : '';
    console.error(`${script}: ${name}${message.split('\n')[0]}${stack}`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ options, allowPositionals: false, strict: true });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}
