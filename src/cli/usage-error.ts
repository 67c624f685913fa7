import { ValidationError } from '../core/errors';

/**
 * A command line the parser took but the command cannot run: an option missing that only the
 * command can tell is needed (a deployer key in neither --private-key nor ANCHORER_PRIVATE_KEY, a
 * server given by neither a command nor --url), options that contradict each other, or an option's
 * value the command checks itself (an address, a key, a duration). Like a parser refusal it exits
 * 2, saying `error: <message>` followed by the command's help (src/cli/main.ts), before anything
 * is done; a failure while the command runs (a request, the chain, a file) exits 1.
 * A ValidationError (VALIDATION_FAILED) for the code that calls these checks outside the CLI.
 * @example if (!o.url && !command.length) throw new UsageError('give the server: a command after -- (stdio), or --url', { field: 'command' })
 */
export class UsageError extends ValidationError {}
