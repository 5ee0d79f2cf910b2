// Command-line parsing shared by the bench scripts: unknown options and --help print a usage line
// listing the script's options instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseBenchArgs<O extends Options>(script: string, options: O) {
  const usage = `usage: npm run ${script} -- ${Object.entries(options)
    .map(([name, o]) => (o.type === 'boolean' ? `[--${name}]` : `[--${name} VALUE]`))
    .join(' ')}`;
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
