import { createTransport, type Transporter } from 'nodemailer';
import type { MailMessage, Mailer } from './mailer.js';

/**
 * How long a send may wait on the server. nodemailer's defaults (2 minutes to connect, 10 minutes
 * of silence) would hold the request that sends the mail that long; `?connectionTimeout=…` and the
 * like in KURA_SMTP_URL still override these.
 */
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/**
 * Mail through an SMTP server (KURA_SMTP_URL). The URL is nodemailer's: `smtp://user:pass@host:587`
 * upgrades with STARTTLS when the server offers it, `smtps://host:465` speaks TLS from the start,
 * and query options such as `?pool=true` or `?tls.rejectUnauthorized=false` pass through.
 * nodemailer encodes the headers, so a subject or address cannot smuggle in a header of its own.
 */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(url: string, private readonly from: string) {
    this.transport = createTransport({ ...TIMEOUTS, url });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
  }

  /** Ends pooled connections (`?pool=true`); without a pool each message has its own connection. */
  close(): void {
    this.transport.close();
  }
}
