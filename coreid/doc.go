// Package coreid is the core-identity provider. It verifies a strongly
// provenanced source credential against the trust framework (today: a
// JWT-VC from an accredited source issuer), enforces one core identity per
// person through a keyed uniqueness tag (the only thing it stores about the
// person), and signs a core credential over the holder's commitment
// C = H(T_HOLDER, s) and the normalized attributes. It also keeps the
// framework's revocation tree and serves its snapshot whole, so a wallet's
// download reveals nothing about which entry it cares about.
//
// It never stores or logs a name, a birthdate or a source identifier.
package coreid
