# Regenerate: python3 test/vectors/sealed-answer.py > test/vectors/sealed-answer.json (needs the `cryptography` package).
# Computes test/vectors/sealed-answer.json from the construction in docs/agent.md ("Sealed answers"),
# with Python's `cryptography` package: independent of the project's TypeScript code.
import hashlib, json
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def pub(k, compressed=True):
    fmt = serialization.PublicFormat.CompressedPoint if compressed else serialization.PublicFormat.UncompressedPoint
    return k.public_key().public_bytes(serialization.Encoding.X962, fmt)

recipient_key = '0x' + '1f' * 32
task_id = '019b0c5e-7a1d-7c3e-8f00-5e41ed000001'
cases = []
for answer, ephemeral_key, nonce in [
    ('The vault code is 4-8-15-16-23-42 \u2713\nSigned "quietly" \U0001F98A', '0x' + 'a5' * 16 + '5a' * 16, bytes(range(1, 13))),
    ('', '0x' + '3c' * 32, bytes(range(13, 25))),
]:
    r = ec.derive_private_key(int(recipient_key, 16), ec.SECP256K1())
    e = ec.derive_private_key(int(ephemeral_key, 16), ec.SECP256K1())
    R, E = pub(r), pub(e)
    shared = e.exchange(ec.ECDH(), r.public_key())  # the x-coordinate of e*R, 32 bytes
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=E + R, info=b'openmcp-sealed-answer/1').derive(shared)
    plaintext = json.dumps(answer, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    sealed = AESGCM(key).encrypt(nonce, plaintext, task_id.encode('utf-8'))
    cases.append({
        'answer': answer,
        'ephemeralPrivateKey': ephemeral_key,
        'plaintext': '0x' + plaintext.hex(),
        'answerHash': '0x' + hashlib.sha256(plaintext).hexdigest(),
        'sharedX': '0x' + shared.hex(),
        'aesKey': '0x' + key.hex(),
        'sealedAnswer': {
            'scheme': 'ecies-secp256k1-hkdf-sha256-aes-256-gcm',
            'recipient': '0x' + R.hex(),
            'ephemeralPublicKey': '0x' + E.hex(),
            'nonce': '0x' + nonce.hex(),
            'ciphertext': '0x' + sealed[:-16].hex(),
            'tag': '0x' + sealed[-16:].hex(),
        },
    })
print(json.dumps({
    'description': 'Sealed answers (TaskCompleted v2 sealedAnswer; docs/agent.md "Sealed answers"): ECIES over secp256k1, HKDF-SHA256, AES-256-GCM. '
                   'Computed with Python cryptography from the documented construction, independently of the project code. Test keys only; '
                   'each case has its own ephemeral key and nonce, as every real seal draws fresh ones.',
    'recipientPrivateKey': recipient_key,
    'recipientPublicKeyUncompressed': '0x' + pub(ec.derive_private_key(int(recipient_key, 16), ec.SECP256K1()), False).hex(),
    'taskId': task_id,
    'cases': cases,
}, ensure_ascii=False, indent=2))
