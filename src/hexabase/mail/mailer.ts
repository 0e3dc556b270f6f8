import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { KuraConfig } from '../../config.js';
import { SmtpMailer } from './smtp-mailer.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Where mail the server sends goes (a port: the outbox by default, SMTP when configured). */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/**
 * Mail as files in `{dataDir}/outbox`, one RFC 5322 message each: a laptop install needs no mail
 * server, and an operator (or a test) reads the confirmation links there.
 */
export class OutboxMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly from?: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const id = `${Date.now()}-${randomUUID()}`;
    const text = [
      `Message-ID: <${id}@kura>`,
      `Date: ${new Date().toUTCString()}`,
      ...(this.from ? [`From: ${headerSafe(this.from)}`] : []),
      `To: ${headerSafe(message.to)}`,
      `Subject: ${headerSafe(message.subject)}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      message.text,
      '',
    ].join('\r\n');
    // Written whole, then renamed: a reader never sees half a message.
    const temp = path.join(this.dir, `.${id}.tmp`);
    await fs.writeFile(temp, text);
    await fs.rename(temp, path.join(this.dir, `${id}.eml`));
  }
}

/** The configured mailer: SMTP when KURA_SMTP_URL is set, the outbox in the data directory otherwise. */
export function mailerFor(config: Pick<KuraConfig, 'dataDir' | 'mail'>): Mailer {
  const { smtpUrl, from } = config.mail;
  return smtpUrl ? new SmtpMailer(smtpUrl, from) : new OutboxMailer(path.join(config.dataDir, 'outbox'), from);
}

/** A header value cannot carry a line break (header injection). */
function headerSafe(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}
