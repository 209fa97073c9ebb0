/**
 * The Temporal connection options every command shares (`--address`, `--namespace`, `--profile`), layered
 * over the standard TEMPORAL_* settings that `temporalTargetFromEnvironment` reads.
 */
import type { Client } from '@temporalio/client';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode } from '../../exit-codes';
import {
  connectClient,
  type TemporalTarget,
  temporalTargetFromEnvironment,
} from '../../../temporal/connection';
import { CliError } from './errors';

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  profile?: string;
}

/** The address used when neither a flag, the environment nor a profile names one (the SDK's own default). */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

function hostPort(value: string): string {
  if (!/^[^\s:/]+:\d{1,5}$/.test(value.trim())) {
    throw new InvalidArgumentError('Give the Temporal frontend as host:port, e.g. localhost:7233.');
  }
  return value.trim();
}

function nonEmpty(what: string) {
  return (value: string) => {
    if (value.trim() === '') throw new InvalidArgumentError(`The ${what} must not be empty.`);
    return value.trim();
  };
}

export function addConnectionOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '--address <host:port>',
        'Temporal frontend (default: $TEMPORAL_ADDRESS, the profile, or localhost:7233)',
      ).argParser(hostPort),
    )
    .addOption(
      new Option(
        '--namespace <name>',
        'Temporal namespace (default: $TEMPORAL_NAMESPACE, the profile, or default)',
      ).argParser(nonEmpty('namespace')),
    )
    .addOption(
      new Option(
        '--profile <name>',
        'profile of the Temporal config file (default: $TEMPORAL_PROFILE or default)',
      ).argParser(nonEmpty('profile')),
    );
}

export function resolveTemporalTarget(flags: ConnectionFlags): TemporalTarget {
  let base: TemporalTarget;
  try {
    base = temporalTargetFromEnvironment(flags.profile);
  } catch (err) {
    throw new CliError(
      ExitCode.usage,
      `The Temporal settings cannot be read (${(err as Error).message}): fix the config file, or name an existing profile with --profile.`,
    );
  }
  return {
    connectionOptions: {
      ...base.connectionOptions,
      address: flags.address ?? base.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
    },
    namespace: flags.namespace ?? base.namespace,
  };
}

/** Connects on first use only, so a command that fails validation never reaches Temporal. */
export class TemporalSession {
  private client: Client | undefined;
  private resolved: TemporalTarget | undefined;

  constructor(private readonly flags: ConnectionFlags) {}

  /** Address and namespace for messages; resolving never connects. */
  where(): { address: string; namespace: string } {
    try {
      const target = this.resolve();
      return {
        address: target.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
        namespace: target.namespace,
      };
    } catch {
      return {
        address: this.flags.address ?? DEFAULT_TEMPORAL_ADDRESS,
        namespace: this.flags.namespace ?? 'default',
      };
    }
  }

  async connect(): Promise<Client> {
    if (this.client) return this.client;
    const target = this.resolve();
    try {
      this.client = await connectClient(target);
    } catch (err) {
      const { address, namespace } = this.where();
      throw new CliError(
        ExitCode.error,
        `Cannot reach Temporal at ${address} (namespace ${namespace}): ${(err as Error).message}. Start a local one with \`kmsflow dev\`, or point --address / TEMPORAL_ADDRESS at yours.`,
      );
    }
    return this.client;
  }

  /** The resolved settings, without connecting. */
  target(): TemporalTarget {
    return this.resolve();
  }

  async close(): Promise<void> {
    await this.client?.connection.close();
    this.client = undefined;
  }

  private resolve(): TemporalTarget {
    this.resolved ??= resolveTemporalTarget(this.flags);
    return this.resolved;
  }
}
