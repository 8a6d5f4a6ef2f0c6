// Resolves a Mustard openid4vp:// link with @openid4vc/openid4vp (the
// OpenWallet Foundation's oid4vc-ts, an independent implementation), for
// oid4vp_interop_test.go: the Request Object's signature is checked with
// WebCrypto against the key the verifier's did:web document publishes.
// Prints the resolved request's essentials, or {"error": "..."}.
import { parseOpenid4vpAuthorizationRequest, resolveOpenid4vpAuthorizationRequest } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { createHash, webcrypto } from 'node:crypto'

// The test server is on loopback http.
setGlobalConfig({ allowInsecureUrls: true })

const b64url = (s) => Buffer.from(s, 'base64url')

async function didKey(didUrl) {
  const did = didUrl.split('#')[0]
  const host = decodeURIComponent(did.slice('did:web:'.length).split(':')[0])
  const loop = host.startsWith('127.0.0.1') || host.startsWith('localhost')
  const doc = await (await fetch(`${loop ? 'http' : 'https'}://${host}/.well-known/did.json`)).json()
  const vm = doc.verificationMethod.find((m) => m.id === didUrl)
  if (!vm) throw new Error('no verification method ' + didUrl)
  return vm.publicKeyJwk
}

const callbacks = {
  fetch,
  hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'did') return { verified: false }
    const jwk = await didKey(signer.didUrl)
    const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    const [h, p, s] = compact.split('.')
    const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, b64url(s), Buffer.from(`${h}.${p}`))
    return ok ? { verified: true, signerJwk: jwk } : { verified: false }
  },
}

try {
  const parsed = parseOpenid4vpAuthorizationRequest({ authorizationRequest: process.argv[2] })
  const res = await resolveOpenid4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params, callbacks })
  const p = res.authorizationRequestPayload
  process.stdout.write(JSON.stringify({
    client_prefix: res.client.prefix, client_id: p.client_id, response_mode: p.response_mode, response_uri: p.response_uri,
    nonce: p.nonce, state: p.state, dcql_ids: res.dcql?.query?.credentials?.map((c) => c.id) ?? [], signed_by: res.jar?.signer?.didUrl,
  }))
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) }))
}
