#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UsageError } from '../src/errors.js';
import { packageVersion } from '../src/version.js';
import { classifyCommand } from './commands/classify.js';
import { compareCommand } from './commands/compare.js';
import { dataCommand } from './commands/data.js';
import { demoCommand } from './commands/demo.js';
import { nllCommand } from './commands/nll.js';
import { reportCommand } from './commands/report.js';
import { sampleCommand } from './commands/sample.js';
import { scheduleCommand } from './commands/schedule.js';
import { trainCommand } from './commands/train.js';
import { checkFlagUse, joinNegativeNumbers } from './validate.js';

/** Prints one line on stderr and exits: 2 for bad input, 1 for an internal error (stack with SDE_DEBUG=1). */
function die(error: unknown): never {
  const usage = error instanceof UsageError;
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  process.stderr.write(`sde: ${usage ? '' : 'internal error: '}${message}\n`);
  if (!usage && process.env.SDE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(usage ? 2 : 1);
}

async function main(): Promise<void> {
  const args = joinNegativeNumbers(hideBin(process.argv));
  const parser = yargs(args);
  await parser
    .scriptName('sde')
    .usage('$0 <command> [options]\n\nContinuous-time score-based diffusion models: SDEs, DDPM, score matching and samplers.')
    .command(scheduleCommand)
    .command(trainCommand)
    .command(sampleCommand)
    .command(compareCommand)
    .command(nllCommand)
    .command(reportCommand)
    .command(demoCommand)
    .command(classifyCommand)
    .command(dataCommand)
    // getOptions() (the switches of the command being run) exists at run time but not in @types/yargs.
    .middleware((argv) => checkFlagUse(argv, args, (parser as unknown as { getOptions(): { boolean: string[] } }).getOptions().boolean))
    .demandCommand(1, 'a command is required; see sde --help')
    .parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false, 'parse-numbers': false })
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .parseAsync();
}

main().catch(die);
