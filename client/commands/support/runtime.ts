/**
 * What every command module plugs into: the injected terminal (`CliIo`), the per-invocation context a
 * command's handler receives, and `CliRuntime.action`, which turns a handler's return value or error into
 * the process exit code.
 */
import type { Client } from '@temporalio/client';
import type { TemporalTarget } from '../../../temporal/connection';
import type { Command } from 'commander';
import { ExitCode } from '../../exit-codes';
import { createOutput, type Output, type OutputTarget } from '../../output/output';
import { type ConnectionFlags, TemporalSession } from './connection';
import { toCliError } from './errors';

export interface CliIo extends OutputTarget {
  /**
   * Calls `handler` on Ctrl-C until the returned function is called. Commands that run until stopped
   * (watch) use it to stop cleanly; when nothing listens, Ctrl-C keeps its default effect.
   */
  onInterrupt?(handler: () => void): () => void;
}

export interface CommandContext {
  io: CliIo;
  out: Output;
  /** The Temporal client, connected on first call. */
  temporal(): Promise<Client>;
  /** The resolved Temporal settings (flags over TEMPORAL_* and the profile), without connecting. */
  target(): TemporalTarget;
  /** Where Temporal is, for messages. */
  where(): { address: string; namespace: string };
}

/** A command module: registers one command (its options, help and action) on the program. */
export interface CommandModule {
  register(program: Command, runtime: CliRuntime): void;
}

type Handler<Args extends unknown[]> = (ctx: CommandContext, ...args: Args) => Promise<number>;

export class CliRuntime {
  /** The exit code of the command that ran; `main` returns it. */
  exitCode: number = ExitCode.success;

  constructor(readonly io: CliIo) {}

  /**
   * Wraps a handler as a commander action. The handler receives the context, then the command's
   * positional arguments and its options (as commander passes them), and returns the exit code.
   */
  action<Args extends unknown[]>(handler: Handler<Args>): (...commanderArgs: unknown[]) => Promise<void> {
    return async (...commanderArgs: unknown[]) => {
      const command = commanderArgs[commanderArgs.length - 1] as Command;
      const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
      const out = createOutput(this.io, { json: flags.json === true });
      const session = new TemporalSession(flags);
      const ctx: CommandContext = {
        io: this.io,
        out,
        temporal: () => session.connect(),
        target: () => session.target(),
        where: () => session.where(),
      };
      try {
        this.exitCode = await handler(ctx, ...(commanderArgs.slice(0, -1) as Args));
      } catch (err) {
        const error = toCliError(err, session.where());
        out.error(error.exitCode, error.message);
        this.exitCode = error.exitCode;
      } finally {
        await session.close().catch(() => undefined);
      }
    };
  }
}
