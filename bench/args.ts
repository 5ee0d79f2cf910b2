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
    const err = e instanceof Error ? e : new Error(String(e));
    console.error(`${script}: ${process.env.MULTIPLEX_DEBUG ? (err.stack ?? err.message) : err.message.split('\n')[0]}`);
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
