/**
 * A collection id is `<chainId>:<chainType>:<address>`, e.g. `1:evm:0x6bca…7182`. Chain ids and
 * hex addresses compare case-insensitively, so the canonical form is lower case throughout.
 */
export type CollectionIdResult = { ok: true; value: string } | { ok: false; reason: string };

const COLLECTION_ID = /^([0-9A-Za-z-]{1,32}):([A-Za-z][0-9A-Za-z-]{0,31}):([0-9A-Za-z]{1,128})$/;

export function normalizeCollectionId(raw: string): CollectionIdResult {
  const match = COLLECTION_ID.exec(raw.trim());
  if (!match) {
    return {
      ok: false,
      reason:
        "collectionId must look like <chainId>:<chainType>:<address>, e.g. 1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182",
    };
  }
  return { ok: true, value: raw.trim().toLowerCase() };
}

/** The matching key of a collection id seen in a transaction: lower case, never rejected. */
export function collectionKey(raw: string): string {
  return raw.trim().toLowerCase();
}
