import type { FastifyBaseLogger } from 'fastify';
import type { FastifyChildLoggerFactory } from 'fastify/types/logger';
import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString } from 'pino';

type PinoLike = FastifyBaseLogger & {
  isLevelEnabled(level: LevelWithSilentOrString): boolean;
  setBindings?(bindings: Bindings): void;
  bindings?(): Bindings;
};

/**
 * A request's logger that makes its pino child only when a line is written at an enabled level
 * (or the child is asked for): fastify makes one per request, and most requests write nothing
 * below `info`. Bindings set before then (setBindings: the tenant and key, build-app.ts) go into
 * that child as they would have gone into an eager one, so every line is the same.
 */
class LazyRequestLogger {
  private made?: PinoLike;

  constructor(
    private readonly parent: PinoLike,
    private bound: Bindings,
  ) {}

  private logger(): PinoLike {
    return (this.made ??= this.parent.child(this.bound) as PinoLike);
  }

  get level(): string {
    return (this.made ?? this.parent).level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  private write(level: Level, args: unknown[]): void {
    if (this.made || this.parent.isLevelEnabled(level)) (this.logger()[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  setBindings(bindings: Bindings): void {
    if (this.made) this.made.setBindings?.(bindings);
    else this.bound = { ...this.bound, ...bindings };
  }

  bindings(): Bindings {
    return this.logger().bindings?.() ?? {};
  }
}

/**
 * fastify's `childLoggerFactory`: requests get a LazyRequestLogger; a route with a log level or
 * serializers of its own gets pino's child at once, as by default.
 * @example Fastify({ loggerInstance, childLoggerFactory: lazyRequestLogger })
 */
export const lazyRequestLogger: FastifyChildLoggerFactory = function (logger, bindings, options) {
  if (options.level !== undefined || options.serializers !== undefined || typeof (logger as Partial<PinoLike>).isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new LazyRequestLogger(logger as PinoLike, bindings) as unknown as FastifyBaseLogger;
};
