import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LevelMethods = { [L in (typeof LEVELS)[number]]: (...args: unknown[]) => void };

// The level methods are defined on the prototype in the class's static block.
export interface LazyChildLogger extends LevelMethods {}

/**
 * Fastify gives every request a child logger carrying its request key, and pino builds that child
 * (copying bindings, serialisers and the level) on every request — 2.3 % of a small GET, though
 * with per-request logging off (lifecycle.ts) almost no request ever logs. This child is made on
 * first use; until then it holds only the parent and the bindings.
 */
export class LazyChildLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly childBindings: Bindings,
    private readonly options: object,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.childBindings, this.options));
  }

  get level(): string {
    return this.#child ? this.#child.level : this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  static {
    // fatal … silent: each makes the child, then logs through it.
    for (const level of LEVELS) {
      Object.defineProperty(LazyChildLogger.prototype, level, {
        value(this: LazyChildLogger, ...args: unknown[]) {
          (this.real[level] as (...a: unknown[]) => void)(...args);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    return ((this.#child ?? this.parent) as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return { ...(this.parent as unknown as { bindings(): Bindings }).bindings(), ...this.childBindings };
  }
}

/** Fastify's `childLoggerFactory` option. */
export function lazyChildLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: object): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
