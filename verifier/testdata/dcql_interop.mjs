// Runs DCQL cases through dcql-ts (openwallet-foundation-labs/dcql-ts,
// npm "dcql"), an independent implementation, for dcql_interop_test.go:
// reads [{query, presentations}] on stdin, writes [{valid, satisfied}].
import { DcqlQuery, DcqlPresentationResult } from 'dcql'
let input = ''
process.stdin.on('data', (d) => { input += d })
process.stdin.on('end', () => {
  const out = JSON.parse(input).map(({ query, presentations }) => {
    let q
    try {
      q = DcqlQuery.parse(query)
      DcqlQuery.validate(q)
    } catch {
      return { valid: false, satisfied: false }
    }
    const record = {}
    for (const [id, list] of Object.entries(presentations ?? {})) {
      record[id] = list.map((claims) => ({ credential_format: 'dc+sd-jwt', vct: 'urn:mustard:vct:persona:1', claims, cryptographic_holder_binding: true }))
    }
    try {
      return { valid: true, satisfied: DcqlPresentationResult.fromDcqlPresentation(record, { dcqlQuery: q }).can_be_satisfied }
    } catch {
      return { valid: true, satisfied: false }
    }
  })
  process.stdout.write(JSON.stringify(out))
})
