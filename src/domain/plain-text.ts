/**
 * Text that subscribers give us travels into JSON events and PostgreSQL text columns, which refuse
 * NUL and lone UTF-16 surrogates; control characters have no business in URLs, types or actions.
 * Refusing them at decide time turns what would be a storage error into a clear input error.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
const UNSAFE = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isPlainText(text: string): boolean {
  return !UNSAFE.test(text);
}

/** Ids herald hands out are UUIDs; anything else names nothing, and must not reach a query. */
const RESOURCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isResourceId(id: string): boolean {
  return RESOURCE_ID.test(id);
}
