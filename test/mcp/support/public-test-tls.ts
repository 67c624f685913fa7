/**
 * A self-signed certificate for `public.test` (and its key), for tests only: a TLS listener that
 * tells which server name a client asked for. Valid until 2126; trusted by nothing.
 */
export const publicTestTls = {
  cert: `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUZHmggCs+bqOnWjompX+xhaIG/fwwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcHVibGljLnRlc3QwIBcNMjYxMjA2MTUyNzIxWhgPMjEyNjEx
MTIxNTI3MjFaMBYxFDASBgNVBAMMC3B1YmxpYy50ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEqWdJZsy7Xtr/px5A9mYU8aiVdg/4I7cLIk/VroYnAyHqfAnq
AQCkEmqUsVf0/OCM22EDjTjL/BFJxtnMipnPMqNrMGkwHQYDVR0OBBYEFDix9U8y
9KH0TjeDeyDvTbdGAkFmMB8GA1UdIwQYMBaAFDix9U8y9KH0TjeDeyDvTbdGAkFm
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILcHVibGljLnRlc3QwCgYIKoZI
zj0EAwIDSQAwRgIhAOD+ktQ2/V/9pV3wgvjHoX+w/q/2NejBUcp5ZKfd/IBAAiEA
tUE77SWSN0+WbHp/CJd4NtbyKcwLOc/QWNJhJzpmt/g=
-----END CERTIFICATE-----
`,
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxGW50GCd91I/OKYv
A1Q4EwPGs7uSNJACJRQNadRAxaihRANCAASpZ0lmzLte2v+nHkD2ZhTxqJV2D/gj
twsiT9WuhicDIep8CeoBAKQSapSxV/T84IzbYQONOMv8EUnG2cyKmc8y
-----END PRIVATE KEY-----
`,
};
