#!/usr/bin/env node
/**
 * The `senet` command. `info` reports the build; `train`, `eval` and `bench` arrive with the model.
 */
import { backends, buildInfo } from './index';
import type { LibraryReport } from './backends';

const HELP = `Usage: senet <command> [options]

Commands:
  info        print senet's version, the backends found, and why one is missing
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
      process.stdout.write('Usage: senet info [--json]\n\nPrints the version, the CPU backend (oneDNN), and the CUDA backend:\nits devices and libraries, or exactly why it is unavailable.\n');
      return 0;
    }
    const report = { version: version(), node: process.version, napiVersion: buildInfo().napiVersion, backends: backends() };
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    const { cpu, cuda } = report.backends;
    const lines = [
      `senet ${report.version} (Node ${report.node}, N-API ${report.napiVersion})`,
      `cpu   available: oneDNN ${cpu.onednn}, ${cpu.isa}, ${cpu.runtime}`,
      cuda.available ? 'cuda  available' : `cuda  unavailable: ${cuda.reason}`,
    ];
    if (cuda.built) {
      const v = (n: number) => (n ? `${Math.floor(n / 1000)}.${(n % 1000) / 10}` : 'none');
      lines.push(`      driver supports CUDA ${v(cuda.driverVersion)}, runtime CUDA ${v(cuda.runtimeVersion)}`);
      for (const d of cuda.devices) {
        const mark = d.index === cuda.selectedDevice ? '*' : ' ';
        lines.push(`    ${mark} device ${d.index}: ${d.name}, compute ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB`);
      }
      const lib = (name: string, l: LibraryReport) => (l.loaded ? `      ${name} ${l.version} (${l.path})` : `      ${name}: ${l.reason}`);
      lines.push(lib('cuDNN', cuda.cudnn), lib('cuBLAS', cuda.cublas));
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  process.stderr.write(`senet: unknown command '${command}'\n\n${HELP}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
