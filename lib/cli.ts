#!/usr/bin/env node
/**
 * The `senet` command. `info` reports the build; `train`, `eval` and `bench` arrive with the model.
 */
import { buildInfo } from './index';

const HELP = `Usage: senet <command> [options]

Commands:
  info        print senet's version and what its native addon was built with
  help        print this help

Options:
  --version   print the version
  --help      print this help
`;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

function main(argv: string[]): number {
  const [command] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'info') {
    if (argv.includes('--help')) {
      process.stdout.write('Usage: senet info [--json]\n\nPrints the version and the native build (oneDNN, CPU ISA, CUDA).\n');
      return 0;
    }
    const info = { version: version(), node: process.version, ...buildInfo() };
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(info)}\n`);
    else for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(18)} ${String(v)}\n`);
    return 0;
  }
  process.stderr.write(`senet: unknown command '${command}'\n\n${HELP}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
