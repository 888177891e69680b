import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM for secrets that travel inside events (API keys, signing secrets). Events are
 * immutable and exported to auditors, so a secret is sealed before it is appended, never after.
 * Sealed form: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export class SecretBoxError extends Error {
  readonly code = "SECRET_UNREADABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecretBoxError";
  }
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new SecretBoxError("the encryption key must be 32 bytes");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv, ciphertext, cipher.getAuthTag()]
        .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
        .join(".");
    },
    open(sealed) {
      const [version, iv, ciphertext, tag] = sealed.split(".");
      if (version !== "v1" || !iv || ciphertext === undefined || !tag) throw new SecretBoxError("not a sealed secret");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
        decipher.setAuthTag(Buffer.from(tag, "base64url"));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString(
          "utf8",
        );
      } catch (cause) {
        // Never include the sealed text or the key: the message may reach a log.
        throw new SecretBoxError("a sealed secret could not be opened: wrong HERALD_ENCRYPTION_KEY?", { cause });
      }
    },
  };
}
