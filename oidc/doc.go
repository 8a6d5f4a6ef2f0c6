// Package oidc is the OpenID Connect bridge between personas and the wider
// ecosystem of relying parties. Today it holds the mapping every login
// needs: from a verified persona presentation to the claims of an ID token
// for one client (Subject, ACR, the claims the persona proves). The OpenID
// Provider itself (ory/fosite: discovery, authorization code + PKCE,
// consent, tokens) builds on it.
//
// OpenID Connect Core 1.0 §8.1: with pairwise subject identifiers, "the OP
// MUST calculate a unique sub (subject) value for each Sector Identifier".
// Mustard's sub is the persona's pseudonym H(s, sector): unique per person
// and sector by construction, unlinkable across sectors, and computed by
// the person's wallet, never by the provider, which never learns s.
package oidc
