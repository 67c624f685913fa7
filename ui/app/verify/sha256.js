// SHA-256 from the browser's own WebCrypto: the auditor trusts their browser, not our code's hashing.

/** @param {Uint8Array} bytes @returns {Promise<Uint8Array>} */
export async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
}
