package zk

// Domain tags: the first element of every hash. Each tag fixes the arity of
// the message that follows it (given in parentheses). They are defined once,
// here, and the circuits import them.
const (
	TagHolder    = 0x4d5301 // H(TagHolder, s): holder commitment C (1)
	TagCore      = 0x4d5302 // core credential message (1 + NumAttrs + 4)
	TagProvider  = 0x4d5303 // registry leaf: H(TagProvider, pk.x, pk.y, maxGrade, validUntil) (4)
	TagRevoked   = 0x4d5304 // revocation entry: H(TagRevoked, pk.x, revNonce) (2)
	TagRevLeaf   = 0x4d5305 // indexed-tree leaf: H(TagRevLeaf, value, nextValue) (2)
	TagPseudonym = 0x4d5306 // pseudonym: H(TagPseudonym, s, scope) (2)
	TagScope     = 0x4d5307 // scope string to field element (bytes, chunked)
	TagString    = 0x4d5308 // attribute string to field element (bytes, chunked)
	TagHolderKey = 0x4d5309 // persona key commitment: H(TagHolderKey, x_hi, x_lo, y_hi, y_lo) (4)
	TagDevice    = 0x4d530b // device key hash: H(TagDevice, x_hi, x_lo, y_hi, y_lo) (4)
	TagNonce     = 0x4d530c // verifier nonce bytes to field element (bytes, chunked)
)
