import type { Command } from 'commander';
import { startCodecServer } from '../codec-server';
import { ExitCode } from '../exit-codes';
import { payloadCodecFromEnvironment } from '../../temporal/payload-codec';
import { usageError } from './support/errors';
import { addExamples, nonEmptyText, wholeNumber } from './support/options';
import type { CommandModule } from './support/runtime';

type CodecServerOptions = { port: number; uiOrigin?: string[] };

/** The Web UI of `temporal server start-dev` and `kmsflow dev` on its default port. */
const LOCAL_DEV_UI_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];

export const codecServerCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('codec-server')
      .description(
        'Serve the payload codec (KMSFLOW_CODEC_KEY or KMSFLOW_CODEC_KEY_FILE) on 127.0.0.1, so the Temporal Web UI can show\n' +
          'encrypted progress, inputs and results: give it to the UI as --ui-codec-endpoint (dev server) or its codec endpoint setting.',
      )
      .option('--port <port>', 'port on 127.0.0.1 (default 8081)', wholeNumber(1, 65535), 8081)
      .option(
        '--ui-origin <url...>',
        `the Web UI origin(s) allowed to call it from a browser; no other page may (default: the local dev Web UI, ${LOCAL_DEV_UI_ORIGINS.join(' and ')})`,
        nonEmptyText('origin'),
      );
    addExamples(command, [
      'kmsflow codec-server --port 8081 --ui-origin http://127.0.0.1:8233     # key from KMSFLOW_CODEC_KEY',
      'KMSFLOW_CODEC_KEY_FILE=/etc/kmsflow/codec.key kmsflow codec-server',
      'temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081',
    ]);
    command.action(
      runtime.action(async (ctx, opts: CodecServerOptions) => {
        const codec = payloadCodecFromEnvironment(ctx.io.env);
        if (!codec)
          throw usageError(
            'No payload codec key: set KMSFLOW_CODEC_KEY (32 bytes, base64) or KMSFLOW_CODEC_KEY_FILE, as for the workers.',
          );
        const server = await startCodecServer({
          codec,
          port: opts.port,
          allowedOrigins: opts.uiOrigin ?? LOCAL_DEV_UI_ORIGINS,
        });
        ctx.out.line(
          `Codec endpoint: ${server.url}  (temporal server start-dev --ui-codec-endpoint ${server.url})`,
        );
        ctx.out.line('Press Ctrl-C to stop.');
        await new Promise<void>((resolve) => {
          const dispose = ctx.io.onInterrupt?.(() => {
            dispose?.();
            resolve();
          });
        });
        await server.close();
        return ExitCode.success;
      }),
    );
  },
};
