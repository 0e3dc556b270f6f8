import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { contentDisposition, type Files } from './files.js';

export interface FileRoutesOptions {
  files: Files;
  /** The bearer token's user (Accounts.authenticate): refuses an unknown or missing token. */
  authenticate: (authorization: string | undefined) => Promise<{ userId: string }>;
}

type Params = { itemId: string; fieldId: string; fileId: string };

/**
 * UploadFile, GetFile and DeleteFile, registered inside the Hexabase routes (their prefix and
 * error rendering apply). A plugin of its own because its bodies must stay streams: everywhere
 * else kura reads a body whole (up to KURA_BODY_LIMIT), an attachment may be gigabytes.
 */
export async function fileRoutes(app: FastifyInstance, { files, authenticate }: FileRoutesOptions): Promise<void> {
  // In the background, as the lookup indexes in http/routes.ts.
  files.prepare().catch((err: unknown) => app.log.error({ err }, 'building the attachment index failed'));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const config = { privilege: 'none', hexabase: true } as const;
  const params = (req: FastifyRequest) => req.params as Params;
  const json = (reply: FastifyReply, value: unknown) => {
    reply.code(200).header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify(value);
  };

  app.route({
    method: 'POST',
    url: '/items/:itemId/fields/:fieldId/attachments',
    config,
    handler: async (req, reply) => {
      const body = isStream(req.body) ? req.body : undefined;
      try {
        const { userId } = await authenticate(req.headers.authorization);
        return json(reply, await files.upload(userId, params(req).itemId, params(req).fieldId, req.headers['content-type'], body));
      } finally {
        // Refused before (or while) reading it: the rest of the body is dropped, the connection stays usable.
        if (body && !body.readableEnded) body.resume();
      }
    },
  });

  app.route({
    // HEAD of its own: Fastify's generated one would read the whole body to throw it away.
    method: ['GET', 'HEAD'],
    url: '/files/:fileId',
    config,
    // The length sent is the stored one; compressing would drop it (and the bodies are mostly compressed already).
    compress: false,
    handler: async (req, reply) => {
      const { userId } = await authenticate(req.headers.authorization);
      const file = await files.download(userId, params(req).fileId);
      reply
        .code(200)
        .header('content-type', file.contentType)
        .header('content-length', String(file.size))
        .header('content-disposition', contentDisposition(file.filename))
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-cache');
      if (req.method === 'HEAD') {
        file.body.destroy();
        return reply.send();
      }
      return reply.send(file.body);
    },
  });

  app.route({
    method: 'DELETE',
    url: '/items/:itemId/fields/:fieldId/attachments/:fileId',
    config,
    handler: async (req, reply) => {
      const { userId } = await authenticate(req.headers.authorization);
      return json(reply, await files.remove(userId, params(req).itemId, params(req).fieldId, params(req).fileId));
    },
  });
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}
