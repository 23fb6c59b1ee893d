import { existsSync, readFileSync } from 'node:fs';

/** Every form of a secret a grep of a dump could find it in. */
export function secretForms(secret: string): Buffer[] {
  const raw = Buffer.from(secret);
  const forms = [
    raw,
    Buffer.from(secret.slice(secret.indexOf('_', 3) + 1)),
    Buffer.from(secret.toUpperCase()),
    Buffer.from(raw.toString('hex')),
    Buffer.from(raw.toString('hex').toUpperCase()),
    Buffer.from(secret, 'utf16le'),
    Buffer.from(encodeURIComponent(secret)),
  ];
  // base64 at the three alignments it can take inside a longer encoded value (the middle part is stable)
  for (const pad of ['', 'x', 'xx']) {
    for (const enc of ['base64', 'base64url'] as const)
      forms.push(
        Buffer.from(
          Buffer.from(pad + secret)
            .toString(enc)
            .slice(4, -4),
        ),
      );
  }
  return forms;
}

/** The names of the forms found in these files (none expected). */
export function findSecret(files: string[], secret: string): string[] {
  const found: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) continue;
    const bytes = readFileSync(f);
    secretForms(secret).forEach((form, i) => bytes.includes(form) && found.push(`${f}: form ${i}`));
  }
  return found;
}
